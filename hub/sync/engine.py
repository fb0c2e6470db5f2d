"""The sync engine: pull pages from a source port and apply them exactly once.

Guarantees, and where each comes from:
- **one run per connector**: a transaction-level advisory lock held on its own connection for the
  whole run; a second worker fails to take it and records a ``skipped`` run. A worker that dies
  loses its connection and with it the lock.
- **crash-safe**: each page's upserts, quarantine rows, run counters and the checkpoint (cursor of
  the next page) commit in one transaction. A killed run leaves the checkpoint at the last
  committed page; the next run finds it ``in_progress`` and continues from there.
- **no duplicates**: rows are upserted on the natural key (source system + source record id) and
  only rewritten when the source version changed; a page applied twice changes nothing.
- **nothing dropped**: records that cannot be translated or stored go to ``quarantine`` with the
  reason and the raw payload; the reconciliation counts them as present.
- **pages in order**: a page whose number is not the one asked for (a duplicate or an out-of-order
  page) is counted and fetched again, never applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal
from connectors.errors import ConnectorError, Unavailable
from connectors.ports import (
    EnrolmentRecord,
    EnrolmentSource,
    InvalidRecord,
    Page,
    RegistryHousehold,
    RegistrySource,
    Removal,
)
from hub.analytics.summary import refresh_after_sync
from hub.db.engine import set_scope
from hub.identity import InvalidIdentifier, parse_kk, parse_nik
from hub.metrics import record_sync_run
from hub.models import Connector, RunStatus, SyncRun
from hub.sync.repository import EnrolmentRow, HouseholdRow, PersonRow, QuarantineRow, SyncRepository

log = logging.getLogger("hub.sync")
SYSTEM_PRINCIPAL = Principal.system("sync")

# Programme catalogue entries created on first sight of an enrolment list (the catalogue may refine them).
PROGRAMMES = {
    "PIP": ("Program Indonesia Pintar (PIP/KIP)", "Kemendikbud", "central"),
    "PBI-JK": ("Penerima Bantuan Iuran Jaminan Kesehatan (PBI-JK)", "BPJS Kesehatan", "central"),
}


@dataclass
class Progress:
    pages: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    removed: int = 0
    duplicate_pages: int = 0
    out_of_order_pages: int = 0
    total: int | None = None


@dataclass
class RunResult:
    run_id: uuid.UUID
    status: RunStatus
    progress: Progress
    reconciliation: dict[str, Any] | None = None
    error: str | None = None
    resumed: bool = False


@dataclass
class _PageCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    removed: int = 0
    watermark: datetime | None = None
    applied_keys: list[str] = field(default_factory=list)


def _fetched(page: Page[Any]) -> int:
    return len(page.records) + len(page.invalid) + len(page.removed)


def region_columns(code: str | None) -> dict[str, str]:
    """The four region columns for a code at any level; levels below it are ``''`` (no scope grants '')."""
    parts = code.split(".") if code else []
    names = ("province_code", "regency_code", "district_code", "village_code")
    return {name: ".".join(parts[: i + 1]) if len(parts) > i else "" for i, name in enumerate(names)}


def _nik_fields(nik: str) -> tuple[bool, list[str]]:
    try:
        parsed = parse_nik(nik)
    except InvalidIdentifier as exc:
        return False, [exc.reason[:32]]
    return True, sorted(f[:32] for f in parsed.flags)


def _kk_fields(kk: str) -> tuple[bool, list[str]]:
    try:
        parsed = parse_kk(kk)
    except InvalidIdentifier as exc:
        return False, [exc.reason[:32]]
    return True, sorted(f[:32] for f in parsed.flags)


class SyncEngine:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        connector: Connector,
        source: RegistrySource | EnrolmentSource,
        *,
        full: bool = False,
        page_size: int = 500,
        period: str | None = None,
        on_page: Callable[[Progress], None] | None = None,
        max_page_refetches: int = 20,
        queued_run: uuid.UUID | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.connector_id = connector.id
        self.system = connector.kind
        self.region = connector.region_code
        self.source = source
        self.full = full
        self.page_size = page_size
        self.period = period or (connector.options or {}).get("period")
        self.on_page = on_page
        self.max_page_refetches = max_page_refetches
        self.progress = Progress()
        self.queued_run = queued_run

    @asynccontextmanager
    async def _tx(self) -> Any:
        async with self.sessionmaker() as session, session.begin():
            await set_scope(session, SYSTEM_PRINCIPAL)
            yield SyncRepository(session)

    async def run(self) -> RunResult:
        started = time.perf_counter()
        async with self.sessionmaker() as lock_session, lock_session.begin():
            if not await SyncRepository(lock_session).try_lock(self.connector_id):
                result = await self._skipped()
            else:
                result = await self._run_locked()
        p = result.progress
        if result.status in (RunStatus.succeeded, RunStatus.mismatch):
            await refresh_after_sync(self.sessionmaker, self.region,
                                     changed=bool(p.inserted or p.updated or p.removed))
        record_sync_run(str(self.system), result.status.value, {
            "inserted": p.inserted, "updated": p.updated, "unchanged": p.unchanged, "quarantined": p.quarantined,
            "removed": p.removed,
        }, time.perf_counter() - started)
        return result

    async def _skipped(self) -> RunResult:
        error = "another worker is running this connector"
        async with self._tx() as repo:
            if self.queued_run is not None:
                run_id = self.queued_run
            else:
                run = SyncRun(connector_id=self.connector_id, status=RunStatus.skipped, full=self.full, error=error)
                repo.session.add(run)
                await repo.session.flush()
                run_id = run.id
            await repo.finish_run(run_id, RunStatus.skipped, error=error)
        log.info("sync %s skipped: another worker holds the lock", self.connector_id)
        return RunResult(run_id, RunStatus.skipped, self.progress, error=error)

    async def _run_locked(self) -> RunResult:
        async with self._tx() as repo:
            await repo.mark_crashed(self.connector_id)
            checkpoint = await repo.checkpoint(self.connector_id)
            resume = bool(checkpoint and checkpoint.in_progress and (checkpoint.full or not self.full))
            if resume and checkpoint is not None:
                cursor, page, since, full = checkpoint.cursor, checkpoint.page, checkpoint.since, checkpoint.full
                run_watermark = checkpoint.run_watermark
            else:
                cursor, page, full, run_watermark = None, 0, self.full, None
                since = None if self.full or checkpoint is None else checkpoint.watermark
            if self.queued_run is not None:
                if not await repo.take_queued(self.queued_run, full=full, resumed=resume):
                    # Already taken or finished (a job delivered twice): nothing to do, nothing to record.
                    return RunResult(self.queued_run, RunStatus.skipped, self.progress,
                                     error="the queued run was no longer waiting")
                run_id = self.queued_run
            else:
                run = SyncRun(connector_id=self.connector_id, status=RunStatus.running, full=full, resumed=resume)
                repo.session.add(run)
                await repo.session.flush()
                run_id = run.id
            await repo.save_checkpoint(self.connector_id, run_id=run_id, cursor=cursor, page=page, in_progress=True,
                                       full=full, since=since, run_watermark=run_watermark)
        # The next page is fetched while this one is written (one page ahead, in memory only: the checkpoint
        # still moves with each commit, so a crash loses at most the prefetched page, which is fetched again).
        ahead: asyncio.Task[tuple[Page[Any], dict[str, int]]] | None = None
        try:
            if not (page > 0 and cursor is None):
                ahead = asyncio.create_task(self._fetch(cursor, page + 1, since))
            while ahead is not None:
                fetched, extra = await ahead
                ahead = None
                if fetched.next_cursor is not None:
                    ahead = asyncio.create_task(self._fetch(fetched.next_cursor, fetched.number + 1, since))
                async with self._tx() as repo:
                    counts = await self._apply(repo, run_id, fetched)
                    if counts.watermark and (run_watermark is None or counts.watermark > run_watermark):
                        run_watermark = counts.watermark
                    await repo.save_checkpoint(self.connector_id, cursor=fetched.next_cursor, page=fetched.number,
                                               run_watermark=run_watermark)
                    await repo.bump_run(run_id, pages=1, fetched=_fetched(fetched),
                                        inserted=counts.inserted, updated=counts.updated,
                                        unchanged=counts.unchanged, quarantined=counts.quarantined,
                                        removed=counts.removed, **extra)
                self._count(fetched, counts, extra)
                cursor, page = fetched.next_cursor, fetched.number
            reconciliation = await self._reconcile(run_id)
            status = RunStatus.succeeded if reconciliation.get("ok", True) else RunStatus.mismatch
            async with self._tx() as repo:
                await repo.finish_run(run_id, status, reconciliation=reconciliation)
                final = await repo.checkpoint(self.connector_id)
                await repo.save_checkpoint(self.connector_id, cursor=None, page=0, in_progress=False,
                                           watermark=run_watermark or (final.watermark if final else None))
            return RunResult(run_id, status, self.progress, reconciliation, resumed=resume)
        except ConnectorError as exc:
            # Expected: the source failed for longer than the retry policy allows, or refused us.
            # The checkpoint stays in progress, so the next run resumes where this one stopped.
            message = f"{type(exc).__name__}: {exc.message}"
            async with self._tx() as repo:
                await repo.finish_run(run_id, RunStatus.failed, error=message)
            log.warning("sync %s failed: %s", self.connector_id, message)
            return RunResult(run_id, RunStatus.failed, self.progress, error=message, resumed=resume)
        finally:
            if ahead is not None:  # a page failed to apply: drop the prefetch (and retrieve its outcome)
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ahead

    def _count(self, page: Page[Any], counts: _PageCounts, extra: dict[str, int]) -> None:
        p = self.progress
        p.pages += 1
        p.fetched += _fetched(page)
        p.inserted += counts.inserted
        p.removed += counts.removed
        p.updated += counts.updated
        p.unchanged += counts.unchanged
        p.quarantined += counts.quarantined
        p.duplicate_pages += extra.get("duplicate_pages", 0)
        p.out_of_order_pages += extra.get("out_of_order_pages", 0)
        if page.total is not None:
            p.total = page.total
        if self.on_page is not None:
            self.on_page(p)

    async def _fetch(self, cursor: str | None, expected: int,
                     since: datetime | None) -> tuple[Page[Any], dict[str, int]]:
        extra = {"duplicate_pages": 0, "out_of_order_pages": 0}
        for attempt in range(self.max_page_refetches):
            if isinstance(self.source, RegistrySource):
                page: Page[Any] = await self.source.households(cursor=cursor, region=self.region,
                                                               updated_since=since, page_size=self.page_size)
            else:
                page = await self.source.enrolments(cursor=cursor, region=self.region, period=self.period,
                                                    page_size=self.page_size)
            if page.number == expected:
                return page, extra
            kind = "duplicate_pages" if page.number < expected else "out_of_order_pages"
            extra[kind] += 1
            log.info("sync %s: asked for page %d, got %d (%s); fetching again", self.connector_id, expected,
                     page.number, kind)
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
        raise Unavailable(f"{self.system}: kept answering with the wrong page instead of page {expected}",
                          system=self.system)

    async def _apply(self, repo: SyncRepository, run_id: uuid.UUID, page: Page[Any]) -> _PageCounts:
        counts = _PageCounts()
        quarantine = [self._invalid_row(r) for r in page.invalid]
        if isinstance(self.source, RegistrySource):
            await self._apply_households(repo, page.records, counts)
            await self._apply_removals(repo, page.removed, counts)
        else:
            quarantine += await self._apply_enrolments(repo, page.records, counts)
        await repo.quarantine(self.connector_id, run_id, quarantine)
        await repo.resolve_quarantine(self.connector_id, counts.applied_keys)
        counts.quarantined = len(quarantine)
        return counts

    async def _apply_removals(self, repo: SyncRepository, removals: Sequence[Removal], counts: _PageCounts) -> None:
        if not removals:
            return
        latest = {r.key: r.version for r in removals}
        counts.removed = await repo.remove_households(self.system, sorted(latest.items()))
        counts.applied_keys += list(latest)  # a deleted record's open quarantine is settled too
        newest = max(r.updated_at for r in removals)
        if counts.watermark is None or newest > counts.watermark:
            counts.watermark = newest

    def _invalid_row(self, record: InvalidRecord) -> QuarantineRow:
        regions = region_columns(record.village_code or self.region)
        return QuarantineRow(kind="invalid", key=record.key, version=record.version, reason=record.reason,
                             raw=dict(record.raw), **regions)

    async def _apply_households(self, repo: SyncRepository, records: Sequence[RegistryHousehold],
                                counts: _PageCounts) -> None:
        latest = {r.household_id: r for r in records}  # a key twice in one page: the later one wins
        rows = [HouseholdRow(r.household_id, r.version, r.village_code, r.address, r.decile, r.updated_at.date())
                for r in latest.values()]
        changed = await repo.upsert_households(self.system, rows)
        counts.inserted = sum(1 for c in changed if c[2])
        counts.updated = len(changed) - counts.inserted
        counts.unchanged = len(rows) - len(changed)
        counts.applied_keys = list(latest)
        if records:
            counts.watermark = max(r.updated_at for r in records)
        household_ids = {key: hid for hid, key, _ in changed}
        persons: list[PersonRow] = []
        for key in household_ids:
            for m in latest[key].members:
                nik_valid, flags = _nik_fields(m.nik)
                persons.append(PersonRow(m.member_id, key, m.nik, nik_valid, flags, m.name,
                                         m.sex.value if m.sex else None, m.birth_date, m.birth_place,
                                         m.relationship.value, m.has_disability, m.kk_number))
        cards = {(p.household_key, p.kk_number) for p in persons if p.kk_number}
        family_ids = await repo.upsert_families(
            self.system, [(h, kk, *_kk_fields(kk)) for h, kk in sorted(cards)], household_ids)
        verified = await repo.verified_persons(self.system, [p.key for p in persons])
        if verified:
            await repo.record_conflicts(self._conflicts(verified, persons, latest))
        await repo.upsert_persons(self.system, persons, household_ids, [v.id for v in verified],
                                  [hid for hid, _, inserted in changed if not inserted], family_ids)

    def _conflicts(self, verified: Sequence[Any], persons: Sequence[PersonRow],
                   households: dict[str, RegistryHousehold]) -> list[dict[str, Any]]:
        incoming = {p.key: p for p in persons}
        out = []
        for v in verified:
            new = incoming[v.source_record_id]
            regions = {k: getattr(v, k) for k in ("province_code", "regency_code", "district_code", "village_code")}
            for field_name, kept, offered in (("name", v.name, new.name), ("birth_date", v.birth_date, new.birth_date)):
                if kept != offered:
                    out.append({"person_id": v.id, "field": field_name, "kept_value": str(kept),
                                "rejected_value": None if offered is None else str(offered),
                                "rejected_source": self.system,
                                "rejected_version": households[new.household_key].version, **regions})
        return out

    async def _apply_enrolments(self, repo: SyncRepository, records: Sequence[EnrolmentRecord],
                                counts: _PageCounts) -> list[QuarantineRow]:
        latest = {(r.programme_code, r.record_id): r for r in records}
        person_ids = await repo.match_niks([r.nik for r in latest.values()])
        unmatched = [r for r in latest.values() if r.nik not in person_ids]
        by_programme: dict[str, list[EnrolmentRow]] = {}
        for r in latest.values():
            if r.nik in person_ids:
                by_programme.setdefault(r.programme_code, []).append(
                    EnrolmentRow(r.record_id, r.version, r.nik, r.status.value, r.period_start, r.period_end))
        for code, rows in by_programme.items():
            name, owner, level = PROGRAMMES.get(code, (code, "Baznas", "non_government"))
            programme_id = await repo.programme_id(code, name, owner, level, self.system)
            inserted, updated = await repo.upsert_enrolments(self.system, programme_id, rows, person_ids)
            counts.inserted += inserted
            counts.updated += updated
            counts.unchanged += len(rows) - inserted - updated
            counts.applied_keys += [r.key for r in rows]
        return [QuarantineRow(kind="unmatched", key=r.record_id, version=r.version,
                              reason="NIK not in the registry (possible inclusion error)",
                              raw={k: str(v) if v is not None else None for k, v in asdict(r).items()},
                              **region_columns(r.village_code)) for r in unmatched]

    async def _reconcile(self, run_id: uuid.UUID) -> dict[str, Any]:
        if not isinstance(self.source, RegistrySource):
            p = self.progress
            accounted = p.inserted + p.updated + p.unchanged + p.quarantined
            return {"kind": "counts", "fetched": p.fetched, "accounted": accounted, "ok": accounted <= p.fetched}
        tallies = await self.source.tallies(region=self.region)
        async with self._tx() as repo:
            hub = await repo.hub_tallies(self.system, self.connector_id, [t.region_code for t in tallies])
        regions = {}
        ok = True
        for t in tallies:
            mine = hub.get(t.region_code, (0, ""))
            same = mine == (t.count, t.digest)
            ok &= same
            regions[t.region_code] = {"source_count": t.count, "hub_count": mine[0], "match": same}
        return {"kind": "tallies", "ok": ok, "regions": regions}
