"""Who is calling, and which regions and programmes they may see. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    facilitator = "facilitator"
    supervisor = "supervisor"
    manager = "manager"
    province_officer = "province_officer"
    national_officer = "national_officer"
    programme_owner = "programme_owner"
    district_it_admin = "district_it_admin"
    auditor = "auditor"
    api_client = "api_client"
    ministry_system = "ministry_system"
    # The hub's own jobs (sync, seeding, sealing the audit chain). Never issued in a token.
    system = "system"


NATIONAL = "*"


def region_level(code: str) -> int:
    """1 province (``33``), 2 regency (``33.14``), 3 district (``33.14.01``), 4 village."""
    return code.count(".") + 1


@dataclass(frozen=True, slots=True)
class RegionScope:
    """The regions a principal may read: any mix of levels, or the whole nation."""

    codes: frozenset[str] = frozenset()

    @classmethod
    def national(cls) -> RegionScope:
        return cls(frozenset({NATIONAL}))

    @classmethod
    def of(cls, *codes: str) -> RegionScope:
        return cls(frozenset(codes))

    @property
    def is_national(self) -> bool:
        return NATIONAL in self.codes

    def at_level(self, level: int) -> list[str]:
        return sorted(c for c in self.codes if c != NATIONAL and region_level(c) == level)

    def contains(self, village_code: str) -> bool:
        if self.is_national:
            return True
        return any(village_code == c or village_code.startswith(c + ".") for c in self.codes)

    def as_setting(self) -> str:
        """The value stored in the ``slrt.scope`` transaction setting that row-level security reads."""
        return ",".join(sorted(self.codes))


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    scope: RegionScope
    programmes: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None
    purpose: str | None = None

    @classmethod
    def system(cls, purpose: str = "system") -> Principal:
        return cls(subject="system", role=Role.system, scope=RegionScope.national(), purpose=purpose)
