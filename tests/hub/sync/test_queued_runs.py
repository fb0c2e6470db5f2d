"""runSync over HTTP queues the run and returns at once; a procrastinate worker runs it (queued -> running ->
succeeded); one run per connector while one is queued or running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from auth.principal import Principal, RegionScope, Role
from hub.config import Profile, Settings
from hub.sync import engine as sync_engine_module
from hub.sync.jobs import ProcrastinateQueue, ensure_queue_schema, make_app
from hub.sync.repository import LOCK_NAMESPACE
from schema.app import create_app
from schema.ids import from_global_id, to_global_id
from tests.hub.sync.conftest import Harness

ADMIN = Principal("it-1", Role.district_it_admin, RegionScope.of("33.14"))
RUN = """mutation($id: ID!) { runSync(id: $id) { __typename
    ... on SyncRun { id status fetched } ... on UserError { code message } } }"""
RUNS = "query($id: ID!) { connector(id: $id) { runs { nodes { id status fetched inserted } } } }"


@pytest.fixture
async def client(sync_engine: AsyncEngine, sync_database: dict[str, str], harness: Harness,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    # The worker task reads its settings from the environment, like `slrt-hub worker`.
    monkeypatch.setenv("SLRT_PROFILE", "test")
    monkeypatch.setenv("SLRT_DATABASE_URL", sync_database["owner"])
    monkeypatch.setenv("SLRT_APP_DATABASE_URL", sync_database["app"])
    await ensure_queue_schema(sync_database["owner"])
    async with sync_engine.connect() as conn:
        await conn.execute(text("DELETE FROM procrastinate_jobs"))
        await conn.commit()
    settings = Settings(profile=Profile.test, database_url=sync_database["owner"],
                        app_database_url=sync_database["app"], data_dir=harness.settings.data_dir)
    queue = ProcrastinateQueue(settings)

    async def authenticate(request: Request) -> Principal | None:
        return ADMIN

    app = create_app(settings, bind=sync_engine, authenticate=authenticate, sync_queue=queue)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as http:
            yield http
    finally:
        await queue.aclose()


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    return dict(response.json()["data"])


async def test_run_sync_queues_and_a_worker_runs_it(client: httpx.AsyncClient, harness: Harness,
                                                    sync_database: dict[str, str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    connector = await harness.connector("siks-ng")
    connector_id = to_global_id("Connector", connector.id)

    queued = (await gql(client, RUN, id=connector_id))["runSync"]
    assert (queued["__typename"], queued["status"], queued["fetched"]) == ("SyncRun", "QUEUED", 0)
    assert await harness.scalar("SELECT count(*) FROM households") == 0  # nothing ran inside the request
    assert await harness.scalar("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'") == 1

    again = (await gql(client, RUN, id=connector_id))["runSync"]
    assert again["code"] == "SYNC_IN_PROGRESS"
    assert queued["id"] in again["message"]
    assert await harness.scalar("SELECT count(*) FROM procrastinate_jobs") == 1

    # Watch the run's status from outside while the worker pulls its first page.
    seen: list[str] = []
    fetch = sync_engine_module.SyncEngine._fetch

    async def watching(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(await harness.scalar("SELECT status FROM sync_runs WHERE id = :id",
                                         id=from_global_id(queued["id"], "SyncRun")))
        return await fetch(self, *args, **kwargs)

    monkeypatch.setattr(sync_engine_module.SyncEngine, "_fetch", watching)
    worker = make_app(sync_database["app"])
    async with worker.open_async():
        await worker.run_worker_async(queues=["sync"], wait=False, install_signal_handlers=False)
    assert seen
    assert set(seen) == {"running"}

    runs = (await gql(client, RUNS, id=connector_id))["connector"]["runs"]["nodes"]
    households = len(harness.mocks.world.households)
    assert runs == [{"id": queued["id"], "status": "SUCCEEDED", "fetched": households, "inserted": households}]
    assert await harness.scalar("SELECT count(*) FROM households") == households
    assert await harness.scalar("SELECT status FROM procrastinate_jobs WHERE task_name = 'hub:sync.run_connector'") \
        == "succeeded"

    # Finished: the next request queues again.
    assert (await gql(client, RUN, id=connector_id))["runSync"]["status"] == "QUEUED"


async def test_run_sync_while_a_worker_holds_the_lock_is_refused(client: httpx.AsyncClient, harness: Harness,
                                                                  sync_engine: AsyncEngine) -> None:
    connector = await harness.connector("siks-ng")
    async with sync_engine.connect() as holder:  # a run started by hand (`slrt-hub sync`) holds the run lock
        await holder.execute(text("BEGIN"))
        assert await holder.scalar(text("SELECT pg_try_advisory_xact_lock(:ns, hashtext(:key))"),
                                   {"ns": LOCK_NAMESPACE, "key": str(connector.id)})
        refused = (await gql(client, RUN, id=to_global_id("Connector", connector.id)))["runSync"]
        await holder.rollback()
    assert refused["code"] == "SYNC_IN_PROGRESS"
    assert await harness.scalar("SELECT count(*) FROM sync_runs") == 0
    assert await harness.scalar("SELECT count(*) FROM procrastinate_jobs") == 0
    # Lock released: queued normally.
    ran = (await gql(client, RUN, id=to_global_id("Connector", connector.id)))["runSync"]
    assert ran["status"] == "QUEUED"
