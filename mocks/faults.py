"""Fault injection, set per server from config or at run time through ``/_admin/faults``.

Per request, one draw picks at most one fault among the enabled kinds (rates add up, so
``error_rate=0.05`` plus five other kinds at ``0.03`` fault 20 % of requests). Invalid records are
chosen per record by a stable hash instead, so a bad record stays bad however often it is fetched,
as bad data in a real source does.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass, fields
from email.utils import formatdate
from enum import StrEnum
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class Fault(StrEnum):
    error = "error"  # HTTP 503
    rate_limit = "rate_limit"  # HTTP 429 with Retry-After
    truncate = "truncate"  # body cut short
    malformed = "malformed"  # body that is not JSON
    duplicate_page = "duplicate_page"  # the previous page again
    out_of_order = "out_of_order"  # the page after the one asked for


@dataclass
class FaultConfig:
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    truncate_rate: float = 0.0
    malformed_rate: float = 0.0
    duplicate_page_rate: float = 0.0
    out_of_order_rate: float = 0.0
    invalid_record_rate: float = 0.0
    latency_ms: int = 0
    retry_after_s: int = 1
    retry_after_http_date: bool = False
    seed: int = 0

    def update(self, data: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"unknown fault setting {key!r}")
            setattr(self, key, type(getattr(self, key))(value))

    @classmethod
    def uniform(cls, total: float, *, invalid_record_rate: float = 0.0, retry_after_s: int = 0) -> FaultConfig:
        """``total`` spread evenly over the six request faults."""
        share = total / 6
        return cls(error_rate=share, rate_limit_rate=share, truncate_rate=share, malformed_rate=share,
                   duplicate_page_rate=share, out_of_order_rate=share,
                   invalid_record_rate=invalid_record_rate, retry_after_s=retry_after_s)


class Faults:
    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self.rng = random.Random(self.config.seed)
        self.injected: dict[str, int] = {}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self.config), "injected": dict(self.injected)}

    def draw(self, *, paged: bool) -> Fault | None:
        c = self.config
        table = [(Fault.error, c.error_rate), (Fault.rate_limit, c.rate_limit_rate),
                 (Fault.truncate, c.truncate_rate), (Fault.malformed, c.malformed_rate),
                 (Fault.duplicate_page, c.duplicate_page_rate), (Fault.out_of_order, c.out_of_order_rate)]
        r = self.rng.random()
        for fault, rate in table:
            if r < rate:
                if not paged and fault in (Fault.duplicate_page, Fault.out_of_order):
                    return None
                self.injected[fault] = self.injected.get(fault, 0) + 1
                return fault
            r -= rate
        return None

    def invalid(self, key: str) -> bool:
        rate = self.config.invalid_record_rate
        if rate <= 0:
            return False
        digest = hashlib.sha256(f"{self.config.seed}:{key}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < rate

    async def delay(self) -> None:
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)

    def error_response(self, fault: Fault) -> Response | None:
        if fault is Fault.error:
            return JSONResponse({"error": "service unavailable (injected)"}, status_code=503)
        if fault is Fault.rate_limit:
            return JSONResponse({"error": "too many requests (injected)"}, status_code=429,
                                headers={"Retry-After": retry_after_value(self.config.retry_after_s,
                                                                          self.config.retry_after_http_date)})
        return None

    def mangle(self, fault: Fault | None, body: bytes) -> bytes:
        if fault is Fault.truncate:
            return body[: max(1, int(len(body) * self.rng.uniform(0.1, 0.9)))]
        if fault is Fault.malformed:
            if self.rng.random() < 0.5:
                return b"<html><body>502 Bad Gateway</body></html>"
            return body.replace(b":", b"=", 1)
        return body


def retry_after_value(seconds: int, http_date: bool) -> str:
    if not http_date:
        return str(seconds)
    return formatdate(time.time() + seconds, usegmt=True)


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def admin_faults(request: Request) -> Response:
    """GET shows the fault settings and what was injected; PUT/POST changes them."""
    faults: Faults = request.app.state.faults
    if request.headers.get("X-Admin-Token") != request.app.state.admin_token:
        return JSONResponse({"error": "admin token required"}, status_code=401)
    if request.method != "GET":
        try:
            faults.config.update(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        faults.rng = random.Random(faults.config.seed)
    return JSONResponse(faults.as_dict())
