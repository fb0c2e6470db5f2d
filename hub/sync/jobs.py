"""Scheduled syncs and outbox delivery on procrastinate, a PostgreSQL job queue.

Several workers on several machines share the queue. ``schedule_due`` runs every minute (on one
worker: procrastinate deduplicates periodic defers) and queues a run for each enabled connector
whose cron schedule came due since its last run. Runs are queued, by the scheduler and by the
``runSync`` mutation alike, through ``service.enqueue_sync``: a ``queued`` run row plus a
``run_connector`` job carrying its id, refused while a run of the connector is queued or running;
the worker turns the row into the running run. The sync engine's advisory lock still guarantees one
run at a time, also for runs started by hand (``slrt-hub sync``).

The queue's own tables are created by ``ensure_queue_schema`` (called by ``slrt-hub worker``), not
by Alembic: they belong to procrastinate's release cycle, and ``procrastinate schema`` can migrate them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import procrastinate
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal
from hub.config import APP_DB_ROLE, Settings
from hub.db.engine import make_engine, make_sessionmaker, resolve_urls, set_scope
from hub.models import Connector, RunStatus, SyncRun
from hub.sync import service
from hub.sync.outbox import deliver_due, poll_statuses
from hub.sync.repository import SyncRepository
from hub.sync.wiring import build_source, outbox_handlers

log = logging.getLogger("hub.sync.jobs")
blueprint = procrastinate.Blueprint()
SYSTEM = Principal.system("scheduler")


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


_APP: procrastinate.App | None = None  # one per process: the blueprint's tasks link back to the app they joined


def make_app(database_url: str) -> procrastinate.App:
    """The process's worker app, on ``database_url``. procrastinate namespaces a blueprint in place when it is
    added (and its tasks then defer through that app), so the tasks join one app, whose connector is set here."""
    global _APP
    connector = procrastinate.PsycopgConnector(conninfo=libpq_url(database_url))
    if _APP is None:
        _APP = procrastinate.App(connector=connector)
        _APP.add_tasks_from(blueprint, namespace="hub")
    else:
        _APP.connector = connector
        _APP.job_manager.connector = connector
    return _APP


async def ensure_queue_schema(owner_url: str) -> bool:
    """Create procrastinate's tables once (as the owner) and let the app role use them. True if created."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(libpq_url(owner_url), autocommit=True) as conn:
        exists = (await (await conn.execute("SELECT to_regclass('procrastinate_jobs')")).fetchone() or [None])[0]
        created = exists is None
        if created:
            app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(owner_url)))
            async with app.open_async():
                await app.schema_manager.apply_schema_async()
        tables = await (await conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'procrastinate%'"
        )).fetchall()
        for (table,) in tables:
            await conn.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {APP_DB_ROLE}')
        sequences = await (await conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND sequencename LIKE 'procrastinate%'"
        )).fetchall()
        for (sequence,) in sequences:
            await conn.execute(f'GRANT USAGE, SELECT, UPDATE ON SEQUENCE "{sequence}" TO {APP_DB_ROLE}')
    return created


async def worker_heartbeats(settings: Settings, within_seconds: int) -> int:
    """How many workers sent their heartbeat in the last ``within_seconds`` (0 before the queue exists)."""
    import psycopg

    urls = await resolve_urls(settings)
    async with await psycopg.AsyncConnection.connect(libpq_url(urls.app), connect_timeout=5) as conn:
        if (await (await conn.execute("SELECT to_regclass('procrastinate_workers')")).fetchone() or [None])[0] is None:
            return 0
        row = await (await conn.execute(
            "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => %s)",
            (within_seconds,))).fetchone()
    return int(row[0]) if row else 0


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    urls = await resolve_urls(settings)
    engine = make_engine(urls.app, pool_size=3, max_overflow=1)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def is_due(schedule: str, last_started: datetime | None, now: datetime) -> bool:
    from croniter import croniter  # type: ignore[import-untyped,unused-ignore]  # hints only in some versions

    previous: datetime = croniter(schedule, now).get_prev(datetime)
    return last_started is None or last_started < previous


RUN_CONNECTOR = "hub:sync.run_connector"


