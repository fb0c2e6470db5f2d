"""The one place that wires the application: settings, database, GraphQL, health routes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import strawberry
from graphql import ASTValidationRule
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.tools import merge_types
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from auth.principal import Principal
from hub.config import Profile, Settings
from hub.db.engine import make_engine, make_sessionmaker, resolve_urls
from hub.db.migrate import head_revision
from hub.logs import configure_logging
from hub.sync.jobs import ProcrastinateQueue
from hub.sync.service import SyncQueue
from schema.analytics import AnalyticsQuery
from schema.audit import AuditExtension, AuditQuery, audit_unresolved_references
from schema.auth import AuthGate, AuthState, bearer_authenticate, cors, remembered, token_endpoint
from schema.clients import ClientsMutation, ClientsQuery
from schema.connectors import ConnectorMutation, ConnectorQuery
from schema.context import Context
from schema.dashboard import routes as dashboard_routes
from schema.executor import execution_context_class
from schema.federation import add_unresolved_hook
from schema.observability import HubSchema, OperationObserver, RequestIdMiddleware, metrics_endpoint
from schema.pipeline import DirectGraphQL
from schema.protocol import GRAPHQL_RESPONSE, BodyLimit, HubErrors, RootFieldLimiter, format_error
from schema.query import Query
from schema.tracing import configure_tracing, tracing_extensions
from schema.workflow import PushMutation, WorkflowMutation, WorkflowQuery

# Once per process: every ``_entities`` reference to a personal record that resolves to nothing
# is written to the access log as a denied access, like any other refused read.
add_unresolved_hook(audit_unresolved_references)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The one place the schema is built.

    A Federation 2 subgraph: the same schema serves clients directly and a gateway's supergraph.
    2.7, not strawberry's newest default: the version every current composer and gateway accepts.
    """
    settings = settings or Settings()
    query = merge_types("Query", (Query, WorkflowQuery, ConnectorQuery, AuditQuery, ClientsQuery, AnalyticsQuery))
    mutation = merge_types("Mutation", (WorkflowMutation, PushMutation, ConnectorMutation, ClientsMutation))
    return HubSchema(query=query, mutation=mutation, federation_version="2.7",
                     execution_context_class=execution_context_class(settings.graphql_executor),
                     extensions=[*schema_extensions(settings), AuditExtension, OperationObserver,
                                 *tracing_extensions(settings)])


def validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The limits that are validation rules: they refuse a request before any resolver runs."""
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
        *RootFieldLimiter(settings.graphql_max_root_fields).validation_rules,
    ]
    if not settings.is_dev:
        rules.extend(DisableIntrospection().validation_rules)
    return rules


def schema_extensions(settings: Settings) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    # The token limit is a parser option. The rule classes are built once, so the validation cache
    # (keyed on them) hits across requests.
    rules = validation_rules(settings)
    max_tokens = settings.graphql_max_tokens
    return [
        HubErrors,
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
    ]


def settle_heap() -> None:
    """For a serving process, once the app is built: move everything built so far (modules, the
    schema, SQLAlchemy's metadata) out of the garbage collector's reach, and collect the young
    generation less often.

    Without this every full collection walks those long-lived objects again: measured under load
    (benchmarks.api), full collections took ~0.4 s each. A request allocates tens of thousands of
    short-lived objects, and with the default threshold (700) every request paid for several young
    and, every few requests, a full collection (in-process, households page: GC 1.3 s -> 0.7 s of
    CPU over 640 requests). Objects created later are collected as usual.

    Called by the process entry points (``slrt-hub serve``, the benchmark's server), not by
    ``create_app``: a test process builds many apps, and frozen objects hide from
    ``gc.get_referrers``, which test tooling (hypothesis) relies on.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 50)


@dataclass
class HubState:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    sync_queue: SyncQueue | None = None


Authenticate = Callable[[Request], Awaitable[Principal | None]]


async def anonymous(request: Request) -> Principal | None:
    return None


class HubGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: strawberry.Schema, settings: Settings, authenticate: Authenticate) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.is_dev else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.authenticate = authenticate

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        state: HubState = request.app.state.hub
        principal = await self.authenticate(request)
        return Context(request=request, response=response, settings=state.settings,
                       sessionmaker=state.sessionmaker, principal=principal, sync_queue=state.sync_queue)

    async def get_sub_response(self, request: Request) -> Response:  # type: ignore[override]
        sub_response = await super().get_sub_response(request)
        # Answer in the media type asked for (GraphQL over HTTP); plain JSON for older clients.
        accept = request.headers.get("accept", "")
        sub_response.media_type = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"
        return sub_response

    async def execute_operation(self, request: Request, request_adapter: Any, request_data: Any,
                                context: Context, root_value: Any, sub_response: Any) -> Any:
        try:
            return await super().execute_operation(request, request_adapter, request_data, context, root_value,
                                                   sub_response)
        finally:
            await context.close()

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        media_type = sub_response.media_type or "application/json"
        response = Response(self.encode_json(response_data), media_type=media_type)
        response.headers.raw.extend(h for h in sub_response.headers.raw if h[0] != b"content-type")
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        # With the GraphQL response media type, a request that never executed is a client error.
        if media_type == GRAPHQL_RESPONSE and isinstance(response_data, dict) and "data" not in response_data:
            response.status_code = 400
        return response

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Errors raised while parsing (e.g. the token limit) skip the schema extension: format them here.
        if result.errors:
            result.errors = [format_error(e) for e in result.errors]
        response = process_result(result)
        if isinstance(result, PreExecutionError):
            # Nothing was executed, so there is no `data` entry at all (GraphQL over HTTP).
            response.pop("data", None)
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)


