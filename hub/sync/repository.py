"""All SQL of the sync engine. Bulk statements over ``unnest`` arrays: one round trip per table per page."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.permissions import Permission
from hub.db.repository import ScopedRepository
from hub.models import (
    Connector,
    OutboxMessage,
    OutboxStatus,
    QuarantinedRecord,
    RunStatus,
    SyncCheckpoint,
    SyncRun,
)

LOCK_NAMESPACE = 0x534C5254  # "SLRT": the first key of every sync advisory lock
ENQUEUE_NAMESPACE = 0x534C5251  # "SLRQ": serialises the queueing of one connector's runs


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    key: str
    version: str
    village_code: str
    address: str
    decile: int | None
    registry_date: date


@dataclass(frozen=True, slots=True)
class PersonRow:
    key: str
    household_key: str
    nik: str
    nik_valid: bool
    nik_flags: list[str]
    name: str
    sex: str | None
    birth_date: date | None
    birth_place: str | None
    relationship: str
    has_disability: bool
    kk_number: str | None = None


@dataclass(frozen=True, slots=True)
class EnrolmentRow:
    key: str
    version: str
    nik: str
    status: str
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    kind: str
    key: str | None
    version: str | None
    reason: str
    raw: dict[str, Any]
    province_code: str
    regency_code: str
    district_code: str
    village_code: str


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int


UPSERT_HOUSEHOLDS = text("""
INSERT INTO households AS h (id, source_system, source_record_id, source_version, synced_at, registry_id,
                             province_code, regency_code, district_code, village_code, address, decile, status)
SELECT gen_random_uuid(), :system, t.key, t.version, now(), t.key,
       left(t.village, 2), left(t.village, 5), left(t.village, 8), t.village, t.address, t.decile, 'active'
FROM unnest(CAST(:keys AS text[]), CAST(:versions AS text[]), CAST(:villages AS text[]),
            CAST(:addresses AS text[]), CAST(:deciles AS smallint[])) AS t(key, version, village, address, decile)
ON CONFLICT (source_system, source_record_id) DO UPDATE SET
    source_version = excluded.source_version, synced_at = excluded.synced_at,
    province_code = excluded.province_code, regency_code = excluded.regency_code,
    district_code = excluded.district_code, village_code = excluded.village_code,
    address = excluded.address, decile = excluded.decile, status = 'active', removed_at_source = NULL,
    updated_at = now()
WHERE h.source_version IS DISTINCT FROM excluded.source_version
RETURNING h.id, h.source_record_id, (xmax = 0) AS inserted
""")

INSERT_DECILES = text("""
INSERT INTO household_deciles (id, household_id, decile, registry_version, registry_date, source_system,
                               province_code, regency_code, district_code, village_code)
SELECT gen_random_uuid(), h.id, h.decile, h.source_version, t.registry_date, :system,
       h.province_code, h.regency_code, h.district_code, h.village_code
FROM unnest(CAST(:ids AS uuid[]), CAST(:dates AS date[])) AS t(id, registry_date)
JOIN households h ON h.id = t.id
WHERE h.decile IS NOT NULL
""")

UPSERT_PERSONS = text("""
INSERT INTO persons AS p (id, source_system, source_record_id, source_version, synced_at, household_id,
                          province_code, regency_code, district_code, village_code,
                          nik, nik_valid, nik_flags, name, sex, birth_date, birth_place,
                          relationship_to_head, has_disability, life_status, status, family_id)
SELECT gen_random_uuid(), :system, t.key, h.source_version, now(), h.id,
       h.province_code, h.regency_code, h.district_code, h.village_code,
       t.nik, t.nik_valid, coalesce(string_to_array(nullif(t.flags, ''), ','), '{}'), t.name, t.sex,
       t.birth_date, t.birth_place,
       t.relationship, t.disability, 'alive', 'active', t.family_id
FROM unnest(CAST(:keys AS text[]), CAST(:household_ids AS uuid[]), CAST(:niks AS text[]),
            CAST(:nik_valid AS boolean[]), CAST(:flags AS text[]), CAST(:names AS text[]), CAST(:sexes AS text[]),
            CAST(:births AS date[]), CAST(:places AS text[]), CAST(:relationships AS text[]),
            CAST(:disabilities AS boolean[]), CAST(:family_ids AS uuid[]))
     AS t(key, household_id, nik, nik_valid, flags, name, sex, birth_date, birth_place, relationship, disability,
          family_id)
