from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

from mocks.ministry.schema import build_schema


def create_app() -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[
        Route("/healthz", healthz),
        Route("/graphql", GraphQL(build_schema(), graphql_ide=None), methods=["GET", "POST"]),
    ])
