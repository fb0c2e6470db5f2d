"""Record, seal, verify and query the access log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

from asyncpg.pgproto.pgproto import UUID as _DriverUUID
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.permissions import Permission, can
from auth.principal import Principal
from hub.audit.chain import GENESIS, link
from hub.audit.repository import AccessLogRepository, LogFilter
from hub.db.repository import ScopedRepository
from hub.errors import Forbidden, Invalid
from hub.models import AccessLog, Person
from hub.paging import Page, PageRequest, to_page

OUTCOMES = ("allowed", "denied", "error")
KINDS = ("personal", "aggregate")
SEAL_BATCH = 5000
VERIFY_CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class Access:
    """What one operation did, as the request saw it."""

    principal: Principal | None
    outcome: str
    operation_name: str | None = None
    operation_type: str | None = None
    document_hash: str | None = None
    person_ids: Sequence[uuid.UUID] = ()
    household_ids: Sequence[uuid.UUID] = ()
    record_ids: Sequence[str] = ()
    fields: Sequence[str] = ()
    error_codes: Sequence[str] = ()
    source_ip: str | None = None
    kind: str = "personal"  # "aggregate": the operation read only counts (dashboard figures)


def record_uuids(ints: Iterable[int]) -> list[uuid.UUID]:
    """UUIDs from their 128-bit integers, as asyncpg's own ``uuid.UUID`` subclass (the type it returns
    for every UUID it reads): built from 16 bytes in C, and bound by the writer as they are, where a
    plain ``uuid.UUID`` costs a Python call to its ``bytes`` for each id of each entry."""
    return [_DriverUUID(n.to_bytes(16, "big")) for n in ints]


class SortedIds(list[uuid.UUID]):
    """Ids already unique and in UUID order (``sorted_record_uuids``): ``entry_row`` takes them as they
    are instead of deduplicating and sorting them again (hundreds per households page)."""


def sorted_record_uuids(ints: Iterable[int]) -> SortedIds:
    """``record_uuids`` of the distinct integers, in UUID order (the order of their integers)."""
    return SortedIds(record_uuids(sorted(set(ints))))


# UUID order (what ``uuid.UUID.__lt__`` compares) without a Python call per comparison: a read of
# 50 households with their members sorts hundreds of ids on every request.
_BY_INT = attrgetter("int")


ENTRY_COLUMNS = ("id", "actor", "client_id", "role", "scope", "purpose", "operation_name", "operation_type",
                 "document_hash", "person_ids", "household_ids", "record_ids", "fields", "outcome", "error_codes",
                 "source_ip", "kind")


def entry_row(access: Access) -> tuple[Any, ...]:
    """The entry's column values in ``ENTRY_COLUMNS`` order (the writer binds them as they are)."""
    p = access.principal
    return (
        uuid.uuid4(),
        p.subject if p else None,
        p.client_id if p else None,
        p.role.value if p else None,
        sorted(p.scope.codes) if p else [],
        p.purpose if p else None,
        access.operation_name,
        access.operation_type,
        access.document_hash,
        _unique_in_order(access.person_ids),
        _unique_in_order(access.household_ids),
        sorted(set(access.record_ids)),
        sorted(set(access.fields)),
        access.outcome,
        sorted(set(access.error_codes)),
        access.source_ip,
        access.kind,
    )


def _unique_in_order(ids: Sequence[uuid.UUID]) -> Sequence[uuid.UUID]:
    return ids if type(ids) is SortedIds else sorted(set(ids), key=_BY_INT)


def entry_values(access: Access) -> dict[str, Any]:
    return dict(zip(ENTRY_COLUMNS, entry_row(access), strict=True))


async def record(session: AsyncSession, access: Access) -> uuid.UUID:
    """Insert one pending entry. The caller commits, and sends nothing if this raises."""
    if access.outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {access.outcome!r}")
    if access.kind not in KINDS:
        raise ValueError(f"unknown kind {access.kind!r}")
    values = entry_values(access)
    await AccessLogRepository(session).insert(values)
    entry_id: uuid.UUID = values["id"]
    return entry_id


# --- sealing and verification (run as the table owner: ``slrt-hub audit seal|verify|anchor``) -----

async def seal(session: AsyncSession, batch: int = SEAL_BATCH, limit: int | None = None) -> int:
    """Chain pending entries (all, or at most ``limit``), oldest first. Returns how many were sealed.

    Holds the sealing lock until the caller's transaction ends, so sealers never interleave.
    """
    repo = AccessLogRepository(session)
    await repo.lock_for_sealing()
    head = await repo.head()
    seq, prev = head if head else (0, GENESIS)
    total = 0
    after: tuple[datetime, uuid.UUID] | None = None
    while (limit is None or total < limit) and (
            rows := await repo.pending(batch if limit is None else min(batch, limit - total), after)):
        after = (rows[-1].logged_at, rows[-1].id)
        ids, seqs, prevs, hashes = [], [], [], []
        for row in rows:
            seq += 1
            digest = link(prev, row, seq)
            ids.append(row.id)
            seqs.append(seq)
            prevs.append(prev)
            hashes.append(digest)
            prev = digest
        await repo.write_seals(ids, seqs, prevs, hashes)
        session.expunge_all()
        total += len(rows)
    return total


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    hash: str

    def dumps(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash})

    @classmethod
    def load(cls, path: Path) -> Anchor:
        data = json.loads(path.read_text())
        return cls(seq=int(data["seq"]), hash=str(data["hash"]))


