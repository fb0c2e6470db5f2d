"""Write a synthetic population into PostgreSQL with ``COPY``, in batches, in bounded memory.

One call writes households ``0..N-1`` of a :class:`~hub.seed.population.Population` inside the
caller's transaction (the CLI commits; tests roll back). Every row carries ``source_system =
'synthetic'`` and a deterministic ``source_record_id`` (``"<seed>:<index>..."``).

Seeding twice: a database holds at most one synthetic population. When synthetic households are
already present the writer raises :class:`AlreadySeeded` and writes nothing; with ``reset=True``
it first deletes every synthetic household (families, persons, enrolments, needs, complaints and
cases go with it through ``ON DELETE CASCADE``) and then writes. Mixing two populations would
make the duplicate-NIK flags and targeting figures meaningless, so appending is not offered.
The programme catalogue and the Baznas partner are upserted by code and never deleted.

Identifiers are validated on the way in with :func:`hub.identity.parse_nik` / ``parse_kk``:
malformed ones are kept with ``nik_valid = false`` and the reason in ``nik_flags``; after the
last batch one statement adds ``duplicate`` to every synthetic person whose NIK occurs more than
once in ``persons``, so duplicates are found across batches. Nothing is dropped or merged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth.principal import Principal
from hub.db.engine import SET_SCOPE
from hub.errors import Conflict
from hub.identity import InvalidIdentifier, parse_kk, parse_nik
from hub.regions.loader import iter_regions
from hub.seed.population import PARTNERS, PROGRAMMES, SOURCE_SYSTEM, HouseholdRecord, Population

__all__ = [
    "FLAG_DUPLICATE", "TABLES", "AlreadySeeded", "SeedResult", "count_households", "count_synthetic",
    "flag_duplicate_niks", "row_counts", "write_population",
]

FLAG_DUPLICATE: Final = "duplicate"
DEFAULT_BATCH: Final = 2000

Progress = Callable[[int, int], None]
"""Called after each batch with (households written, persons written)."""

_CODES: Final = ("province_code", "regency_code", "district_code", "village_code")
_PROVENANCE: Final = ("source_system", "source_record_id", "source_version")

# Table -> COPY columns, in foreign-key order.
TABLES: Final[dict[str, tuple[str, ...]]] = {
    "households": ("id", "registry_id", "address", "decile", "status", *_CODES, *_PROVENANCE),
    "household_deciles": ("id", "household_id", "decile", "registry_version", "registry_date", "source_system",
                          *_CODES),
    "families": ("id", "kk_number", "kk_valid", "kk_flags", "household_id", *_CODES, *_PROVENANCE),
    "persons": ("id", "nik", "nik_valid", "nik_flags", "name", "sex", "birth_date", "birth_place",
                "relationship_to_head", "has_disability", "disabilities", "life_status", "status",
                "household_id", "family_id", *_CODES, *_PROVENANCE),
    "enrolments": ("id", "programme_id", "household_id", "family_id", "person_id", "status", "period_start",
                   "period_end", *_CODES, *_PROVENANCE),
    "needs": ("id", "household_id", "person_id", "category", "description", "status", "recorded_by", *_CODES,
              "created_at", "updated_at"),
    "complaints": ("id", "household_id", "person_id", "category", "description", "status", "recorded_by",
                   *_CODES, "created_at", "updated_at"),
    "cases": ("id", "household_id", "need_id", "complaint_id", "programme_id", "partner_id", "status",
              "recommendation", "due_at", *_CODES, "created_at", "updated_at"),
    "case_events": ("id", "case_id", "actor", "role", "from_status", "to_status", "reason", "at", *_CODES),
}


class AlreadySeeded(Conflict):
    def __init__(self, households: int) -> None:
        super().__init__(
            f"the database already holds a synthetic population ({households:,} households); "
            "run again with --reset to replace it",
            households=households,
        )
        self.households = households


@dataclass(slots=True)
class SeedResult:
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    invalid_niks: int = 0
    duplicate_niks: int = 0  # persons flagged "duplicate" at the end
    deleted_households: int = 0  # removed by reset
    seconds: float = 0.0

    @property
    def households(self) -> int:
        return self.rows["households"]

    @property
    def persons(self) -> int:
        return self.rows["persons"]


@lru_cache(maxsize=1)
def _district_codes() -> frozenset[str]:
    return frozenset(code for code, _name, level, _parent in iter_regions() if level == 3)


def _identifier_fields(raw: str, *, kk: bool, today: date) -> tuple[bool, list[str]]:
    try:
        parsed = (parse_kk if kk else parse_nik)(raw, known_regions=_district_codes(), today=today)
    except InvalidIdentifier as exc:
        return False, [exc.reason]
    return not parsed.flags, sorted(parsed.flags)


async def count_synthetic(conn: AsyncConnection) -> int:
    await _national_scope(conn)
    result = await conn.execute(
        text("SELECT count(*) FROM households WHERE source_system = :s"), {"s": SOURCE_SYSTEM}
    )
    return int(result.scalar_one())


async def count_households(conn: AsyncConnection) -> int:
    """Households of any source (the demo seeds only an empty database)."""
    await _national_scope(conn)
    return int((await conn.execute(text("SELECT count(*) FROM households"))).scalar_one())


async def _national_scope(conn: AsyncConnection) -> None:
    # RLS is FORCEd on every scoped table, for the owner too: without a scope nothing is visible.
    await conn.execute(SET_SCOPE, {"scope": Principal.system("seed").scope.as_setting()})


async def _ids_by_code(conn: AsyncConnection, table: str, codes: list[str]) -> dict[str, uuid.UUID]:
    rows = await conn.execute(text(f"SELECT code, id FROM {table} WHERE code = ANY(:codes)"),  # noqa: S608
                              {"codes": codes})
    return {str(code): uuid.UUID(str(pid)) for code, pid in rows.all()}


async def _upsert_catalogue(conn: AsyncConnection) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]]:
    # Rows another source created are left as they are; synthetic rows are refreshed.
    for partner in PARTNERS:
        await conn.execute(
            text(
                "INSERT INTO partners (id, code, name, kind, region_code, source_system, source_record_id) "
                "VALUES (:id, :code, :name, :kind, :region, :s, :code) "
                "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, "
                "region_code = EXCLUDED.region_code, updated_at = now() "
                "WHERE partners.source_system = EXCLUDED.source_system"
            ),
            {"id": uuid.uuid4(), "code": partner.code, "name": partner.name, "kind": partner.kind,
             "region": partner.region_code, "s": SOURCE_SYSTEM},
        )
    partners = await _ids_by_code(conn, "partners", [p.code for p in PARTNERS])
    for spec in PROGRAMMES:
        await conn.execute(
            text(
                "INSERT INTO programmes (id, code, name, owner_agency, level, target_unit, eligibility, "
                "decile_min, decile_max, partner_id, source_system, source_record_id) "
                "VALUES (:id, :code, :name, :owner, :level, :unit, :eligibility, :dmin, :dmax, :partner, :s, :code) "
                "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, owner_agency = EXCLUDED.owner_agency, "
                "level = EXCLUDED.level, target_unit = EXCLUDED.target_unit, eligibility = EXCLUDED.eligibility, "
                "decile_min = EXCLUDED.decile_min, decile_max = EXCLUDED.decile_max, "
                "partner_id = EXCLUDED.partner_id, updated_at = now() "
                "WHERE programmes.source_system = EXCLUDED.source_system"
            ),
            {"id": uuid.uuid4(), "code": spec.code, "name": spec.name, "owner": spec.owner_agency,
             "level": spec.level, "unit": spec.target_unit, "eligibility": spec.eligibility,
             "dmin": spec.decile_min, "dmax": spec.decile_max,
             "partner": partners.get(spec.partner_code) if spec.partner_code else None, "s": SOURCE_SYSTEM},
        )
    programmes = await _ids_by_code(conn, "programmes", [p.code for p in PROGRAMMES])
    return programmes, partners


class _Batch:
    """Rows of one batch, per table, ready for COPY."""

    def __init__(self, programmes: dict[str, uuid.UUID], partners: dict[str, uuid.UUID]) -> None:
        self.programmes = programmes
        self.partners = partners
        self.rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
        self.invalid_niks = 0
        self.today = date.today()

    def add(self, h: HouseholdRecord) -> None:
        v = h.village_code
        codes = (v[:2], v[:5], v[:8], v)
        hid = h.id
        rows = self.rows
        version = h.source_version
        rows["households"].append(
            (hid, h.registry_id, h.address, h.decile, "active", *codes, SOURCE_SYSTEM, h.source_record_id, version)
        )
        deciles = rows["household_deciles"]
        for d in h.deciles:
            deciles.append((d.id, hid, d.decile, d.registry_version, d.registry_date, SOURCE_SYSTEM, *codes))
        families = rows["families"]
        for f in h.families:
            valid, flags = _identifier_fields(f.kk_number, kk=True, today=self.today)
            families.append((f.id, f.kk_number, valid, flags, hid, *codes, SOURCE_SYSTEM, f.source_record_id, version))
        persons = rows["persons"]
        for p in h.persons:
            valid, flags = _identifier_fields(p.nik, kk=False, today=self.today)
            if not valid:
                self.invalid_niks += 1
            persons.append((
                p.id, p.nik, valid, flags, p.name, p.sex, p.birth_date, p.birth_place, p.relationship,
                bool(p.disabilities), list(p.disabilities), p.life_status, "active", hid, p.family_id,
                *codes, SOURCE_SYSTEM, p.source_record_id, version,
            ))
        enrolments = rows["enrolments"]
        programmes = self.programmes
        for e in h.enrolments:
            enrolments.append((
                e.id, programmes[e.programme_code], hid, None, e.person_id, e.status, e.period_start, e.period_end,
                *codes, SOURCE_SYSTEM, e.source_record_id, version,
            ))
        for table, records in (("needs", h.needs), ("complaints", h.complaints)):
            out = rows[table]
            for n in records:
                out.append((n.id, hid, n.person_id, n.category, n.description, n.status, n.recorded_by, *codes,
                            n.recorded_at, n.recorded_at))
        cases = rows["cases"]
        events = rows["case_events"]
        for c in h.cases:
            last = c.events[-1].at
            cases.append((
                c.id, hid, c.need_id, c.complaint_id,
                programmes[c.programme_code] if c.programme_code else None,
                self.partners[c.partner_code] if c.partner_code else None,
                c.status, c.recommendation, c.due_at, *codes, c.opened_at, last,
            ))
            for ev in c.events:
                events.append((ev.id, c.id, ev.actor, ev.role, ev.from_status, ev.to_status, ev.reason, ev.at,
                               *codes))


async def _bypasses_rls(conn: AsyncConnection) -> bool:
    result = await conn.execute(
        text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
    )
    return bool(result.scalar_one())


async def write_population(
    conn: AsyncConnection,
    population: Population,
    households: int,
    *,
    reset: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    staging: bool | None = None,
) -> SeedResult:
    """Write households ``0..households-1`` of ``population`` in the caller's transaction.

    ``staging``: PostgreSQL refuses ``COPY FROM`` into a table under row-level security unless the
    role bypasses it (superuser or BYPASSRLS). Such a role copies straight into the tables; any
    other owner copies into temporary tables and moves the rows with ``INSERT ... SELECT``, which
    the policies check. ``None`` picks by the connected role.
    """
    if households < 0:
        raise ValueError("households must be >= 0")
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    started = time.perf_counter()
    result = SeedResult()

    existing = await count_synthetic(conn)
    if existing:
        if not reset:
            raise AlreadySeeded(existing)
        await conn.execute(text("DELETE FROM households WHERE source_system = :s"), {"s": SOURCE_SYSTEM})
        result.deleted_households = existing

    programmes, partners = await _upsert_catalogue(conn)
    if staging is None:
        staging = not await _bypasses_rls(conn)

    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if driver is None or not driver.is_in_transaction():
        raise RuntimeError("write_population needs an asyncpg connection inside a transaction")

    if staging:
        for table in TABLES:
            await driver.execute(
                f"CREATE TEMP TABLE _seed_{table} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
            )

    async def flush(batch: _Batch) -> None:
        for table, columns in TABLES.items():
            records = batch.rows[table]
            if not records:
                continue
            if staging:
                cols = ", ".join(columns)
                await driver.copy_records_to_table(f"_seed_{table}", records=records, columns=columns)
                await driver.execute(
                    f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _seed_{table}; "  # noqa: S608 - constants
                    f"TRUNCATE _seed_{table}"
                )
            else:
                await driver.copy_records_to_table(table, records=records, columns=columns)
            result.rows[table] += len(records)
        result.invalid_niks += batch.invalid_niks

    def build(start: int) -> _Batch:
        batch = _Batch(programmes, partners)
        for record in population.households(start, min(households, start + batch_size)):
            batch.add(record)
        return batch

    # Generating is CPU work in Python, COPY is mostly waiting for the server: build batch k+1 in a
    # worker thread while batch k is copied. At most two batches exist at a time. Batches are
    # built one after another, never concurrently (the population's generator is not re-entrant).
    starts = range(0, households, batch_size)
    pending = asyncio.ensure_future(asyncio.to_thread(build, starts[0])) if starts else None
    try:
        for n in range(len(starts)):
            assert pending is not None
            batch = await pending
            pending = asyncio.ensure_future(asyncio.to_thread(build, starts[n + 1])) if n + 1 < len(starts) else None
            await flush(batch)
            del batch
            if progress is not None:
                progress(result.households, result.persons)
    finally:
        if pending is not None:
            # An error while copying: let the builder finish before the caller rolls back.
            with contextlib.suppress(Exception):
                await pending

    if staging:
        for table in TABLES:
            await driver.execute(f"DROP TABLE _seed_{table}")

    result.duplicate_niks = await flag_duplicate_niks(conn)
    result.seconds = time.perf_counter() - started
    return result


async def flag_duplicate_niks(conn: AsyncConnection, *, source_system: str = SOURCE_SYSTEM) -> int:
    """Add ``duplicate`` to the flags of every person of ``source_system`` whose NIK occurs more than
    once in ``persons`` (any source); return how many persons carry the flag afterwards."""
    await _national_scope(conn)
    await conn.execute(
        text(
            "UPDATE persons p SET nik_flags = array_append(p.nik_flags, :flag) "
            "FROM (SELECT nik FROM persons GROUP BY nik HAVING count(*) > 1) d "
            "WHERE p.nik = d.nik AND p.source_system = :s AND NOT (:flag = ANY(p.nik_flags))"
        ),
        {"flag": FLAG_DUPLICATE, "s": source_system},
    )
    flagged = await conn.execute(
        text("SELECT count(*) FROM persons WHERE source_system = :s AND :flag = ANY(nik_flags)"),
        {"flag": FLAG_DUPLICATE, "s": source_system},
    )
    return int(flagged.scalar_one())


def row_counts(records: Iterable[HouseholdRecord]) -> dict[str, int]:
    """What :func:`write_population` writes per table for these records (tests compare the two)."""
    counts = dict.fromkeys(TABLES, 0)
    for h in records:
        counts["households"] += 1
        counts["household_deciles"] += len(h.deciles)
        counts["families"] += len(h.families)
        counts["persons"] += len(h.persons)
        counts["enrolments"] += len(h.enrolments)
        counts["needs"] += len(h.needs)
        counts["complaints"] += len(h.complaints)
        counts["cases"] += len(h.cases)
        counts["case_events"] += sum(len(c.events) for c in h.cases)
    return counts