class ProcrastinateQueue:
    """``service.SyncQueue`` on procrastinate: the API process defers, the workers run.

    Opened on first use, closed by ``aclose``. The queue's tables are the worker's to create (``slrt-hub
    worker``); before any worker has started, deferring fails and ``runSync`` answers UPSTREAM_UNAVAILABLE.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: procrastinate.App | None = None

    async def defer_sync(self, connector_id: uuid.UUID, run_id: uuid.UUID, full: bool) -> None:
        if self.app is None:
            urls = await resolve_urls(self.settings)
            # A bare app: deferring by task name needs no task objects (the blueprint belongs to the worker app).
            app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(urls.app)))
            await app.open_async()
            self.app = app
        deferrer = self.app.configure_task(RUN_CONNECTOR, queue="sync")
        await deferrer.defer_async(connector_id=str(connector_id), full=full, run_id=str(run_id))

    async def aclose(self) -> None:
        if self.app is not None:
            app, self.app = self.app, None
            await app.close_async()


@blueprint.task(name="sync.run_connector", queue="sync")
async def run_connector(connector_id: str, full: bool = False, run_id: str | None = None) -> str:
    settings = Settings()
    async with _database(settings) as sessionmaker:
        async with sessionmaker() as session:
            await set_scope(session, SYSTEM)
            connector = await session.get(Connector, connector_id)
            queued = await session.get(SyncRun, run_id) if run_id else None
            if run_id and (queued is None or queued.status is not RunStatus.queued):
                return "gone"  # the request's transaction never committed, or the job was delivered twice
        if connector is None or not connector.enabled:
            if queued is not None:
                async with sessionmaker() as session, session.begin():
                    await set_scope(session, SYSTEM)
                    await SyncRepository(session).finish_run(queued.id, RunStatus.skipped,
                                                             error="the connector was disabled or removed")
            return "gone"
        source: Any = build_source(connector, settings)
        try:
            result = await service.run_sync(sessionmaker, connector, source, full=full,
                                            page_size=settings.sync_page_size,
                                            queued_run=queued.id if queued is not None else None)
        finally:
            await source.aclose()
    log.info("scheduled sync %s: %s", connector.name, result.status.value)
    return result.status.value


@blueprint.periodic(cron="* * * * *", periodic_id="schedule-syncs")
@blueprint.task(name="sync.schedule_due", queue="sync")
async def schedule_due(timestamp: int) -> int:
    """Defer a run for every enabled, scheduled connector that came due. Returns how many were deferred."""
    settings = Settings()
    now = datetime.fromtimestamp(timestamp, UTC)
    deferred = 0
    queue = ProcrastinateQueue(settings)
    async with _database(settings) as sessionmaker:
        async with sessionmaker() as session:
            await set_scope(session, SYSTEM)
            last = (select(SyncRun.connector_id, func.max(SyncRun.started_at).label("started"))
                    .group_by(SyncRun.connector_id).subquery())
            rows: list[Any] = list(await session.execute(
                select(Connector, last.c.started).outerjoin(last, last.c.connector_id == Connector.id)
                .where(Connector.enabled.is_(True), Connector.schedule.is_not(None))))
        for connector, started in rows:
            if connector.kind == "dukcapil" or not is_due(str(connector.schedule), started, now):
                continue
            try:
                await service.enqueue_sync(sessionmaker, SYSTEM, connector, queue)
                deferred += 1
            except service.SyncInProgress:
                pass  # still waiting from an earlier minute, or running
    await queue.aclose()
    return deferred


@blueprint.periodic(cron="*/10 * * * *", periodic_id="refresh-analytics")
@blueprint.task(name="analytics.refresh_stale", queue="sync")
async def refresh_stale_summaries(timestamp: int) -> int:
    """Rebuild the analytics summary of every regency that changed since its last rebuild (or whose
    summary is from an earlier day). Sync runs rebuild their own regions at once; this catches the
    rest. Returns how many regencies were rebuilt."""
    from hub.analytics import summary

    settings = Settings()
    async with _database(settings) as sessionmaker:
        async with sessionmaker() as session, session.begin():
            await set_scope(session, SYSTEM)
            stale = await summary.stale_regencies(session)
        if stale:
            for done in await summary.refresh(sessionmaker, stale):
                log.info("analytics summary of %s rebuilt in %d ms", done.regency_code, done.duration_ms)
    return len(stale)


@blueprint.periodic(cron="* * * * *", periodic_id="deliver-outbox")
@blueprint.task(name="sync.deliver_outbox", queue="outbox")
async def deliver_outbox(timestamp: int) -> int:
    settings = Settings()
    async with _database(settings) as sessionmaker:
        async with sessionmaker() as session:
            connectors = (await session.execute(select(Connector).where(Connector.enabled.is_(True)))).scalars().all()
        clients: list[Any] = []
        try:
            report = await deliver_due(sessionmaker, outbox_handlers(connectors, settings, clients))
            # Then what the receivers report on earlier deliveries (SIKS-NG processing, Baznas decisions).
            await poll_statuses(sessionmaker, outbox_handlers(connectors, settings, clients, status=True))
        finally:
            for client in clients:
                await client.aclose()
    return report.delivered
