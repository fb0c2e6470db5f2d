"""Failed outbox messages are listed and retried by district IT admins (their regency; national scope: all)
over GraphQL, and from the shell with `slrt-hub outbox list|retry`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from typer.testing import CliRunner

from auth.principal import Principal, RegionScope, Role
from connectors.http import ClientOptions
from connectors.retry import RetryPolicy
from hub.cli import app as cli
from hub.db.engine import set_scope
from hub.sync.outbox import deliver_due, enqueue, referral_handler
from hub.sync.repository import SyncRepository
from hub.sync.wiring import build_source
from schema.app import create_app
from schema.ids import to_global_id
from tests.hub.sync.conftest import Harness

ONE_SHOT = ClientOptions(timeout=5, retry=RetryPolicy(attempts=1, deadline=5))
PRINCIPALS = {
    "sragen-it": Principal("it-1", Role.district_it_admin, RegionScope.of("33.14")),
    "national-it": Principal("it-n", Role.district_it_admin, RegionScope.national()),
    "facilitator": Principal("f-1", Role.facilitator, RegionScope.of("33.14.01.2001")),
}
LIST = "{ outbox(filter: {status: FAILED}) { totalCount nodes { id topic status attempts lastError villageCode } } }"
RETRY = """mutation($id: ID!) { retryOutboxMessage(id: $id) { __typename
    ... on OutboxMessage { id status } ... on UserError { code message } } }"""
RETRY_ALL = """mutation { retryFailedOutboxMessages { __typename ... on OutboxRetry { retried }
    ... on UserError { code } } }"""


async def failed_referral(harness: Harness, village: str, programme: str = "NOT-A-PROGRAMME") -> uuid.UUID:
    """A referral Baznas refuses for good (unknown programme): the outbox marks it failed."""
    async with harness.sessionmaker() as session, session.begin():
        await set_scope(session, Principal.system("tests"))
        message = enqueue(session, topic="baznas.referral", idempotency_key=str(uuid.uuid4()),
                          region_code=village, payload={"programme_code": programme, "nik": "3314010101900001",
                                                        "name": "Warga Uji", "village_code": village,
                                                        "reason": "lansia"})
        await session.flush()
        message_id = message.id
    await deliver(harness)
    assert await harness.scalar("SELECT status FROM outbox WHERE id = :id", id=message_id) == "failed"
    return message_id


async def deliver(harness: Harness, programmes: dict[str, str] | None = None) -> Any:
    sink: Any = build_source(await baznas(harness), harness.settings, options=ONE_SHOT)
    try:
        return await deliver_due(harness.sessionmaker, {"baznas.referral": referral_handler(sink, programmes)},
                                 backoff_base=0)
    finally:
        await sink.aclose()


async def baznas(harness: Harness) -> Any:
    async with harness.sessionmaker() as session:
        found = await SyncRepository(session).connector_by_name("baznas-test")
    return found or await harness.connector("baznas", region=None)


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables},
                                          headers={"X-Test-Principal": who})
        return dict(response.json())


@pytest.fixture
async def api(harness: Harness, sync_engine: AsyncEngine) -> AsyncIterator[Api]:
    async def authenticate(request: Request) -> Principal | None:
        return PRINCIPALS.get(request.headers.get("X-Test-Principal", ""))

    class NoQueue:
        async def defer_sync(self, connector_id: uuid.UUID, run_id: uuid.UUID, full: bool) -> None:
            raise AssertionError("nothing is queued here")

    app = create_app(harness.settings, bind=sync_engine, authenticate=authenticate, sync_queue=NoQueue())
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as client:
        yield Api(client)


async def test_a_district_admin_lists_and_retries_the_failed_messages_of_their_regency(
        api: Api, harness: Harness) -> None:
    mine = await failed_referral(harness, "33.14.01.2001")
    theirs = await failed_referral(harness, "33.13.01.2001")

    page = (await api("sragen-it", LIST))["data"]["outbox"]
    listed = page["nodes"]
    assert page["totalCount"] == 1
    assert [(m["id"], m["status"], m["attempts"]) for m in listed] == [
        (to_global_id("OutboxMessage", mine), "FAILED", 1)]
    assert listed[0]["lastError"].startswith("Rejected: baznas: HTTP 422")
    assert "nik" not in str(listed).lower()  # the payload (personal data) is not exposed

    # Another regency's message reads as missing; a facilitator may not manage the outbox at all.
    other = (await api("sragen-it", RETRY, id=to_global_id("OutboxMessage", theirs)))["data"]["retryOutboxMessage"]
    assert other["code"] == "NOT_FOUND"
    denied = await api("facilitator", RETRY, id=to_global_id("OutboxMessage", mine))
    assert denied["data"]["retryOutboxMessage"]["code"] == "FORBIDDEN"

    retried = (await api("sragen-it", RETRY, id=to_global_id("OutboxMessage", mine)))["data"]["retryOutboxMessage"]
    assert retried == {"__typename": "OutboxMessage", "id": to_global_id("OutboxMessage", mine), "status": "PENDING"}
    again = (await api("sragen-it", RETRY, id=to_global_id("OutboxMessage", mine)))["data"]["retryOutboxMessage"]
    assert again["code"] == "ILLEGAL_TRANSITION"
    assert await harness.scalar("SELECT status FROM outbox WHERE id = :id", id=theirs) == "failed"

    # The cause fixed (the connector now maps the programme), the next delivery round sends it, once.
    before = len(harness.mocks.world.referrals)
    report = await deliver(harness, programmes={"NOT-A-PROGRAMME": "BZN-ZMK"})
    assert report.delivered == 1
    assert len(harness.mocks.world.referrals) - before == 1
    assert await harness.scalar("SELECT status FROM outbox WHERE id = :id", id=mine) == "delivered"


async def test_a_national_admin_retries_every_failed_message(api: Api, harness: Harness) -> None:
    ids = [await failed_referral(harness, v) for v in ("33.14.01.2001", "33.13.01.2001")]
    assert (await api("sragen-it", RETRY_ALL))["data"]["retryFailedOutboxMessages"] == {
        "__typename": "OutboxRetry", "retried": 1}
    assert (await api("national-it", RETRY_ALL))["data"]["retryFailedOutboxMessages"] == {
        "__typename": "OutboxRetry", "retried": 1}
    for message_id in ids:
        assert await harness.scalar("SELECT status FROM outbox WHERE id = :id", id=message_id) == "pending"


async def test_the_cli_lists_and_retries_failed_messages(harness: Harness, sync_database: dict[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_PROFILE", "test")
    monkeypatch.setenv("SLRT_DATABASE_URL", sync_database["owner"])
    monkeypatch.setenv("SLRT_APP_DATABASE_URL", sync_database["app"])
    first = await failed_referral(harness, "33.14.01.2001")
    second = await failed_referral(harness, "33.13.01.2001")
    runner = CliRunner()

    listed = await asyncio.to_thread(runner.invoke, cli, ["outbox", "list", "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    assert sorted(line.split("\t")[0] for line in listed.stdout.splitlines()) == sorted([str(first), str(second)])

    one = await asyncio.to_thread(runner.invoke, cli, ["outbox", "retry", str(first)])
    assert one.exit_code == 0, one.output
    assert await harness.scalar("SELECT status FROM outbox WHERE id = :id", id=first) == "pending"
    repeat = await asyncio.to_thread(runner.invoke, cli, ["outbox", "retry", str(first)])
    assert repeat.exit_code == 2  # not failed any more

    rest = await asyncio.to_thread(runner.invoke, cli, ["outbox", "retry", "--all-failed"])
    assert rest.exit_code == 0, rest.output
    assert "1 message(s)" in rest.output
    assert await harness.scalar("SELECT count(*) FROM outbox WHERE status = 'failed'") == 0
    neither = await asyncio.to_thread(runner.invoke, cli, ["outbox", "retry"])
    assert neither.exit_code == 2
