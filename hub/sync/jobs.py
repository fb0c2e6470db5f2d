"""Scheduled syncs and outbox delivery on procrastinate, a PostgreSQL job queue.

Several workers on several machines share the queue. ``schedule_due`` runs every minute (on one
worker: procrastinate deduplicates periodic defers) and defers a ``run_connector`` job for each
enabled connector whose cron schedule came due since its last run. The job carries a queueing
lock per connector, so a connector waits in the queue at most once; the sync engine's advisory
lock still guarantees one run at a time even for runs started by hand or through GraphQL.

The queue's own tables are created by ``ensure_queue_schema`` (called by ``slrt-hub worker``), not
by Alembic: they belong to procrastinate's release cycle, and ``procrastinate schema`` can migrate them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal
from hub.config import APP_DB_ROLE, Settings
from hub.db.engine import make_engine, make_sessionmaker, resolve_urls, set_scope
from hub.models import Connector, SyncRun
from hub.sync import service
from hub.sync.outbox import deliver_due, poll_statuses
from hub.sync.wiring import build_source, outbox_handlers

log = logging.getLogger("hub.sync.jobs")
blueprint = procrastinate.Blueprint()
SYSTEM = Principal.system("scheduler")


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(database_url: str) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(database_url)))
    app.add_tasks_from(blueprint, namespace="hub")
    return app


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


@blueprint.task(name="sync.run_connector", queue="sync")
async def run_connector(connector_id: str, full: bool = False) -> str:
    settings = Settings()
    async with _database(settings) as sessionmaker:
        async with sessionmaker() as session:
            connector = await session.get(Connector, connector_id)
        if connector is None or not connector.enabled:
            return "gone"
        source: Any = build_source(connector, settings)
        try:
            result = await service.run_sync(sessionmaker, connector, source, full=full,
                                            page_size=settings.sync_page_size)
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
    async with _database(settings) as sessionmaker, sessionmaker() as session:
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
            await run_connector.configure(queueing_lock=f"sync:{connector.id}").defer_async(
                connector_id=str(connector.id))
            deferred += 1
        except AlreadyEnqueued:
            pass  # still waiting from an earlier minute
    return deferred


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