JOIN households h ON h.id = t.household_id
ON CONFLICT (source_system, source_record_id) DO UPDATE SET
    source_version = excluded.source_version, synced_at = excluded.synced_at, household_id = excluded.household_id,
    province_code = excluded.province_code, regency_code = excluded.regency_code,
    district_code = excluded.district_code, village_code = excluded.village_code,
    nik = excluded.nik, nik_valid = excluded.nik_valid, nik_flags = excluded.nik_flags,
    name = CASE WHEN p.id = ANY(CAST(:verified AS uuid[])) THEN p.name ELSE excluded.name END,
    birth_date = CASE WHEN p.id = ANY(CAST(:verified AS uuid[])) THEN p.birth_date ELSE excluded.birth_date END,
    sex = excluded.sex, birth_place = excluded.birth_place, relationship_to_head = excluded.relationship_to_head,
    has_disability = excluded.has_disability, family_id = excluded.family_id, status = 'active',
    removed_at_source = NULL, updated_at = now()
""")

UPSERT_FAMILIES = text("""
INSERT INTO families AS f (id, source_system, source_record_id, source_version, synced_at, household_id,
                           province_code, regency_code, district_code, village_code, kk_number, kk_valid, kk_flags)
SELECT gen_random_uuid(), :system, t.key, h.source_version, now(), h.id,
       h.province_code, h.regency_code, h.district_code, h.village_code, t.kk, t.valid,
       coalesce(string_to_array(nullif(t.flags, ''), ','), '{}')
FROM unnest(CAST(:keys AS text[]), CAST(:household_ids AS uuid[]), CAST(:kks AS text[]),
            CAST(:valid AS boolean[]), CAST(:flags AS text[])) AS t(key, household_id, kk, valid, flags)
JOIN households h ON h.id = t.household_id
ON CONFLICT (source_system, source_record_id) DO UPDATE SET
    source_version = excluded.source_version, synced_at = excluded.synced_at, kk_valid = excluded.kk_valid,
    kk_flags = excluded.kk_flags, province_code = excluded.province_code, regency_code = excluded.regency_code,
    district_code = excluded.district_code, village_code = excluded.village_code, updated_at = now()
RETURNING f.id, f.source_record_id
""")

# Members a changed household no longer lists: archived, never deleted.
ARCHIVE_DEPARTED = text("""
UPDATE persons SET status = 'archived', updated_at = now()
WHERE household_id = ANY(CAST(:household_ids AS uuid[])) AND source_system = :system
  AND status <> 'archived' AND source_record_id NOT IN (SELECT unnest(CAST(:keys AS text[])))
""")

# Identities Dukcapil confirmed (NIK, name and birth date all matched): SIKS-NG may not overwrite them.
VERIFIED_CONFLICTS = text("""
SELECT p.id, p.source_record_id, p.name, p.birth_date, p.province_code, p.regency_code, p.district_code,
       p.village_code
FROM persons p
WHERE p.source_system = :system AND p.source_record_id = ANY(CAST(:keys AS text[]))
  AND EXISTS (SELECT 1 FROM nik_checks c WHERE c.person_id = p.id AND c.nik_found AND c.name_match
              AND c.birth_date_match)
""")

UPSERT_ENROLMENTS = text("""
INSERT INTO enrolments AS e (id, source_system, source_record_id, source_version, synced_at, programme_id,
                             household_id, person_id, province_code, regency_code, district_code, village_code,
                             status, period_start, period_end)
SELECT gen_random_uuid(), :system, t.key, t.version, now(), :programme_id, p.household_id, p.id,
       p.province_code, p.regency_code, p.district_code, p.village_code, t.status, t.period_start, t.period_end
FROM unnest(CAST(:keys AS text[]), CAST(:versions AS text[]), CAST(:person_ids AS uuid[]),
            CAST(:statuses AS text[]), CAST(:starts AS date[]), CAST(:ends AS date[]))
     AS t(key, version, person_id, status, period_start, period_end)
