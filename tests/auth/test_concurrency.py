"""200 concurrent requests from two regions over a pool of 5 connections: no caller sees the other's rows.

The scope lives in a transaction-local setting, so a pooled connection must never carry one
caller's regions into the next caller's transaction. Data here is committed (a real pool cannot
see another connection's open transaction) and removed at the end.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

import schema.app as schema_app
from auth.principal import Principal, Role
from hub.config import Settings
from hub.db.engine import make_sessionmaker, set_scope
from hub.models import AccessLog, Household
from schema.ids import parse_global_id, to_global_id
from tests.fixtures.factories import make_household, make_person

VILLAGES = ("33.14.01.2001", "33.14.02.2001")
QUERY = "{ households { id villageCode members { id nik } } }"


@pytest.fixture
async def committed_households(owner_engine: AsyncEngine) -> AsyncIterator[dict[str, set[str]]]:
    tag = uuid.uuid4().hex[:8]
    by_village: dict[str, set[str]] = {v: set() for v in VILLAGES}
    async with make_sessionmaker(owner_engine)() as session, session.begin():
        await set_scope(session, Principal.system("tests"))
        for village in VILLAGES:
            for n in range(3):
                home = await make_household(session, village, address=f"conc-{tag}-{n}")
                await make_person(session, home)
                by_village[village].add(to_global_id("Household", home.id))
    yield by_village
    async with make_sessionmaker(owner_engine)() as session, session.begin():
        await set_scope(session, Principal.system("tests"))
        await session.execute(delete(Household).where(Household.address.like(f"conc-{tag}-%")))


async def test_no_cross_over_under_concurrency(
    app_engine: AsyncEngine, auth_settings: Settings, mint: Callable[..., str], fake_api: None,
    committed_households: dict[str, set[str]],
) -> None:
    assert app_engine.pool.size() == 5  # type: ignore[attr-defined]
    app = schema_app.create_app(auth_settings.model_copy(update={"rate_limit_requests_per_minute": 10_000}),
                                bind=app_engine)
    tokens = {v: mint(Role.facilitator, [v], subject=f"conc-{v}") for v in VILLAGES}

    async def one(n: int, client: httpx.AsyncClient) -> tuple[str, Any]:
        village = VILLAGES[n % 2]
        response = await client.post("/graphql", json={"query": QUERY},
                                     headers={"authorization": f"Bearer {tokens[village]}"})
        return village, response.json()

    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        results = await asyncio.gather(*(one(n, client) for n in range(200)))

    crossed = []
    for village, body in results:
        assert "errors" not in body, body
        ids = {h["id"] for h in body["data"]["households"]}
        codes = {h["villageCode"] for h in body["data"]["households"]}
        if codes != {village} or not committed_households[village] <= ids:
            crossed.append((village, codes))
        other = VILLAGES[1 - VILLAGES.index(village)]
        if ids & committed_households[other]:
            crossed.append((village, "saw", other))
    assert crossed == []
    assert len(results) == 200

    # No pooled connection kept a caller's scope: without set_scope every one of them sees nothing.
    async def probe() -> tuple[object, int]:
        async with app_engine.connect() as conn:
            setting = (await conn.execute(text("SELECT current_setting('slrt.scope', true)"))).scalar()
            visible = (await conn.execute(text("SELECT count(*) FROM households"))).scalar_one()
            await asyncio.sleep(0.05)  # hold the connection so the five probes use five connections
            return setting, visible
    probes = await asyncio.gather(*(probe() for _ in range(5)))
    assert all(setting in (None, "") and visible == 0 for setting, visible in probes), probes

    # Each request's audit entry names only its own region's households.
    async with make_sessionmaker(app_engine)() as session:
        for village in VILLAGES:
            rows = (await session.execute(select(AccessLog.household_ids, AccessLog.scope).where(
                AccessLog.actor == f"conc-{village}"))).all()
            assert len(rows) == 100
            assert all(scope == [village] for _, scope in rows)
            own = {parse_global_id(g)[1] for g in committed_households[village]}
            assert all(set(ids) == own for ids, _ in rows)
