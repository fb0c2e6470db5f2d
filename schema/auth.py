"""The HTTP side of access control: bearer authentication, the OAuth 2.0 token endpoint, CORS, rate limits.

Every token failure is answered by ``AuthGate`` with the same 401 body, whatever the reason; the
reason goes to the log only. The gate also charges the caller's rate-limit budget (requests here,
returned records in ``schema.audit``) before any GraphQL runs.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.principal import Principal
from auth.ratelimit import RateLimiter, rate_key
from auth.tokens import InvalidToken, TokenIssuer, TokenVerifier
from hub import tokens as hub_tokens
from hub.audit import service as audit_service
from hub.clients import service as client_service
from hub.config import Settings
from schema.audit import audit_writer

log = logging.getLogger(__name__)

Authenticate = Callable[[Request], Awaitable[Principal | None]]
PRINCIPAL_KEY = "slrt.principal"
MAX_FORM_BYTES = 8192
UNAUTHORIZED_BODY = {"error": "invalid_token", "error_description": "The access token is not valid."}
RATE_LIMITED_BODY = {"error": "rate_limited", "error_description": "Too many requests; retry later."}


@dataclass
class AuthState:
    verifier: TokenVerifier
    issuer: TokenIssuer | None
    limiter: RateLimiter
    http: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthState:
        http = httpx.AsyncClient(timeout=5.0, follow_redirects=False) if settings.jwks_url else None
        return cls(
            verifier=hub_tokens.verifier(settings, http),
            issuer=hub_tokens.issuer(settings),
            limiter=RateLimiter(settings.rate_limit_requests_per_minute, settings.rate_limit_objects_per_minute),
            http=http,
        )

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()


async def bearer_authenticate(request: Request) -> Principal | None:
    """``Authorization: Bearer <JWT>`` -> a principal; no header -> ``None``; anything else -> ``InvalidToken``."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("not a bearer token")
    state: AuthState = request.app.state.auth
    return await state.verifier.verify(token.strip())


def remembered(authenticate: Authenticate) -> Authenticate:
    """Authenticate once per request: the gate and the GraphQL context share the result."""

    async def once(request: Request) -> Principal | None:
        if PRINCIPAL_KEY not in request.scope:
            request.scope[PRINCIPAL_KEY] = await authenticate(request)
        principal: Principal | None = request.scope[PRINCIPAL_KEY]
        return principal

    return once


def request_rate_key(principal: Principal | None, request: Request) -> str:
    return rate_key(principal, request.client.host if request.client else None)