JOIN persons p ON p.id = t.person_id
ON CONFLICT (programme_id, source_system, source_record_id) DO UPDATE SET
    source_version = excluded.source_version, synced_at = excluded.synced_at, person_id = excluded.person_id,
    household_id = excluded.household_id, province_code = excluded.province_code,
    regency_code = excluded.regency_code, district_code = excluded.district_code,
    village_code = excluded.village_code, status = excluded.status, period_start = excluded.period_start,
    period_end = excluded.period_end, updated_at = now()
WHERE e.source_version IS DISTINCT FROM excluded.source_version
RETURNING e.id, (xmax = 0) AS inserted
""")

# Households the source deleted: archived and stamped, with their members; never deleted here. Only rows not
# yet stamped change (and are counted), so a tombstone seen again, in a re-fetched page or a later run,
# counts once. A later version of the same key (the source restored it) is upserted back to active.
REMOVE_HOUSEHOLDS = text("""
WITH gone AS (
    UPDATE households h SET status = 'archived', removed_at_source = now(), source_version = t.version,
                            synced_at = now(), updated_at = now()
    FROM unnest(CAST(:keys AS text[]), CAST(:versions AS text[])) AS t(key, version)
    WHERE h.source_system = :system AND h.source_record_id = t.key AND h.removed_at_source IS NULL
    RETURNING h.id
), members AS (
    UPDATE persons p SET status = 'archived', removed_at_source = now(), updated_at = now()
    FROM gone WHERE p.household_id = gone.id AND p.removed_at_source IS NULL
    RETURNING p.id
)
SELECT (SELECT count(*) FROM gone) AS households, (SELECT count(*) FROM members) AS persons
""")

MATCH_NIKS = text("""
SELECT DISTINCT ON (nik) nik, id FROM persons
WHERE nik = ANY(CAST(:niks AS text[])) AND status = 'active'
ORDER BY nik, (source_system = 'siks-ng') DESC, updated_at DESC
""")

INSERT_QUARANTINE = text("""
INSERT INTO quarantine (id, connector_id, run_id, kind, natural_key, source_version, reason, raw,
                        province_code, regency_code, district_code, village_code)
SELECT gen_random_uuid(), :connector_id, :run_id, t.kind, t.key, t.version, t.reason, t.raw,
       t.province, t.regency, t.district, t.village
FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[]), CAST(:versions AS text[]), CAST(:reasons AS text[]),
            CAST(:raws AS jsonb[]), CAST(:provinces AS text[]), CAST(:regencies AS text[]),
            CAST(:districts AS text[]), CAST(:villages AS text[]))
     AS t(kind, key, version, reason, raw, province, regency, district, village)
ON CONFLICT (connector_id, natural_key, source_version) DO UPDATE SET resolved_at = NULL, reason = excluded.reason
""")

RESOLVE_QUARANTINE = text("""
UPDATE quarantine SET resolved_at = now()
WHERE connector_id = :connector_id AND resolved_at IS NULL AND natural_key = ANY(CAST(:keys AS text[]))
""")

# Reconciliation figures computed exactly as connectors.ports.RegionTally describes, per district:
# stored households plus the open quarantine of this connector (records the source has and we could not take).
HUB_TALLIES = text("""
SELECT district_code, count(*) AS n,
       encode(sha256(convert_to(string_agg(k || ':' || v, E'\\n' ORDER BY k COLLATE "C"), 'UTF8')), 'hex') AS digest
