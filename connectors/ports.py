"""Typed ports: what the hub asks of an external system, and the records that cross the boundary.

Records are plain frozen dataclasses in the hub's vocabulary (``decile``, ``village_code``, ISO
dates, normalised status values). Each client translates its system's own field names, date
formats and status words into these, so nothing downstream knows a wire format.

A record the client cannot translate is not an error for the whole page: it is returned as an
``InvalidRecord`` with the reason and the raw payload, so the hub can quarantine it and go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """A record that failed translation. ``key`` is its natural key when that much could be read."""

    key: str | None
    version: str | None
    reason: str
    raw: Mapping[str, Any]
    village_code: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a paged pull.

    ``number`` is the page number the *source* says this is (1-based); the caller compares it with
    the page it asked for to detect duplicated and out-of-order pages. ``next_cursor`` is ``None``
    on the last page.
    """

    number: int
    records: Sequence[T]
    invalid: Sequence[InvalidRecord]
    next_cursor: str | None
    total: int | None = None
    removed: Sequence[Removal] = ()


@dataclass(frozen=True, slots=True)
class Removal:
    """A record the source deleted (a tombstone in its pull): the hub archives its copy, never drops it."""

    key: str
    version: str
    updated_at: datetime
    village_code: str | None = None


@dataclass(frozen=True, slots=True)
class RegionTally:
    """Reconciliation figures for one region: how many records, and a digest of their keys and versions.

    ``digest`` is the hex SHA-256 of the lines ``"<key>:<version>"`` sorted by key and joined by
    ``"\\n"``; both sides compute it the same way, so equal digests mean the same records in the
    same versions.
    """

    region_code: str
    count: int
    digest: str


class Sex(StrEnum):
    male = "M"
    female = "F"


class Relationship(StrEnum):
    head = "head"
    spouse = "spouse"
    child = "child"
    parent = "parent"
    grandchild = "grandchild"
    other_relative = "other_relative"
    other = "other"


@dataclass(frozen=True, slots=True)
class RegistryMember:
    member_id: str
    nik: str
    name: str
    sex: Sex | None
    birth_date: date | None
    birth_place: str | None
    relationship: Relationship
    kk_number: str | None
    has_disability: bool


@dataclass(frozen=True, slots=True)
class RegistryHousehold:
    household_id: str
    version: str
    updated_at: datetime
    village_code: str
    address: str
    decile: int | None
    members: Sequence[RegistryMember]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@runtime_checkable
class RegistrySource(Protocol):
    """The social registry (SIKS-NG): households with members and deciles, paged."""

    system: str

    async def households(
        self,
        *,
        cursor: str | None = None,
        region: str | None = None,
        updated_since: datetime | None = None,
        page_size: int = 100,
    ) -> Page[RegistryHousehold]: ...

    async def tallies(self, *, region: str | None = None) -> Sequence[RegionTally]:
        """Per-district counts and digests of every household the source holds under ``region``."""
        ...

    async def ping(self) -> None: ...


class SubmissionKind(StrEnum):
    proposal = "proposal"  # a change to a registry household (usulan perbaikan)
    prelist = "prelist"  # a new household proposed for verification and validation (verivali)


@dataclass(frozen=True, slots=True)
class Submission:
    """A push to the registry. ``key`` is the hub's idempotency key: resending returns the first receipt."""

    kind: SubmissionKind
    key: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SubmissionReceipt:
    key: str
    ticket: str
    status: str


@runtime_checkable
class RegistrySink(Protocol):
    """Pushes to the registry (SIKS-NG): update proposals and the prelist of new households."""

    system: str

    async def submit(self, submission: Submission) -> SubmissionReceipt: ...

    async def submission_status(self, key: str) -> SubmissionReceipt: ...


@dataclass(frozen=True, slots=True)
class NikCheck:
    nik: str
    name: str
    birth_date: date
    birth_place: str
    purpose: str


@dataclass(frozen=True, slots=True)
class FieldMatch:
    matched: bool
    similarity: float | None = None


@dataclass(frozen=True, slots=True)
class NikEvidence:
    """What a NIK check returns: per-field match flags, never the civil-registry data itself."""

    reference: str
    checked_at: datetime
    nik_found: bool
    fields: Mapping[str, FieldMatch]


@runtime_checkable
class NikVerifier(Protocol):
    """The civil registry (Dukcapil): does this NIK belong to this name, birth date and place."""

    system: str

    async def verify(self, check: NikCheck) -> NikEvidence: ...

    async def ping(self) -> None: ...


class EnrolmentStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    ended = "ended"


@dataclass(frozen=True, slots=True)
class EnrolmentRecord:
    record_id: str
    version: str
    programme_code: str
    nik: str
    name: str
    village_code: str
    status: EnrolmentStatus
    period_start: date | None
    period_end: date | None


@runtime_checkable
class EnrolmentSource(Protocol):
    """A programme's recipient or member list (PIP/KIP, PBI-JK, Baznas mustahik), paged by region and period."""

    system: str

    async def enrolments(
        self,
        *,
        cursor: str | None = None,
        region: str | None = None,
        period: str | None = None,
        page_size: int = 100,
    ) -> Page[EnrolmentRecord]: ...

    async def ping(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PartnerProgramme:
    code: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Referral:
    """A household referred by the hub to a partner programme. ``idempotency_key`` makes resending safe."""

    idempotency_key: str
    programme_code: str
    nik: str
    name: str
    village_code: str
    reason: str


class ReferralState(StrEnum):
    received = "received"
    in_review = "in_review"
    approved = "approved"
    rejected = "rejected"


@dataclass(frozen=True, slots=True)
class ReferralStatus:
    referral_id: str
    state: ReferralState
    updated_at: datetime
    note: str | None = None


@runtime_checkable
class PartnerReferralSink(Protocol):
    """A non-government partner (Baznas): its programmes, and referrals sent to it."""

    system: str

    async def programmes(self) -> Sequence[PartnerProgramme]: ...

    async def refer(self, referral: Referral) -> ReferralStatus: ...

    async def referral_status(self, referral_id: str) -> ReferralStatus: ...

    async def ping(self) -> None: ...
