"""Mock Dukcapil: NIK verification by per-field match, OAuth2 client credentials, a per-client quota.

Answers only ``SESUAI`` / ``TIDAK SESUAI`` per field with a similarity score, a reference and a
time; never the civil-registry data. Over quota: 429 with ``Retry-After`` until the window resets.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from difflib import SequenceMatcher

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mocks.common import Credentials, bad_request, guard, respond, status, token_endpoint
from mocks.faults import FaultConfig, Faults, admin_faults, retry_after_value
from mocks.world import World


class Quota:
    """A fixed window per client: ``limit`` calls per ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.used: dict[str, tuple[float, int]] = {}
        self.calls: dict[str, int] = {}
        self.refused = 0

    def take(self, client: str) -> float | None:
        """None when allowed, else seconds until the window resets."""
        now = time.monotonic()
        start, count = self.used.get(client, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        if count >= self.limit:
            self.refused += 1
            return self.window - (now - start)
        self.used[client] = (start, count + 1)
        self.calls[client] = self.calls.get(client, 0) + 1
        return None


def similarity(a: str, b: str) -> float:
    return round(SequenceMatcher(None, a.casefold().strip(), b.casefold().strip()).ratio() * 100, 1)


def field(score: float, threshold: float = 90.0) -> dict[str, object]:
    return {"status": "SESUAI" if score >= threshold else "TIDAK SESUAI", "skor": score}


async def verify(request: Request) -> Response:
    early, fault, client = await guard(request, paged=False)
    if early is not None:
        return early
    quota: Quota = request.app.state.quota
    wait = quota.take(client or "")
    if wait is not None:
        faults: Faults = request.app.state.faults
        return JSONResponse({"error": "kuota terlampaui"}, status_code=429,
                            headers={"Retry-After": retry_after_value(max(1, round(wait + 0.5)),
                                                                      faults.config.retry_after_http_date)})
    body = await request.json()
    nik = str(body.get("NIK", ""))
    if not nik.isdigit() or len(nik) != 16:
        return JSONResponse({"error": "NIK harus 16 digit"}, status_code=422)
    try:
        birth = datetime.strptime(str(body.get("TGL_LHR", "")), "%d-%m-%Y").date()
    except ValueError:
        return JSONResponse({"error": "TGL_LHR harus DD-MM-YYYY"}, status_code=422)
    world: World = request.app.state.world
    person = world.persons.get(nik)
    ref = f"DKP-{uuid.uuid4().hex[:16].upper()}"
    when = datetime.now(UTC).isoformat()
    if person is None:
        hasil: dict[str, object] = {"NIK": "TIDAK DITEMUKAN", "NAMA_LGKP": field(0.0), "TGL_LHR": field(0.0),
                                    "TMPT_LHR": field(0.0)}
    else:
        hasil = {
            "NIK": "DITEMUKAN",
            "NAMA_LGKP": field(similarity(person.name, str(body.get("NAMA_LGKP", "")))),
            "TGL_LHR": field(100.0 if person.birth_date == birth else 0.0),
            "TMPT_LHR": field(similarity(person.birth_place, str(body.get("TMPT_LHR", "")))),
        }
    return respond(request, {"ref_id": ref, "waktu": when, "hasil": hasil}, fault)


async def usage(request: Request) -> Response:
    if request.headers.get("X-Admin-Token") != request.app.state.admin_token:
        return JSONResponse({"error": "admin token required"}, status_code=401)
    return JSONResponse({"calls": request.app.state.quota.calls})


def create_app(world: World, credentials: Credentials, faults: FaultConfig | None = None,
               admin_token: str = "admin", quota: int = 600, quota_window: float = 60.0) -> Starlette:
    app = Starlette(routes=[
        Route("/oauth/token", token_endpoint, methods=["POST"]),
        Route("/api/v1/status", status),
        Route("/api/v1/verifikasi-nik", verify, methods=["POST"]),
        Route("/_admin/faults", admin_faults, methods=["GET", "PUT", "POST"]),
        Route("/_admin/usage", usage),
    ], exception_handlers={ValueError: bad_request})
    app.state.world = world
    app.state.credentials = credentials
    app.state.faults = Faults(faults)
    app.state.admin_token = admin_token
    app.state.quota = Quota(quota, quota_window)
    return app
