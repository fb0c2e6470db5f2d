"""The state the five mock servers serve, derived from one population so that they agree and
disagree the way real sources do: programme lists miss some registry households (exclusion) and
list some NIKs the registry does not have (inclusion).
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from mocks.population import Household, Person, build_nik, population


@dataclass(slots=True)
class ProgrammeRow:
    record_id: str
    version: int
    nik: str
    name: str
    village_code: str
    status: str
    start: date
    end: date | None
    programme: str = ""


@dataclass
class Referral:
    referral_id: str
    payload: dict[str, object]
    created: datetime
    polls: int = 0


@dataclass
class World:
    seed: int
    households: list[Household]
    keys: list[tuple[str, str]] = field(default_factory=list)
    persons: dict[str, Person] = field(default_factory=dict)
    education: list[ProgrammeRow] = field(default_factory=list)
    health: list[ProgrammeRow] = field(default_factory=list)
    mustahik: list[ProgrammeRow] = field(default_factory=list)
    referrals: dict[str, Referral] = field(default_factory=dict)
    referral_keys: dict[str, str] = field(default_factory=dict)
    proposals: dict[str, dict[str, object]] = field(default_factory=dict)

    @classmethod
    def build(cls, seed: int, size: int) -> World:
        world = cls(seed=seed, households=list(population(seed, size)))
        world.reindex()
        world._derive_programmes()
        return world

    def reindex(self) -> None:
        self.households.sort(key=lambda h: (h.updated_at.isoformat(), h.household_id))
        self.keys = [(h.updated_at.isoformat(), h.household_id) for h in self.households]
        self.persons = {p.nik: p for h in self.households if not h.deleted for p in h.members
                        if p.nik_in_civil_registry}

    def after(self, key: tuple[str, str] | None) -> int:
        return 0 if key is None else bisect.bisect_right(self.keys, key)

    def touch(self, count: int, now: datetime | None = None) -> list[str]:
        """Change ``count`` households (new version, decile moved): what an update round at the source does."""
        rng = random.Random(self.seed * 7919 + len(self.households) + sum(h.version for h in self.households[:50]))
        now = now or datetime.now(UTC)
        touched = rng.sample(self.households, min(count, len(self.households)))
        for i, h in enumerate(touched):
            h.version += 1
            h.updated_at = now + timedelta(microseconds=i)
            h.decile = max(1, min(10, h.decile + rng.choice((-1, 1))))
        self.reindex()
        return [h.household_id for h in touched]

    def delete(self, count: int, now: datetime | None = None) -> list[str]:
        """Delete ``count`` live households at the source: each becomes a tombstone with a new version and
        timestamp, so full and incremental pulls both see it go."""
        rng = random.Random(self.seed * 104729 + sum(h.deleted for h in self.households))
        now = now or datetime.now(UTC)
        live = [h for h in self.households if not h.deleted]
        gone = rng.sample(live, min(count, len(live)))
        for i, h in enumerate(gone):
            h.deleted = True
            h.version += 1
            h.updated_at = now + timedelta(microseconds=i)
        self.reindex()
        return [h.household_id for h in gone]

    def _derive_programmes(self) -> None:
        rng = random.Random(self.seed + 1)
        start = date(2026, 1, 15)
        extra = 0
        for h in self.households:
            for p in h.members:
                age = 2026 - p.birth_date.year
                if h.decile <= 4 and 6 <= age <= 21 and rng.random() > 0.12:  # 12 % exclusion error
                    self.education.append(ProgrammeRow(
                        f"PIP-{p.member_id}", 1 + rng.randrange(2), p.nik, p.name, h.village_code,
                        rng.choice(("SK TERBIT", "CAIR", "CAIR", "DITANGGUHKAN", "DIBATALKAN")), start, None))
                if h.decile <= 4 and rng.random() > 0.08:
                    self.health.append(ProgrammeRow(
                        f"0001{p.member_id[3:]}", 1, p.nik, p.name, h.village_code,
                        rng.choice(("AKTIF", "AKTIF", "AKTIF", "NONAKTIF", "MENINGGAL")), start,
                        None if rng.random() < 0.9 else date(2026, 12, 31)))
            if h.decile <= 2 and rng.random() < 0.3:
                head = h.members[0]
                self.mustahik.append(ProgrammeRow(
                    f"MST-{h.household_id}", 1, head.nik, head.name, h.village_code,
                    rng.choice(("aktif", "aktif", "selesai", "ditangguhkan")), start, None,
                    programme=rng.choice(("BZN-ZMK", "BZN-SEHAT", "BZN-CERDAS"))))
            if rng.random() < 0.04:  # inclusion error: a recipient the registry does not know
                extra += 1
                birth = date(2010, 1 + rng.randrange(12), 1 + rng.randrange(28))
                nik = build_nik(h.village_code, birth, rng.random() < 0.5, 9000 + extra)
                target = self.education if rng.random() < 0.5 else self.health
                prefix = "PIP-X" if target is self.education else "0009"
                target.append(ProgrammeRow(f"{prefix}{extra:07d}", 1, nik, f"Warga Luar {extra}", h.village_code,
                                           "CAIR" if target is self.education else "AKTIF", start, None))


def tallies(households: list[Household], region_digits: str | None) -> list[dict[str, object]]:
    """Per district: count and SHA-256 of the sorted ``id:version`` lines (see connectors.ports.RegionTally)."""
    lines: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for h in households:
        if h.deleted:
            continue
        village = h.village_code.replace(".", "")
        if region_digits and not village.startswith(region_digits):
            continue
        lines[village[:6]].append((h.household_id, h.version))
    out = []
    for district, entries in sorted(lines.items()):
        entries.sort()
        text = "\n".join(f"{key}:{version}" for key, version in entries)
        out.append({"kode_kecamatan": district, "jumlah_rt": len(entries),
                    "hash": hashlib.sha256(text.encode()).hexdigest()})
    return out