@dataclass
class Verification:
    sealed: int = 0
    pending: int = 0
    head: str = GENESIS
    first_bad: int | None = None
    problem: str | None = None
    checked_hashes: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def fail(self, position: int, problem: str) -> None:
        if self.first_bad is None:
            self.first_bad, self.problem = position, problem


async def verify(session: AsyncSession, anchor: Anchor | None = None) -> Verification:
    """Walk the sealed chain from the start; name the first position that does not hold."""
    repo = AccessLogRepository(session)
    result = Verification(pending=await repo.count_pending())
    result.checked_hashes[0] = GENESIS  # an anchor taken of an empty log
    expected, prev = 1, GENESIS
    after = 0
    while result.ok and (rows := await repo.sealed_after(after, VERIFY_CHUNK)):
        for row in rows:
            assert row.seq is not None
            if row.seq != expected:
                result.fail(expected, f"entry {expected} is missing (next is {row.seq})")
            elif row.prev_hash != prev:
                result.fail(expected, "prev_hash does not match the previous entry")
            elif link(prev, row, row.seq) != row.hash:
                result.fail(expected, "entry content does not match its hash")
            if not result.ok:
                break
            if anchor is not None and row.seq == anchor.seq:
                result.checked_hashes[row.seq] = str(row.hash)
            prev, expected = str(row.hash), expected + 1
        after = expected - 1
        session.expunge_all()
    result.sealed = expected - 1
    result.head = prev
    if result.ok and anchor is not None:
        if result.sealed < anchor.seq:
            result.fail(result.sealed + 1, f"chain ends at {result.sealed} but the anchor names entry {anchor.seq}: "
                                           "the tail was truncated")
        elif result.checked_hashes.get(anchor.seq) != anchor.hash:
            result.fail(anchor.seq, "entry differs from the anchor")
    return result


async def anchor(session: AsyncSession) -> Anchor:
    head = await AccessLogRepository(session).head()
    return Anchor(seq=head[0], hash=head[1]) if head else Anchor(seq=0, hash=GENESIS)


# --- auditors' queries ---------------------------------------------------------------------------

def sort_key(row: AccessLog) -> str:
    """Where ``row`` sits in the newest-first order, as text for a cursor: ``logged_at|id``."""
    return f"{row.logged_at.isoformat()}|{row.id}"


def parse_sort_key(key: str) -> tuple[datetime, uuid.UUID]:
    when, _, id_ = key.partition("|")
    try:
        return datetime.fromisoformat(when), uuid.UUID(id_)
    except ValueError as exc:
        raise Invalid("not a valid cursor: pass an `endCursor` or edge `cursor` this API returned",
                      field="after") from exc


@dataclass(frozen=True, slots=True)
class LogQuery:
    actor: str | None = None
    client_id: str | None = None
    person_nik: str | None = None
    household_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None


class _SubjectLookup(ScopedRepository[Person]):
    """NIK -> person ids for a subject-access request: identifiers only, so ``read_audit`` suffices."""

    model = Person
    read_permission = Permission.read_audit


async def person_ids_for_nik(session: AsyncSession, principal: Principal, nik: str) -> list[uuid.UUID]:
    repo = _SubjectLookup(session, principal)
    stmt = repo.readable(select(Person.id).where(Person.nik == nik), model=Person)
    return list((await session.execute(stmt)).scalars().all())


async def log_filter(session: AsyncSession, principal: Principal | None, query: LogQuery) -> LogFilter | None:
    """The auditor's conditions as stored columns (a NIK becomes person ids); ``None`` when nothing can
    match (no readable person has that NIK), so neither the page nor its count needs a statement."""
    if not can(principal, Permission.read_audit):
        raise Forbidden("reading the access log needs the auditor role")
    assert principal is not None
    if query.outcome is not None and query.outcome not in OUTCOMES:
        raise Invalid(f"outcome is one of {', '.join(OUTCOMES)}")
    person_ids = None
    if query.person_nik is not None:
        person_ids = await person_ids_for_nik(session, principal, query.person_nik)
        if not person_ids:
            return None
    return LogFilter(actor=query.actor, client_id=query.client_id, person_ids=person_ids,
                     household_id=query.household_id, since=query.since, until=query.until,
                     outcome=query.outcome)


async def page(session: AsyncSession, where: LogFilter | None, request: PageRequest,
               after: str | None) -> Page[AccessLog]:
    """Newest first; ``after`` is the ``sort_key`` of the previous page's last entry (keyset paging:
    page 1,000 costs what page 1 costs). ``request.offset`` only says where the page starts."""
    if where is None:
        return Page(items=[], offset=request.offset, has_next=False)
    rows = await AccessLogRepository(session).page(where, request.limit + 1,
                                                   parse_sort_key(after) if after is not None else None)
    return to_page(rows, request)


async def count(session: AsyncSession, where: LogFilter | None) -> int:
    return 0 if where is None else await AccessLogRepository(session).count_matching(where)
