"""GraphQL management of connectors for district IT admins (their regency; national scope: all).

Credentials are write-only: the input takes them, no type returns them (``hasCredentials`` says
whether some are stored). Every resolver goes through ``hub.sync.service``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from auth.principal import Principal
from hub.db.engine import unit_of_work
from hub.errors import Forbidden, HubError, Invalid, UpstreamUnavailable
from hub.models import Connector as ConnectorModel
from hub.models import OutboxMessage as OutboxModel
from hub.models import OutboxStatus as OutboxStatusModel
from hub.models import QuarantinedRecord as QuarantineModel
from hub.models import RunStatus as RunStatusModel
from hub.models import SyncRun as SyncRunModel
from hub.paging import time_key
from hub.sync import service
from hub.sync.wiring import build_source
from schema.context import Info
from schema.errors import ErrorCode, UserError
from schema.ids import from_global_id, to_global_id
from schema.types.common import After, Connection, First, connection, keyset_args, page_args
from schema.workflow.boundary import read_session


@strawberry.enum(description="How a sync run ended, or that it is still waiting for a worker (QUEUED) or running.")
class SyncRunStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    MISMATCH = "mismatch"
    FAILED = "failed"
    CRASHED = "crashed"
    SKIPPED = "skipped"


@strawberry.type(description="One sync of a connector: when, how it ended, and what it did.")
class SyncRun:
    id: strawberry.ID
    status: SyncRunStatus = strawberry.field(description="MISMATCH: finished, but the per-region reconciliation "
                                             "with the source found a difference. CRASHED: the worker died; the "
                                             "next run resumed from the last committed page.")
    full: bool = strawberry.field(description="True: everything was pulled; false: only changes since the last run.")
    resumed: bool = strawberry.field(description="True when this run continued an interrupted one from its checkpoint.")
    started_at: datetime
    finished_at: datetime | None
    pages: int
    fetched: int = strawberry.field(description="Records received (valid or not).")
    inserted: int
    updated: int
    unchanged: int = strawberry.field(description="Records whose source version the hub already had.")
    quarantined: int = strawberry.field(description="Records set aside with a reason (see `quarantine`).")
    duplicate_pages: int = strawberry.field(description="Pages the source sent twice; detected and fetched again.")
    out_of_order_pages: int = strawberry.field(description="Pages sent out of order; detected and fetched again.")
    removed: int = strawberry.field(description="Records the source deleted since the hub last had them: kept in "
                                    "the hub, archived and stamped removedAtSource (never hard-deleted).")
    error: str | None = strawberry.field(description="Why the run failed. Never contains credentials.")
    reconciliation: JSON | None = strawberry.field(
        description="Per region: the source's and the hub's counts and whether their digests match.")

    @classmethod
    def from_model(cls, run: SyncRunModel) -> SyncRun:
        return cls(id=to_global_id("SyncRun", run.id), status=SyncRunStatus(run.status.value), full=run.full,
                   resumed=run.resumed, started_at=run.started_at, finished_at=run.finished_at, pages=run.pages,
                   fetched=run.fetched, inserted=run.inserted, updated=run.updated, unchanged=run.unchanged,
                   quarantined=run.quarantined, duplicate_pages=run.duplicate_pages,
                   out_of_order_pages=run.out_of_order_pages, removed=run.removed, error=run.error,
                   reconciliation=JSON(run.reconciliation) if run.reconciliation is not None else None)


@strawberry.input(description="Narrow a connector's run history. All given conditions must hold.")
class SyncRunFilterInput:
    status: SyncRunStatus | None = strawberry.field(default=None, description="Only runs in this state.")

    def to_status(self) -> RunStatusModel | None:
        return RunStatusModel(self.status.value) if self.status else None


@strawberry.input(description="Narrow a connector's quarantine. All given conditions must hold.")
class QuarantineFilterInput:
    include_resolved: bool = strawberry.field(
        default=False, description="Also records a later sync took after all (resolvedAt set). Default: open only.")


@strawberry.input(description="Narrow the list of connectors. All given conditions must hold.")
class ConnectorFilterInput:
    kind: str | None = strawberry.field(
        default=None, description="Only connectors of this kind: siks-ng, dukcapil, education, health or baznas.")
    enabled: bool | None = strawberry.field(
        default=None, description="True: only connectors that run on their schedule; false: only disabled ones.")


@strawberry.type(description="A configured connection to an external system (SIKS-NG, Dukcapil, PIP, PBI-JK, Baznas).")
class Connector:
    id: strawberry.ID
    name: str
    kind: str = strawberry.field(description="siks-ng, dukcapil, education, health or baznas.")
    base_url: str
    region_code: str | None = strawberry.field(description="What is pulled, and who manages it. Null: national.")
    schedule: str | None = strawberry.field(description="Cron expression for scheduled runs.")
    enabled: bool
    has_credentials: bool = strawberry.field(description="Whether credentials are stored. They are never returned.")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, c: ConnectorModel) -> Connector:
        return cls(id=to_global_id("Connector", c.id), name=c.name, kind=c.kind, base_url=c.base_url,
                   region_code=c.region_code, schedule=c.schedule, enabled=c.enabled,
                   has_credentials=c.credentials is not None, db_id=c.id)

    @strawberry.field(description="This connector's sync runs, newest first (by when they were queued or "
                                  "started), a page at a time (`first` at most 100). Paging is by position in "
                                  "the history, so a run queued while you page neither repeats nor hides one.")
    async def runs(
        self, info: Info, first: First = None, after: After = None,
        filter: Annotated[SyncRunFilterInput | None, strawberry.argument(
            description="Conditions the runs must all meet.")] = None,
    ) -> Connection[SyncRun]:
        _require(info)
        page, after_key = keyset_args(info, first, after)
        status = (filter or SyncRunFilterInput()).to_status()
        async with read_session(info.context) as (session, principal):
            connector = await service.get_connector(session, principal, self.db_id)
            found = await service.runs(session, connector, page, after_key, status=status)

        async def count() -> int:
            async with read_session(info.context) as (session, _):
                return await service.count_runs(session, connector, status=status)

        return connection([SyncRun.from_model(r) for r in found.items], found, count,
                          keys=[time_key(r.started_at, r.id) for r in found.items])

    @strawberry.field(description="Records from this connector set aside with the reason and the payload as "
                                  "received, newest first, a page at a time (`first` at most 100). Open ones only "
                                  "unless `filter: {includeResolved: true}`. Within your regions only; reading "
                                  "them is recorded in the access log (the payloads hold personal data).")
    async def quarantine(
        self, info: Info, first: First = None, after: After = None,
        filter: Annotated[QuarantineFilterInput | None, strawberry.argument(
            description="Conditions the records must all meet.")] = None,
    ) -> Connection[Quarantined]:
        _require(info)
        page, after_key = keyset_args(info, first, after)
        include_resolved = (filter or QuarantineFilterInput()).include_resolved
        async with read_session(info.context) as (session, principal):
            connector = await service.get_connector(session, principal, self.db_id)
            found = await service.quarantine(session, principal, connector, page, after_key,
                                             include_resolved=include_resolved)

        async def count() -> int:
            async with read_session(info.context) as (session, principal):
                return await service.count_quarantine(session, principal, connector,
                                                      include_resolved=include_resolved)

        return connection([Quarantined.from_model(r) for r in found.items], found, count,
                          keys=[time_key(r.created_at, r.id) for r in found.items])


@strawberry.type(description="A source record the hub could not take, kept with the reason and the payload "
                 "as received.")
class Quarantined:
    id: strawberry.ID
    kind: str = strawberry.field(description="invalid: failed validation; unmatched: its NIK is not in the registry.")
    natural_key: str | None
    source_version: str | None
    reason: str
    raw: JSON = strawberry.field(description="The record exactly as the source sent it.")
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def from_model(cls, q: QuarantineModel) -> Quarantined:
        return cls(id=to_global_id("Quarantined", q.id), kind=q.kind, natural_key=q.natural_key,
                   source_version=q.source_version, reason=q.reason, raw=JSON(q.raw), created_at=q.created_at,
                   resolved_at=q.resolved_at)


@strawberry.input(description="A connector's configuration. Omit `credentials` on update to keep the stored ones.")
class ConnectorInput:
    name: str
    kind: str
    base_url: str
    region_code: str | None = None
    schedule: str | None = None
    enabled: bool = True
    credentials: JSON | None = strawberry.field(
        default=None, description='{"apiKey": ...} or {"clientId": ..., "clientSecret": ...}. Write-only.')

    def to_service(self) -> service.ConnectorInput:
        creds: dict[str, Any] | None = None
        if self.credentials is not None:
            names = {"apiKey": "api_key", "clientId": "client_id", "clientSecret": "client_secret"}
            raw: Any = self.credentials
            if not isinstance(raw, dict):
                raise Invalid("credentials must be an object", field="credentials")
            creds = {names.get(str(k), str(k)): str(v) for k, v in raw.items()}
        return service.ConnectorInput(name=self.name, kind=self.kind, base_url=self.base_url,
                                      region_code=self.region_code, schedule=self.schedule, enabled=self.enabled,
                                      credentials=creds)


@strawberry.type(description="The outcome of `testConnection`.")
class ConnectionTest:
    ok: bool
    message: str | None = strawberry.field(description="What went wrong, when it did. Never contains credentials.")


@strawberry.enum(description="Where an outbox message stands.")
class OutboxStatus(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@strawberry.type(description="A push to another system (SIKS-NG proposal or prelist, Baznas referral). The payload "
                 "(personal data) is not exposed here; the topic, state and last error are.")
class OutboxMessage:
    id: strawberry.ID
    topic: str = strawberry.field(description="siks-ng.proposal, siks-ng.prelist or baznas.referral.")
    status: OutboxStatus = strawberry.field(description="FAILED: the receiver refused it for good; see lastError.")
    attempts: int
    last_error: str | None = strawberry.field(description="The last refusal or failure. Never contains credentials.")
    village_code: str = strawberry.field(description="The region the message is about.")
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_model(cls, m: OutboxModel) -> OutboxMessage:
        return cls(id=to_global_id("OutboxMessage", m.id), topic=m.topic, status=OutboxStatus(m.status.value),
                   attempts=m.attempts, last_error=m.last_error, village_code=m.village_code,
                   created_at=m.created_at, next_attempt_at=m.next_attempt_at, delivered_at=m.delivered_at)


@strawberry.input(description="Narrow the outbox. All given conditions must hold.")
class OutboxFilterInput:
    status: OutboxStatus | None = strawberry.field(default=None, description="Only messages in this state.")
    topic: str | None = strawberry.field(
        default=None, description="Only messages of this topic: siks-ng.proposal, siks-ng.prelist or baznas.referral.")


@strawberry.type(description="The outcome of `retryFailedOutboxMessages`.")
class OutboxRetry:
    retried: int = strawberry.field(description="Failed messages of your regions set to be sent again.")


OutboxMessageResult = Annotated[OutboxMessage | UserError, strawberry.union("OutboxMessageResult")]
OutboxRetryResult = Annotated[OutboxRetry | UserError, strawberry.union("OutboxRetryResult")]
ConnectorResult = Annotated[Connector | UserError, strawberry.union("ConnectorResult")]
ConnectionTestResult = Annotated[ConnectionTest | UserError, strawberry.union("ConnectionTestResult")]
SyncRunResult = Annotated[SyncRun | UserError, strawberry.union("SyncRunResult")]


def _require(info: Info) -> Principal:
    principal = info.context.principal
    if principal is None:
        raise HubError("sign in first", code="UNAUTHENTICATED")
    if principal.role not in service.MANAGERS:
        raise Forbidden("connectors are managed by district IT admins")
    return principal


def _error(exc: HubError) -> UserError:
    if exc.code == "UNAUTHENTICATED":
        return UserError(code=ErrorCode.UNAUTHENTICATED, message=exc.message)
    return UserError.from_error(exc)


@strawberry.type
class ConnectorQuery:
    @strawberry.field(description="Connectors you manage (your regency's; all with national scope), by name, a "
                                  "page at a time (`first` at most 100).")
    async def connectors(
        self, info: Info, first: First = None, after: After = None,
        filter: Annotated[ConnectorFilterInput | None, strawberry.argument(
            description="Conditions the connectors must all meet.")] = None,
    ) -> Connection[Connector]:
        _require(info)
        page = page_args(info, first, after)
        wanted = filter or ConnectorFilterInput()
        async with read_session(info.context) as (session, principal):
            found = await service.connectors_page(session, principal, page, kind=wanted.kind,
                                                  enabled=wanted.enabled)

        async def count() -> int:
            async with read_session(info.context) as (session, principal):
                return await service.count_connectors(session, principal, kind=wanted.kind, enabled=wanted.enabled)

        return connection([Connector.from_model(c) for c in found.items], found, count)

    @strawberry.field(description="One connector you manage, or null.")
    async def connector(self, info: Info, id: strawberry.ID) -> Connector | None:
        principal = _require(info)
        try:
            async with unit_of_work(info.context.sessionmaker, principal) as session:
                return Connector.from_model(
                    await service.get_connector(session, principal, from_global_id(id, "Connector")))
        except HubError as exc:
            if exc.code in ("NOT_FOUND", "INVALID_ID"):
                return None
            raise


    @strawberry.field(description="Outbox messages of your regions (your regency's; all with national scope), "
                                  "newest first, a page at a time (`first` at most 100). All of them unless "
                                  "filtered: `filter: {status: FAILED}` lists those waiting for you to retry.")
    async def outbox(
        self, info: Info, first: First = None, after: After = None,
        filter: Annotated[OutboxFilterInput | None, strawberry.argument(
            description="Conditions the messages must all meet.")] = None,
    ) -> Connection[OutboxMessage]:
        _require(info)
        page, after_key = keyset_args(info, first, after)
        wanted = filter or OutboxFilterInput()
        status = OutboxStatusModel(wanted.status.value) if wanted.status else None
        async with read_session(info.context) as (session, principal):
            found = await service.outbox_page(session, principal, page, after_key, status=status, topic=wanted.topic)

        async def count() -> int:
            async with read_session(info.context) as (session, principal):
                return await service.count_outbox(session, principal, status=status, topic=wanted.topic)

        return connection([OutboxMessage.from_model(m) for m in found.items], found, count,
                          keys=[time_key(m.created_at, m.id) for m in found.items])


@strawberry.type
class ConnectorMutation:
    @strawberry.mutation(description="Send a FAILED outbox message again at the next delivery round, with the same "
                         "idempotency key. ILLEGAL_TRANSITION for a message that is not FAILED; NOT_FOUND outside "
                         "your regions.")
    async def retry_outbox_message(self, info: Info, id: strawberry.ID) -> OutboxMessageResult:
        try:
            principal = _require(info)
            async with unit_of_work(info.context.sessionmaker, principal) as session:
                message = await service.retry_outbox(session, principal, from_global_id(id, "OutboxMessage"))
                return OutboxMessage.from_model(message)
        except HubError as exc:
            return _error(exc)

    @strawberry.mutation(description="Send every FAILED outbox message of your regions again.")
    async def retry_failed_outbox_messages(self, info: Info) -> OutboxRetryResult:
        try:
            principal = _require(info)
            async with unit_of_work(info.context.sessionmaker, principal) as session:
                return OutboxRetry(retried=await service.retry_failed_outbox(session, principal))
        except HubError as exc:
            return _error(exc)

    @strawberry.mutation(description="Configure a new connector for one of your regions.")
    async def create_connector(self, info: Info, input: ConnectorInput) -> ConnectorResult:
        try:
            principal = _require(info)
            async with unit_of_work(info.context.sessionmaker, principal) as session:
                created = await service.create_connector(session, principal, info.context.settings,
                                                         input.to_service())
            return Connector.from_model(created)
        except HubError as exc:
            return _error(exc)

    @strawberry.mutation(description="Change a connector. Credentials are replaced only when given.")
    async def update_connector(self, info: Info, id: strawberry.ID, input: ConnectorInput) -> ConnectorResult:
        try:
            principal = _require(info)
            async with unit_of_work(info.context.sessionmaker, principal) as session:
                updated = await service.update_connector(session, principal, info.context.settings,
                                                         from_global_id(id, "Connector"), input.to_service())
            return Connector.from_model(updated)
        except HubError as exc:
            return _error(exc)

    @strawberry.mutation(description="Call the system with the stored credentials and report whether it answered.")
    async def test_connection(self, info: Info, id: strawberry.ID) -> ConnectionTestResult:
        try:
            principal = _require(info)
            async with unit_of_work(info.context.sessionmaker, principal) as session:
                connector = await service.get_connector(session, principal, from_global_id(id, "Connector"))
            problem = await service.test_connection(build_source(connector, info.context.settings))  # type: ignore[arg-type]
            return ConnectionTest(ok=problem is None, message=problem)
        except HubError as exc:
            return _error(exc)

    @strawberry.mutation(description="Queue a sync for the workers and return the run at once, status QUEUED; "
                         "follow it in `runs` (QUEUED -> RUNNING -> SUCCEEDED/MISMATCH/FAILED). While a run of "
                         "this connector is queued or running, nothing is queued and the answer is the error "
                         "SYNC_IN_PROGRESS, whose message names that run.")
    async def run_sync(self, info: Info, id: strawberry.ID, full: bool = False) -> SyncRunResult:
        try:
            principal = _require(info)
            async with unit_of_work(info.context.sessionmaker, principal) as session:
                connector = await service.get_connector(session, principal, from_global_id(id, "Connector"))
            if info.context.sync_queue is None:
                raise UpstreamUnavailable("no job queue is configured; runs cannot be queued")
            run = await service.enqueue_sync(info.context.sessionmaker, principal, connector,
                                             info.context.sync_queue, full=full)
            return SyncRun.from_model(run)
        except service.SyncInProgress as exc:
            existing = f" (run {to_global_id('SyncRun', exc.run_id)})" if exc.run_id else ""
            return UserError(code=ErrorCode.SYNC_IN_PROGRESS, message=exc.message + existing)
        except HubError as exc:
            return _error(exc)
