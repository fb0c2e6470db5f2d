"""CORS allow-list and per-client rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from hub.config import Settings

QUERY = {"query": "{ regions { code } }"}


async def test_cors_echoes_only_allowed_origins(make_client: Callable[..., Any]) -> None:
    client: httpx.AsyncClient = await make_client()
    allowed = await client.post("/graphql", json=QUERY, headers={"origin": "https://dashboard.example.id"})
    assert allowed.headers["access-control-allow-origin"] == "https://dashboard.example.id"
    assert "access-control-allow-credentials" not in allowed.headers
    evil = await client.post("/graphql", json=QUERY, headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers
    preflight = await client.options("/graphql", headers={
        "origin": "https://evil.example", "access-control-request-method": "POST",
        "access-control-request-headers": "authorization"})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    good_preflight = await client.options("/graphql", headers={
        "origin": "https://dashboard.example.id", "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type"})
    assert good_preflight.status_code == 200
    assert good_preflight.headers["access-control-allow-origin"] == "https://dashboard.example.id"
    assert "access-control-allow-credentials" not in good_preflight.headers


async def test_requests_over_budget_get_429_with_retry_after(
    make_client: Callable[..., Any], auth_settings: Settings, mint: Callable[..., str]
) -> None:
    limited_settings = auth_settings.model_copy(update={"rate_limit_requests_per_minute": 3})
    client: httpx.AsyncClient = await make_client(limited_settings)
    alice = {"authorization": f"Bearer {mint(subject='alice')}"}
    bob = {"authorization": f"Bearer {mint(subject='bob')}"}
    statuses = [(await client.post("/graphql", json=QUERY, headers=alice)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = await client.post("/graphql", json=QUERY, headers=alice)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"] == "rate_limited"
    # Budgets are per caller: another subject is unaffected.
    assert (await client.post("/graphql", json=QUERY, headers=bob)).status_code == 200


def test_rate_limiter_window_and_objects() -> None:
    from auth.ratelimit import RateLimiter

    now = [120.0]
    limiter = RateLimiter(requests_per_minute=100, objects_per_minute=10, clock=lambda: now[0])
    assert limiter.hit("a") is None
    limiter.charge_objects("a", 10)
    now[0] = 150.0
    assert limiter.hit("a") == 30
    assert limiter.hit("b") is None
    now[0] = 180.0
    assert limiter.hit("a") is None