FROM (
    SELECT district_code, source_record_id AS k, source_version AS v FROM households
    WHERE source_system = :system AND status = 'active' AND district_code = ANY(CAST(:districts AS text[]))
      -- a stored version superseded by an invalid newer one counts once, as the quarantined version
      AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.connector_id = :connector_id AND q.resolved_at IS NULL
                      AND q.kind = 'invalid' AND q.natural_key = households.source_record_id)
    UNION ALL
    SELECT district_code, natural_key, source_version FROM quarantine
    WHERE connector_id = :connector_id AND resolved_at IS NULL AND kind = 'invalid'
      AND district_code = ANY(CAST(:districts AS text[]))
) AS rows
GROUP BY district_code
""")


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_lock(self, connector_id: uuid.UUID) -> bool:
        """Transaction-level advisory lock on the connector: released when this transaction ends, or the
        connection dies with its process, so a crashed worker never leaves a connector locked."""
        got = await self.session.scalar(text("SELECT pg_try_advisory_xact_lock(:ns, hashtext(:key))"),
                                        {"ns": LOCK_NAMESPACE, "key": str(connector_id)})
        return bool(got)

    async def lock_enqueue(self, connector_id: uuid.UUID) -> None:
        """Wait for other requests queueing this connector (until this transaction ends)."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
                                   {"ns": ENQUEUE_NAMESPACE, "key": str(connector_id)})

    async def is_running(self, connector_id: uuid.UUID) -> bool:
        """Whether some session holds the connector's run lock, read from ``pg_locks`` without taking it."""
        held = await self.session.scalar(text("""
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
                           AND classid = CAST(:ns AS oid) AND objid = CAST(hashtext(:key) AS oid))"""),
                                         {"ns": LOCK_NAMESPACE, "key": str(connector_id)})
        return bool(held)

    async def queued_run(self, connector_id: uuid.UUID) -> uuid.UUID | None:
        return await self.session.scalar(
            select(SyncRun.id).where(SyncRun.connector_id == connector_id, SyncRun.status == RunStatus.queued)
            .order_by(SyncRun.started_at).limit(1))

    async def running_run(self, connector_id: uuid.UUID) -> uuid.UUID | None:
        return await self.session.scalar(
            select(SyncRun.id).where(SyncRun.connector_id == connector_id, SyncRun.status == RunStatus.running)
            .order_by(SyncRun.started_at.desc()).limit(1))

    async def take_queued(self, run_id: uuid.UUID, *, full: bool, resumed: bool) -> bool:
        """Turn a ``queued`` run into the running one. False when it is not queued (any more)."""
        result = await self.session.execute(
            update(SyncRun).where(SyncRun.id == run_id, SyncRun.status == RunStatus.queued)
            .values(status=RunStatus.running, full=full, resumed=resumed, started_at=text("now()")))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def connector(self, connector_id: uuid.UUID) -> Connector | None:
        return await self.session.get(Connector, connector_id)

    async def connector_by_name(self, name: str) -> Connector | None:
        return (await self.session.execute(select(Connector).where(Connector.name == name))).scalar_one_or_none()

    async def mark_crashed(self, connector_id: uuid.UUID) -> int:
        result = await self.session.execute(
            update(SyncRun).where(SyncRun.connector_id == connector_id, SyncRun.status == RunStatus.running)
            .values(status=RunStatus.crashed, finished_at=text("now()"),
                    error="the worker stopped before finishing (found by the next run)"))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def checkpoint(self, connector_id: uuid.UUID) -> SyncCheckpoint | None:
        return await self.session.get(SyncCheckpoint, connector_id, with_for_update=False, populate_existing=True)

    async def upsert_households(self, system: str, rows: Sequence[HouseholdRow]) -> list[tuple[uuid.UUID, str, bool]]:
        if not rows:
            return []
        result = await self.session.execute(UPSERT_HOUSEHOLDS, {
            "system": system, "keys": [r.key for r in rows], "versions": [r.version for r in rows],
            "villages": [r.village_code for r in rows], "addresses": [r.address for r in rows],
            "deciles": [r.decile for r in rows]})
        changed = [(row.id, row.source_record_id, row.inserted) for row in result]
        if changed:
            dates = {r.key: r.registry_date for r in rows}
            await self.session.execute(INSERT_DECILES, {
                "system": system, "ids": [c[0] for c in changed], "dates": [dates[c[1]] for c in changed]})
        return changed

    async def remove_households(self, system: str, removals: Sequence[tuple[str, str]]) -> int:
        """Archive the households (and their members) of ``(key, version)`` tombstones. Returns how many
        households were newly marked removed at the source."""
        if not removals:
            return 0
        row = (await self.session.execute(REMOVE_HOUSEHOLDS, {
            "system": system, "keys": [k for k, _ in removals], "versions": [v for _, v in removals]})).one()
        return int(row.households)

    async def verified_persons(self, system: str, keys: Sequence[str]) -> list[Any]:
        if not keys:
            return []
        return list(await self.session.execute(VERIFIED_CONFLICTS, {"system": system, "keys": list(keys)}))

    async def upsert_families(self, system: str, families: Sequence[tuple[str, str, bool, list[str]]],
                              household_ids: dict[str, uuid.UUID]) -> dict[str, uuid.UUID]:
        """``(household key, kk number, valid, flags)`` -> family id by ``"<household key>/<kk>"``."""
        if not families:
            return {}
        result = await self.session.execute(UPSERT_FAMILIES, {
            "system": system, "keys": [f"{h}/{kk}" for h, kk, _, _ in families],
            "household_ids": [household_ids[h] for h, _, _, _ in families], "kks": [kk for _, kk, _, _ in families],
            "valid": [v for _, _, v, _ in families], "flags": [",".join(f) for _, _, _, f in families]})
        return {row.source_record_id: row.id for row in result}

    async def upsert_persons(self, system: str, rows: Sequence[PersonRow], household_ids: dict[str, uuid.UUID],
                             verified: Sequence[uuid.UUID], updated_households: Sequence[uuid.UUID],
                             family_ids: dict[str, uuid.UUID] | None = None) -> None:
        if not rows:
            return
        family_ids = family_ids or {}
        await self.session.execute(UPSERT_PERSONS, {
            "system": system, "keys": [r.key for r in rows],
            "household_ids": [household_ids[r.household_key] for r in rows],
            "niks": [r.nik for r in rows], "nik_valid": [r.nik_valid for r in rows],
            "flags": [",".join(r.nik_flags) for r in rows], "names": [r.name for r in rows],
            "sexes": [r.sex for r in rows], "births": [r.birth_date for r in rows],
            "places": [r.birth_place for r in rows], "relationships": [r.relationship for r in rows],
            "disabilities": [r.has_disability for r in rows], "verified": list(verified),
            "family_ids": [family_ids.get(f"{r.household_key}/{r.kk_number}") if r.kk_number else None
                           for r in rows]})
        if updated_households:  # a household seen for the first time has nobody to archive
            await self.session.execute(ARCHIVE_DEPARTED, {
                "system": system, "household_ids": list(updated_households), "keys": [r.key for r in rows]})

    async def record_conflicts(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(text("""
                INSERT INTO sync_conflicts (id, person_id, field, kept_value, kept_source, rejected_value,
                    rejected_source, rejected_version, province_code, regency_code, district_code, village_code)
                VALUES (gen_random_uuid(), :person_id, :field, :kept_value, 'dukcapil', :rejected_value,
                    :rejected_source, :rejected_version, :province_code, :regency_code, :district_code,
                    :village_code)"""), list(rows))

    async def match_niks(self, niks: Sequence[str]) -> dict[str, uuid.UUID]:
        if not niks:
            return {}
        return {row.nik: row.id for row in await self.session.execute(MATCH_NIKS, {"niks": list(set(niks))})}

    async def upsert_enrolments(self, system: str, programme_id: uuid.UUID, rows: Sequence[EnrolmentRow],
                                person_ids: dict[str, uuid.UUID]) -> tuple[int, int]:
        if not rows:
            return 0, 0
        result = await self.session.execute(UPSERT_ENROLMENTS, {
            "system": system, "programme_id": programme_id, "keys": [r.key for r in rows],
            "versions": [r.version for r in rows], "person_ids": [person_ids[r.nik] for r in rows],
            "statuses": [r.status for r in rows], "starts": [r.period_start for r in rows],
            "ends": [r.period_end for r in rows]})
        flags = [row.inserted for row in result]
        return sum(flags), len(flags) - sum(flags)

    async def programme_id(self, code: str, name: str, owner: str, level: str, system: str) -> uuid.UUID:
        found = await self.session.scalar(text("SELECT id FROM programmes WHERE code = :code"), {"code": code})
        if found is not None:
            return uuid.UUID(str(found))
        new_id = await self.session.scalar(text("""
            INSERT INTO programmes (id, code, name, owner_agency, level, target_unit, eligibility, source_system)
            VALUES (gen_random_uuid(), :code, :name, :owner, :level, 'individual', '', :system)
            ON CONFLICT (code) DO UPDATE SET code = excluded.code RETURNING id"""),
            {"code": code, "name": name, "owner": owner, "level": level, "system": system})
        return uuid.UUID(str(new_id))

    async def quarantine(self, connector_id: uuid.UUID, run_id: uuid.UUID, rows: Sequence[QuarantineRow]) -> None:
        if not rows:
            return
        await self.session.execute(INSERT_QUARANTINE, {
            "connector_id": connector_id, "run_id": run_id, "kinds": [r.kind for r in rows],
            "keys": [r.key for r in rows], "versions": [r.version for r in rows],
            "reasons": [r.reason for r in rows], "raws": [json.dumps(r.raw, default=str) for r in rows],
            "provinces": [r.province_code for r in rows], "regencies": [r.regency_code for r in rows],
            "districts": [r.district_code for r in rows], "villages": [r.village_code for r in rows]})

    async def resolve_quarantine(self, connector_id: uuid.UUID, keys: Sequence[str]) -> None:
        if keys:
            await self.session.execute(RESOLVE_QUARANTINE, {"connector_id": connector_id, "keys": list(keys)})

    async def hub_tallies(self, system: str, connector_id: uuid.UUID,
                          districts: Sequence[str]) -> dict[str, tuple[int, str]]:
        result = await self.session.execute(HUB_TALLIES, {"system": system, "connector_id": connector_id,
                                                          "districts": list(districts)})
        return {row.district_code: (int(row.n), str(row.digest)) for row in result}

    async def save_checkpoint(self, connector_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(text("""
            INSERT INTO sync_checkpoints (connector_id, page, in_progress, "full") VALUES (:id, 0, false, false)
            ON CONFLICT (connector_id) DO NOTHING"""), {"id": connector_id})
        await self.session.execute(update(SyncCheckpoint).where(SyncCheckpoint.connector_id == connector_id)
                                   .values(**values, updated_at=text("now()")))

    async def bump_run(self, run_id: uuid.UUID, **increments: int) -> None:
        values = {name: getattr(SyncRun, name) + amount for name, amount in increments.items() if amount}
        if values:
            await self.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))

    async def finish_run(self, run_id: uuid.UUID, status: RunStatus, *, error: str | None = None,
                         reconciliation: dict[str, Any] | None = None) -> None:
        await self.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            status=status, error=error, reconciliation=reconciliation, finished_at=text("now()")))

    @staticmethod
    def _runs(connector_id: uuid.UUID, status: RunStatus | None) -> Select[Any]:
        stmt = select(SyncRun).where(SyncRun.connector_id == connector_id)
        return stmt if status is None else stmt.where(SyncRun.status == status)

    async def runs(self, connector_id: uuid.UUID, limit: int, *, status: RunStatus | None = None,
                   after: tuple[datetime, uuid.UUID] | None = None) -> Sequence[SyncRun]:
        """Newest first, keyset-paged on (started_at, id): a run queued while a client pages neither
        repeats nor hides an entry, and ``ix_sync_runs_connector_started`` serves every page."""
        stmt = self._runs(connector_id, status)
        if after is not None:
            stmt = stmt.where(tuple_(SyncRun.started_at, SyncRun.id) < tuple_(*after))
        stmt = stmt.order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
        rows: Sequence[SyncRun] = (await self.session.execute(stmt)).scalars().all()
        return rows

    async def count_runs(self, connector_id: uuid.UUID, status: RunStatus | None = None) -> int:
        stmt = select(func.count()).select_from(self._runs(connector_id, status).subquery())
        return int((await self.session.execute(stmt)).scalar_one())

    async def usage(self, since: datetime | None = None) -> list[Any]:
        return list(await self.session.execute(text("""
            SELECT to_char(date_trunc('month', checked_at), 'YYYY-MM') AS month, purpose, count(*) AS calls
            FROM nik_checks WHERE (CAST(:since AS timestamptz) IS NULL OR checked_at >= :since)
            GROUP BY 1, 2 ORDER BY 1, 2"""), {"since": since}))


