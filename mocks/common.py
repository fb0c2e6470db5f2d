"""What every mock server shares: credentials checks, the OAuth token endpoint, the fault-aware response."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mocks.faults import Fault, Faults, json_bytes


@dataclass
class Credentials:
    """Accepted credentials: API keys (sent in ``header``) and/or OAuth clients (id -> secret)."""

    header: str = "X-API-Key"
    api_keys: set[str] = field(default_factory=set)
    oauth_clients: dict[str, str] = field(default_factory=dict)
    token_ttl: int = 3600
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    def client_of(self, request: Request) -> str | None:
        """The caller's identity (client id or a key label), or None when the credentials are wrong."""
        if self.api_keys:
            key = request.headers.get(self.header)
            if key in self.api_keys:
                return f"key:{key[:4]}"
        auth = request.headers.get("Authorization", "")
        if self.oauth_clients and auth.startswith("Bearer "):
            entry = self.tokens.get(auth[7:])
            if entry and entry[1] > time.monotonic():
                return entry[0]
        return None


def unauthorized() -> Response:
    return JSONResponse({"error": "invalid or missing credentials"}, status_code=401)


async def token_endpoint(request: Request) -> Response:
    creds: Credentials = request.app.state.credentials
    # Parsed by hand: Starlette's form parser needs python-multipart, not worth a dependency here.
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    expected = creds.oauth_clients.get(client_id)
    if expected is None or not secrets.compare_digest(expected, secret):
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    token = secrets.token_urlsafe(24)
    creds.tokens[token] = (client_id, time.monotonic() + creds.token_ttl)
    return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": creds.token_ttl})


async def guard(request: Request, *, paged: bool) -> tuple[Response | None, Fault | None, str | None]:
    """Latency, credentials, then one fault draw. Returns (early response, fault to apply, client)."""
    faults: Faults = request.app.state.faults
    await faults.delay()
    client = request.app.state.credentials.client_of(request)
    if client is None:
        return unauthorized(), None, None
    fault = faults.draw(paged=paged)
    if fault is not None and (early := faults.error_response(fault)) is not None:
        return early, fault, client
    return None, fault, client


def respond(request: Request, payload: Any, fault: Fault | None, status_code: int = 200) -> Response:
    faults: Faults = request.app.state.faults
    return Response(faults.mangle(fault, json_bytes(payload)), status_code=status_code,
                    media_type="application/json")


def page_shift(fault: Fault | None) -> int:
    if fault is Fault.duplicate_page:
        return -1
    if fault is Fault.out_of_order:
        return 1
    return 0


async def status(request: Request) -> Response:
    response, fault, _ = await guard(request, paged=False)
    return response or respond(request, {"status": "OK"}, fault)


def digits(code: str) -> str:
    return code.replace(".", "")


def int_param(request: Request, name: str, default: int, low: int = 0, high: int = 10_000) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = int(raw)  # a ValueError becomes a 400 in the exception handler
    if not low <= value <= high:
        raise ValueError(f"{name} must be within {low}..{high}")
    return value


async def bad_request(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=400)