def unauthorized() -> JSONResponse:
    return JSONResponse(UNAUTHORIZED_BODY, status_code=401,
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"', "Cache-Control": "no-store"})


def rate_limited(retry_after: int) -> JSONResponse:
    return JSONResponse(RATE_LIMITED_BODY, status_code=429, headers={"Retry-After": str(retry_after)})


async def record_rejected_token(request: Request) -> None:
    """A refused token is an attempt at access: it goes into the access log too (nothing is returned anyway)."""
    settings: Settings = request.app.state.hub.settings
    if not settings.audit_reads:
        return
    access = audit_service.Access(principal=None, outcome="denied", error_codes=["INVALID_TOKEN"],
                                  source_ip=request.client.host if request.client else None)
    try:
        await audit_writer(request).write(access)
    except Exception:  # the caller gets its 401 regardless; the failure must reach the operators
        log.exception("could not record a refused token in the access log")


class AuthGate:
    """ASGI middleware: 401 for a bad token, 429 over budget, before the GraphQL app sees the request."""

    def __init__(self, app: ASGIApp, authenticate: Authenticate, paths: tuple[str, ...] = ("/graphql",),
                 anonymous_paths: tuple[str, ...] = ("/oauth/token",)) -> None:
        self.app = app
        self.authenticate = authenticate
        self.paths = paths
        self.anonymous_paths = anonymous_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or (path not in self.paths and path not in self.anonymous_paths):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        principal = None
        if path in self.paths:
            try:
                principal = await self.authenticate(request)
            except InvalidToken as exc:
                log.info("rejected bearer token from %s: %s", request_rate_key(None, request), exc.reason)
                response: Response = unauthorized()
                retry_after = request.app.state.auth.limiter.hit(request_rate_key(None, request))
                if retry_after is not None:
                    response = rate_limited(retry_after)
                else:
                    await record_rejected_token(request)
                await response(scope, receive, send)
                return
        limiter: RateLimiter = request.app.state.auth.limiter
        retry_after = limiter.hit(request_rate_key(principal, request))
        if retry_after is not None:
            await rate_limited(retry_after)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Cors(CORSMiddleware):
    """Starlette's CORS middleware, with a short way for the requests that send no ``Origin`` (servers,
    scripts, the benchmark: most API calls).

    For those Starlette's ``send`` only adds ``Origin`` to the response's ``Vary``, through a ``Headers``,
    a partial and a ``MutableHeaders`` per request; ``_vary_origin`` does exactly that on the raw headers
    (tests/schema/test_cors.py compares the two). Requests with an ``Origin`` go through Starlette's code."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            async def send_varying(message: Message) -> None:
                if message["type"] == "http.response.start":
                    _vary_origin(message)
                await send(message)

            await self.app(scope, receive, send_varying)
            return
        await super().__call__(scope, receive, send)


def _vary_origin(message: Message) -> None:
    """``MutableHeaders(scope=message)["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])``: the
    headers copied into a new list, their ``vary`` values joined with ``Origin`` into the first one's
    place (or appended), the others dropped."""
    headers = message["headers"] = list(message.get("headers", []))
    found = [index for index, (name, _) in enumerate(headers) if name == b"vary"]
    value = b", ".join([*(headers[index][1] for index in found), b"Origin"])
    for index in reversed(found[1:]):
        del headers[index]
    if found:
        headers[found[0]] = (b"vary", value)
    else:
        headers.append((b"vary", value))


def cors(settings: Settings) -> Middleware:
    # An explicit allow-list: Starlette echoes an Origin only when it is on the list. No credentials,
    # since the API is called with bearer tokens and never with cookies.
    return Middleware(
        Cors,
        allow_origins=[o for o in settings.cors_origins if o != "*"],
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        allow_credentials=False,
        max_age=600,
    )


# --- OAuth 2.0 token endpoint (RFC 6749 section 4.4, client credentials) ---------------------------

def _oauth_error(error: str, status: int = 400, description: str | None = None,
                 headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": error} | ({"error_description": description} if description else {})
    return JSONResponse(body, status_code=status,
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})})


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


async def token_endpoint(request: Request) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _oauth_error("invalid_request", description="use application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _oauth_error("invalid_request", description="request too large")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        return _oauth_error("invalid_request", description="malformed form body")
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        return _oauth_error("invalid_request", description="repeated parameter")
    form: dict[str, Any] = dict(pairs)
    grant_type = form.get("grant_type")
    if not grant_type:
        return _oauth_error("invalid_request", description="grant_type is required")
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type")
    basic = request.headers.get("authorization")
    credentials = _basic_credentials(basic) if basic else None
    if basic and credentials is None:
        return _oauth_error("invalid_client", 401, headers={"WWW-Authenticate": 'Basic realm="slrt-hub"'})
    if credentials and ("client_id" in form or "client_secret" in form):
        return _oauth_error("invalid_request", description="use one client authentication method")
    if credentials is None:
        if not form.get("client_id") or not form.get("client_secret"):
            return _oauth_error("invalid_client", 401, headers={"WWW-Authenticate": 'Basic realm="slrt-hub"'})
        credentials = (form["client_id"], form["client_secret"])
    state: AuthState = request.app.state.auth
    if state.issuer is None:
        return _oauth_error("temporarily_unavailable", 503, description="no signing key is configured")
    async with request.app.state.hub.sessionmaker() as session:
        principal = await client_service.authenticate(session, *credentials)
    if principal is None:
        log.info("token endpoint refused client %r", credentials[0][:64])
        return _oauth_error("invalid_client", 401, headers={"WWW-Authenticate": 'Basic realm="slrt-hub"'})
    settings: Settings = request.app.state.hub.settings
    token = state.issuer.mint(subject=principal.subject, role=principal.role, regions=principal.scope.codes,
                              programmes=principal.programmes, client_id=principal.client_id,
                              purpose=principal.purpose, ttl=settings.token_ttl_seconds)
    return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": settings.token_ttl_seconds},
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
