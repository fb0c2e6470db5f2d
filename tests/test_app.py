from __future__ import annotations

import gc
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Settings
from hub.db.migrate import head_revision
from schema.app import create_app, settle_heap


@pytest.fixture
async def client(settings: Settings, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, bind=connection)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield client


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_head_revision(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["revision"] == head_revision()


async def test_graphql_serves_regions(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": '{ region(code: "33.14") { name level parentCode } }'})
    assert response.status_code == 200
    assert response.json() == {"data": {"region": {"name": "Kabupaten Sragen", "level": 2, "parentCode": "33"}}}


def test_a_serving_process_freezes_its_start_up_heap() -> None:
    thresholds = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (10_000, 20, 50)
    finally:
        gc.unfreeze()  # this test process goes on; tools in it look objects up through the collector
        gc.set_threshold(*thresholds)