class ConnectorRepository(ScopedRepository[Connector]):
    """Connectors as their managers read them: a district IT admin those of their regions (the
    connector's ``region_code`` within their scope), national scope all. Region scope by ``readable``."""

    model = Connector
    read_permission = Permission.manage_connectors
    programme_scoped = False

    def _managed(self, kind: str | None, enabled: bool | None) -> Select[Any]:
        stmt = self.readable()
        if kind is not None:
            stmt = stmt.where(Connector.kind == kind)
        return stmt if enabled is None else stmt.where(Connector.enabled.is_(enabled))

    async def page(self, *, kind: str | None, enabled: bool | None, offset: int, limit: int) -> Sequence[Connector]:
        # By name, which is unique, so pages never overlap.
        return await self.get_all(self._managed(kind, enabled).order_by(Connector.name).offset(offset).limit(limit))

    async def count_managed(self, *, kind: str | None, enabled: bool | None) -> int:
        return await self.count(self._managed(kind, enabled))


class QuarantineRepository(ScopedRepository[QuarantinedRecord]):
    """Quarantine as a district IT admin reads it: region scope applied by ``readable``. Connector
    managers read it (the raw payloads are what they must fix at the source); reads are audited."""

    model = QuarantinedRecord
    read_permission = Permission.manage_connectors
    programme_scoped = False

    def _of(self, connector_id: uuid.UUID, include_resolved: bool) -> Select[Any]:
        stmt = self.readable().where(QuarantinedRecord.connector_id == connector_id)
        return stmt if include_resolved else stmt.where(QuarantinedRecord.resolved_at.is_(None))

    async def for_connector(self, connector_id: uuid.UUID, *, limit: int, include_resolved: bool,
                            after: tuple[datetime, uuid.UUID] | None = None) -> Sequence[QuarantinedRecord]:
        """Newest first, keyset-paged on (created_at, id) along ``ix_quarantine_connector_created``: a
        connector can set aside millions of records, and a deep page costs what the first one does."""
        stmt = self._of(connector_id, include_resolved)
        if after is not None:
            stmt = stmt.where(tuple_(QuarantinedRecord.created_at, QuarantinedRecord.id) < tuple_(*after))
        return await self.get_all(stmt.order_by(QuarantinedRecord.created_at.desc(), QuarantinedRecord.id.desc())
                                  .limit(limit))

    async def count_for_connector(self, connector_id: uuid.UUID, *, include_resolved: bool) -> int:
        return await self.count(self._of(connector_id, include_resolved))


