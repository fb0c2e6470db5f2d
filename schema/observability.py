"""Request ids, per-operation logs and metrics, GraphQL error accounting, and ``/metrics``.

Log lines carry the request id, the principal's subject and role and the operation's name; never
variables, arguments or error messages (see hub/logs.py for why).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Iterator
from time import perf_counter
from typing import Any

import strawberry
import structlog
from graphql import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from hub.config import Settings
from hub.errors import HubError
from hub.logs import HotLogger
from hub.metrics import GRAPHQL_ERRORS, GRAPHQL_LATENCY, GRAPHQL_REQUESTS, operation_label, set_pool_gauges

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER_RAW = REQUEST_ID_HEADER.encode()
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# Two lines per request (http.request, graphql.operation): a logger built once per logging configuration.
log = HotLogger("slrt.api")


class RequestIdMiddleware:
    """Give every request an id (the caller's ``X-Request-ID`` when well formed, else a new one),
    bind it to every log line written while handling it, echo it back, and log the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered_raw = b""
        for name, value in scope["headers"]:
            if name == _REQUEST_ID_HEADER_RAW:
                offered_raw = value  # the last one, as a dict of the headers would keep
        offered = offered_raw.decode("latin-1")
        request_id = offered if _VALID_REQUEST_ID.match(offered) else new_request_id()
        status = 500
        started = perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        # What ``structlog.contextvars.bound_contextvars`` does, without a generator-based context manager.
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # The path only: a GET query string can hold GraphQL variables.
            log.info("http.request", method=scope["method"], path=scope["path"], status=status,
                     duration_ms=round((perf_counter() - started) * 1000, 2))
            structlog.contextvars.reset_contextvars(**tokens)


def new_request_id() -> str:
    """What ``uuid.uuid4().hex`` returns (16 random bytes, the version-4 and variant bits set), without
    building a ``uuid.UUID`` on every request."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    return raw.hex()


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, HubError):
        return original.code
    if original is None or error.path is None:
        # Parse, validation and variable coercion: raised before execution, so no path. The
        # request was wrong, not the hub.
        return "GRAPHQL_VALIDATION_FAILED"
    return "INTERNAL"


class OperationObserver(SchemaExtension):
    """One log line and one latency sample per GraphQL operation."""

    def on_operation(self) -> Iterator[None]:
        started = perf_counter()
        yield
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except Exception:  # an unparsable document has no operation type
            kind = "unknown"
        result = context.result
        observe_operation(context.operation_name, kind, getattr(context.context, "principal", None),
                          (result.errors or []) if result is not None else [], perf_counter() - started)


def observe_operation(name: str | None, kind: str, principal: Any, errors: Iterable[GraphQLError],
                      elapsed: float) -> None:
    """One log line and one latency sample per GraphQL operation (strawberry's view and the direct path)."""
    label = operation_label(name)
    GRAPHQL_REQUESTS.labels(label, kind).inc()
    GRAPHQL_LATENCY.labels(label).observe(elapsed)
    log.info("graphql.operation", operation=label, operation_type=kind,
             subject=principal.subject if principal else None, role=principal.role.value if principal else None,
             duration_ms=round(elapsed * 1000, 2), error_codes=sorted({error_code(e) for e in errors}))


class HubSchema(strawberry.federation.Schema):
    """The federation schema with error accounting that never logs an error's message."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            code = error_code(error)
            GRAPHQL_ERRORS.labels(code).inc()
            path = [str(p) for p in error.path or []]
            if code == "INTERNAL":
                log.error("graphql.error", code=code, path=path, exc_info=error.original_error)
            else:
                log.info("graphql.error", code=code, path=path)


def metrics_endpoint(settings: Settings) -> Any:
    """``/metrics`` in Prometheus text format.

    With ``SLRT_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>`` gets in. Without it the
    endpoint is open in dev and test and absent (404) in prod, so production never exposes it by
    accident.
    """
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    async def metrics(request: Request) -> Response:
        if token is None and not settings.is_dev:
            return PlainTextResponse("Not Found", status_code=404)
        if token is not None:
            offered = request.headers.get("authorization", "")
            if not secrets.compare_digest(offered.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse("Unauthorized", status_code=401,
                                         headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        engine: AsyncEngine | None = getattr(request.app.state, "engine", None)
        if engine is not None:
            pool: Any = engine.sync_engine.pool
            if hasattr(pool, "checkedout"):
                set_pool_gauges(pool.size(), pool.checkedout(), max(pool.overflow(), 0))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return metrics
