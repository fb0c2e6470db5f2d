"""The one place that wires the application: settings, database, GraphQL, health routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.tools import merge_types

from auth.principal import Principal
from hub.config import Settings
from hub.db.engine import make_engine, make_sessionmaker, resolve_urls
from hub.db.migrate import head_revision
from schema.analytics import AnalyticsQuery
from schema.context import Context
from schema.dashboard import routes as dashboard_routes
from schema.query import Query


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(query=merge_types("Query", (Query, AnalyticsQuery)))


@dataclass
class HubState:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]


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
                       sessionmaker=state.sessionmaker, principal=principal)


def create_app(
    settings: Settings | None = None,
    *,
    bind: AsyncEngine | AsyncConnection | None = None,
    authenticate: Authenticate = anonymous,
) -> Starlette:
    """Build the ASGI app.

    ``bind`` lets tests hand in an engine, or a connection inside a transaction they roll back.
    ``authenticate`` turns a request into a principal (tests may pass their own).
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine: AsyncEngine | None = None
        if bind is None:
            urls = await resolve_urls(settings)
            engine = make_engine(urls.app, pool_size=settings.db_pool_size,
                                 max_overflow=settings.db_max_overflow)
        app.state.hub = HubState(settings, make_sessionmaker(bind or engine))  # type: ignore[arg-type]
        try:
            yield
        finally:
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

    graphql = HubGraphQL(build_schema(), settings, authenticate)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        *dashboard_routes(),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