class OutboxRepository(ScopedRepository[OutboxMessage]):
    """Outbox messages as a connector admin reads and retries them: region scope applied by ``readable``."""

    model = OutboxMessage
    read_permission = Permission.manage_connectors
    programme_scoped = False

    def _listed(self, status: OutboxStatus | None, topic: str | None) -> Select[Any]:
        stmt = self.readable()
        if status is not None:
            stmt = stmt.where(OutboxMessage.status == status)
        return stmt if topic is None else stmt.where(OutboxMessage.topic == topic)

    async def listed(self, status: OutboxStatus | None, limit: int, *, topic: str | None = None,
                     after: tuple[datetime, uuid.UUID] | None = None) -> Sequence[OutboxMessage]:
        """Newest first, keyset-paged on (created_at, id) along ``ix_outbox_created``."""
        stmt = self._listed(status, topic)
        if after is not None:
            stmt = stmt.where(tuple_(OutboxMessage.created_at, OutboxMessage.id) < tuple_(*after))
        return await self.get_all(stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                                  .limit(limit))

    async def count_listed(self, status: OutboxStatus | None, topic: str | None = None) -> int:
        return await self.count(self._listed(status, topic))

    async def failed_for_update(self) -> Sequence[OutboxMessage]:
        stmt = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.failed)
        return await self.get_all(self.readable(stmt.order_by(OutboxMessage.created_at)).with_for_update())

    async def get_for_update(self, message_id: uuid.UUID) -> OutboxMessage | None:
        return await self.get_one_or_none(
            self.readable().where(OutboxMessage.id == message_id).with_for_update())
