"""Connector management and sync runs: the rules. SQL lives in the repository; the transport calls these."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from croniter import croniter  # type: ignore[import-untyped,unused-ignore]  # hints exist only in some versions
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import NATIONAL, Principal, Role
from connectors.errors import ConnectorError
from connectors.ports import EnrolmentSource, RegistrySource
from hub.config import Settings
from hub.db.engine import set_scope
from hub.errors import Conflict, Forbidden, HubError, Invalid, NotFound, UpstreamUnavailable
from hub.models import Connector, OutboxMessage, OutboxStatus, QuarantinedRecord, RunStatus, SyncRun
from hub.paging import Page, PageRequest, parse_time_key, to_page
from hub.sync.engine import Progress, RunResult, SyncEngine
from hub.sync.repository import ConnectorRepository, OutboxRepository, QuarantineRepository, SyncRepository
from hub.sync.secrets import seal
from hub.sync.urls import validate_base_url

KINDS = ("siks-ng", "dukcapil", "education", "health", "baznas")
MANAGERS = {Role.district_it_admin, Role.system}
CREDENTIAL_FIELDS = {"api_key", "client_id", "client_secret"}


class Closable(Protocol):
    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


SourceFactory = Callable[[Connector], Any]


class SyncQueue(Protocol):
    """Where a requested sync goes to wait for a worker (``hub.sync.jobs.ProcrastinateQueue``)."""

    async def defer_sync(self, connector_id: uuid.UUID, run_id: uuid.UUID, full: bool) -> None: ...


class SyncInProgress(Conflict):
    """A run of the connector is already queued or running; ``run_id`` says which (None: running, no row)."""

    code = "SYNC_IN_PROGRESS"

    def __init__(self, run_id: uuid.UUID | None) -> None:
        super().__init__("a sync of this connector is already queued or running", run_id=run_id)
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class ConnectorInput:
    name: str
    kind: str
    base_url: str
    region_code: str | None = None
    schedule: str | None = None
    enabled: bool = True
    credentials: dict[str, str] | None = None
    options: dict[str, Any] | None = None


def may_manage(principal: Principal, region_code: str | None) -> bool:
    """District IT admins manage connectors of their regions; national scope manages all (and national ones)."""
    if principal.role not in MANAGERS:
        return False
    if principal.scope.is_national:
        return True
    if region_code is None:
        return False
    return any(region_code == c or region_code.startswith(c + ".") for c in principal.scope.codes if c != NATIONAL)


async def _validate(data: ConnectorInput, settings: Settings) -> str:
    if data.kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if not data.name.strip():
        raise Invalid("name is required", field="name")
    if data.credentials is not None and set(data.credentials) - CREDENTIAL_FIELDS:
        raise Invalid(f"credentials accept only {', '.join(sorted(CREDENTIAL_FIELDS))}", field="credentials")
    if data.schedule and not croniter.is_valid(data.schedule):
        raise Invalid("schedule is not a cron expression", field="schedule")
    return await validate_base_url(data.base_url, settings)


async def create_connector(session: AsyncSession, principal: Principal, settings: Settings,
                           data: ConnectorInput) -> Connector:
    if not may_manage(principal, data.region_code):
        raise Forbidden("you may manage connectors only for your own regions")
    base_url = await _validate(data, settings)
    connector = Connector(name=data.name.strip(), kind=data.kind, base_url=base_url, region_code=data.region_code,
                          schedule=data.schedule or None, enabled=data.enabled, options=data.options or {},
                          credentials=seal(settings, data.credentials) if data.credentials else None)
    session.add(connector)
    await session.flush()
    return connector


async def update_connector(session: AsyncSession, principal: Principal, settings: Settings,
                           connector_id: uuid.UUID, data: ConnectorInput) -> Connector:
    connector = await get_connector(session, principal, connector_id)
    if not may_manage(principal, data.region_code):
        raise Forbidden("you may manage connectors only for your own regions")
    connector.base_url = await _validate(data, settings)
    connector.name, connector.kind, connector.region_code = data.name.strip(), data.kind, data.region_code
    connector.schedule, connector.enabled = data.schedule or None, data.enabled
    if data.options is not None:
        connector.options = data.options
    if data.credentials is not None:  # absent: keep the stored ones (they are never sent back to be re-sent)
        connector.credentials = seal(settings, data.credentials)
    await session.flush()
    return connector


async def get_connector(session: AsyncSession, principal: Principal, connector_id: uuid.UUID) -> Connector:
    connector = await session.get(Connector, connector_id)
    if connector is None or not may_manage(principal, connector.region_code):
        raise NotFound("no such connector")
    return connector


async def list_connectors(session: AsyncSession, principal: Principal) -> list[Connector]:
    rows = (await session.execute(select(Connector).order_by(Connector.name))).scalars().all()
    return [c for c in rows if may_manage(principal, c.region_code)]


async def connectors_page(session: AsyncSession, principal: Principal, request: PageRequest, *,
                          kind: str | None = None, enabled: bool | None = None) -> Page[Connector]:
    """Connectors the caller manages, by name (``limit + 1`` fetched: the extra one says more follow)."""
    rows = await ConnectorRepository(session, principal).page(kind=kind, enabled=enabled, offset=request.offset,
                                                              limit=request.limit + 1)
    return to_page(rows, request)


async def count_connectors(session: AsyncSession, principal: Principal, *, kind: str | None = None,
                           enabled: bool | None = None) -> int:
    return await ConnectorRepository(session, principal).count_managed(kind=kind, enabled=enabled)


async def runs(session: AsyncSession, connector: Connector, request: PageRequest, after: str | None, *,
               status: RunStatus | None = None) -> Page[SyncRun]:
    """A connector's runs, newest first; ``after`` is the ``time_key`` of the previous page's last run.
    ``connector`` comes from ``get_connector``, which checked that the caller manages it."""
    rows = await SyncRepository(session).runs(connector.id, request.limit + 1, status=status,
                                              after=parse_time_key(after) if after is not None else None)
    return to_page(rows, request)


async def count_runs(session: AsyncSession, connector: Connector, *, status: RunStatus | None = None) -> int:
    return await SyncRepository(session).count_runs(connector.id, status)


async def quarantine(session: AsyncSession, principal: Principal, connector: Connector, request: PageRequest,
                     after: str | None, *, include_resolved: bool = False) -> Page[QuarantinedRecord]:
    """A connector's quarantine within the caller's regions, newest first (keyset on ``time_key``)."""
    rows = await QuarantineRepository(session, principal).for_connector(
        connector.id, limit=request.limit + 1, include_resolved=include_resolved,
        after=parse_time_key(after) if after is not None else None)
    return to_page(rows, request)


async def count_quarantine(session: AsyncSession, principal: Principal, connector: Connector, *,
                           include_resolved: bool = False) -> int:
    return await QuarantineRepository(session, principal).count_for_connector(connector.id,
                                                                              include_resolved=include_resolved)


async def usage_report(session: AsyncSession, since: datetime | None = None) -> list[dict[str, Any]]:
    """Dukcapil calls per month and purpose, as the data-sharing agreement requires them reported."""
    return [{"month": r.month, "purpose": r.purpose, "calls": int(r.calls)}
            for r in await SyncRepository(session).usage(since)]


async def test_connection(client: Closable) -> str | None:
    """None when the source answered; otherwise what went wrong, in words safe to show (no secrets)."""
    try:
        await client.ping()
    except ConnectorError as exc:
        return f"{type(exc).__name__}: {exc.message}"
    finally:
        await client.aclose()
    return None


async def enqueue_sync(sessionmaker: async_sessionmaker[AsyncSession], principal: Principal,
                       connector: Connector, queue: SyncQueue, *, full: bool = False) -> SyncRun:
    """Record a ``queued`` run and hand it to the worker queue; return at once.

    One run per connector: while a run of it is queued, or a worker holds its advisory lock, this raises
    ``SyncInProgress`` (with the queued run's id, when there is one) instead of queueing a second one.
    Enqueuers of one connector are serialised by their own advisory lock, so two concurrent requests
    cannot both queue. The run row commits before the job is deferred: a job whose run row is missing
    (the commit failed) is dropped by the worker; a row whose job could not be deferred is marked failed.
    """
    if connector.kind == "dukcapil":
        raise Invalid("a Dukcapil connector verifies NIKs; it has nothing to pull", field="connector")
    async with sessionmaker() as session, session.begin():
        await set_scope(session, principal)
        repo = SyncRepository(session)
        await repo.lock_enqueue(connector.id)
        waiting = await repo.queued_run(connector.id)
        if waiting is not None:
            raise SyncInProgress(waiting)
        if await repo.is_running(connector.id):
            raise SyncInProgress(await repo.running_run(connector.id))
        run = SyncRun(connector_id=connector.id, status=RunStatus.queued, full=full)
        session.add(run)
        await session.flush()
        run_id = run.id
    try:
        await queue.defer_sync(connector.id, run_id, full)
    except Exception as exc:  # the queue is a separate connection; whatever broke, the run must not wait forever
        async with sessionmaker() as session, session.begin():
            await set_scope(session, principal)
            await SyncRepository(session).finish_run(run_id, RunStatus.failed,
                                                     error=f"could not queue the run: {type(exc).__name__}")
        raise UpstreamUnavailable("the job queue is unavailable; the run was not queued") from exc
    async with sessionmaker() as session:
        await set_scope(session, principal)
        queued = await session.get(SyncRun, run_id)
    assert queued is not None
    return queued


async def run_sync(
    sessionmaker: async_sessionmaker[AsyncSession],
    connector: Connector,
    source: RegistrySource | EnrolmentSource,
    *,
    full: bool = False,
    page_size: int = 500,
    on_page: Callable[[Progress], None] | None = None,
    queued_run: uuid.UUID | None = None,
) -> RunResult:
    """Run a sync here and now (the worker, the CLI). ``queued_run``: the ``queued`` run row to carry on."""
    if connector.kind in ("dukcapil",):
        raise Invalid("a Dukcapil connector verifies NIKs; it has nothing to pull", field="connector")
    engine = SyncEngine(sessionmaker, connector, source, full=full,
                        page_size=int((connector.options or {}).get("page_size", page_size)), on_page=on_page,
                        queued_run=queued_run)
    return await engine.run()


def _outbox_manager(principal: Principal) -> None:
    if principal.role not in MANAGERS:
        raise Forbidden("the outbox is managed by district IT admins")


async def list_outbox(session: AsyncSession, principal: Principal, *, status: OutboxStatus | None = None,
                      limit: int = 50) -> Sequence[OutboxMessage]:
    """Outbox messages of the caller's regions, newest first (a district IT admin: their regency)."""
    _outbox_manager(principal)
    return await OutboxRepository(session, principal).listed(status, limit)


async def outbox_page(session: AsyncSession, principal: Principal, request: PageRequest, after: str | None, *,
                      status: OutboxStatus | None = None, topic: str | None = None) -> Page[OutboxMessage]:
    """``list_outbox`` a page at a time: ``after`` is the ``time_key`` of the previous page's last message."""
    _outbox_manager(principal)
    rows = await OutboxRepository(session, principal).listed(
        status, request.limit + 1, topic=topic, after=parse_time_key(after) if after is not None else None)
    return to_page(rows, request)


async def count_outbox(session: AsyncSession, principal: Principal, *, status: OutboxStatus | None = None,
                       topic: str | None = None) -> int:
    _outbox_manager(principal)
    return await OutboxRepository(session, principal).count_listed(status, topic)


def _requeue(message: OutboxMessage, principal: Principal) -> None:
    message.status = OutboxStatus.pending
    message.next_attempt_at = datetime.now(UTC)
    message.last_error = f"retry asked by {principal.subject} after: {message.last_error or 'no error recorded'}"[:2000]


async def retry_outbox(session: AsyncSession, principal: Principal, message_id: uuid.UUID) -> OutboxMessage:
    """Send a failed message again at the next delivery round (same idempotency key: the receiver
    answers a resend that it had in fact accepted with its first receipt). Only failed messages."""
    _outbox_manager(principal)
    message = await OutboxRepository(session, principal).get_for_update(message_id)
    if message is None:
        raise NotFound("no such outbox message")
    if message.status is not OutboxStatus.failed:
        raise HubError(f"only failed messages are retried; this one is {message.status.value}",
                       code="ILLEGAL_TRANSITION")
    _requeue(message, principal)
    await session.flush()
    return message


async def retry_failed_outbox(session: AsyncSession, principal: Principal) -> int:
    """Retry every failed message of the caller's regions. Returns how many."""
    _outbox_manager(principal)
    messages = await OutboxRepository(session, principal).failed_for_update()
    for message in messages:
        _requeue(message, principal)
    await session.flush()
    return len(messages)