def create_app(
    settings: Settings | None = None,
    *,
    bind: AsyncEngine | AsyncConnection | None = None,
    authenticate: Authenticate = bearer_authenticate,
    sync_queue: SyncQueue | None = None,
) -> Starlette:
    """Build the ASGI app.

    ``bind`` lets tests hand in an engine, or a connection inside a transaction they roll back.
    ``authenticate`` turns a request into a principal (tests may pass their own).
    ``sync_queue`` is where ``runSync`` queues runs (default: the procrastinate job queue in the database).
    """
    settings = settings or Settings()
    authenticate = remembered(authenticate)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.profile is not Profile.test:
            # Here, not at import: after uvicorn has installed its handlers, so JSON replaces them.
            configure_logging(settings.log_level)
        configure_tracing(settings)
        engine: AsyncEngine | None = None
        if bind is None:
            urls = await resolve_urls(settings)
            engine = make_engine(urls.app, pool_size=settings.db_pool_size,
                                 max_overflow=settings.db_max_overflow)
        owned_queue = ProcrastinateQueue(settings) if sync_queue is None else None
        app.state.hub = HubState(settings, make_sessionmaker(bind or engine),  # type: ignore[arg-type]
                                 sync_queue or owned_queue)
        app.state.engine = engine or (bind if isinstance(bind, AsyncEngine) else None)
        app.state.auth = AuthState.from_settings(settings)
        try:
            yield
        finally:
            await app.state.auth.aclose()
            writer = getattr(app.state, "audit_writer", None)
            if writer is not None:
                await writer.aclose()
            if owned_queue is not None:
                await owned_queue.aclose()
            if engine is not None:
                await engine.dispose()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        state: HubState = request.app.state.hub
        expected = head_revision()
        try:
            async with state.sessionmaker() as session:
                current = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        except Exception as exc:  # any failure to reach or read the database means "not ready"
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
        if current != expected:
            return JSONResponse({"status": "migrations_pending", "current": current, "head": expected},
                                status_code=503)
        return JSONResponse({"status": "ready", "revision": current})

    schema = build_schema(settings)
    graphql = DirectGraphQL(schema, HubGraphQL(schema, settings, authenticate), rules=validation_rules(settings),
                            max_tokens=settings.graphql_max_tokens, authenticate=authenticate,
                            # Tracing wraps strawberry's steps in spans: with it on, every request takes that path.
                            enabled=not tracing_extensions(settings))
    routes = [
        # First: the router tries the routes in order, and nearly every request is for /graphql.
        Route("/graphql", BodyLimit(graphql, settings.graphql_max_body_bytes), methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint(settings)),
        Route("/oauth/token", token_endpoint, methods=["POST"]),
        *dashboard_routes(),
    ]
    middleware = [Middleware(RequestIdMiddleware), cors(settings), Middleware(AuthGate, authenticate=authenticate)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
