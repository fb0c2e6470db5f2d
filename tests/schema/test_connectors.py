"""GraphQL connector management: who may manage what, write-only credentials, test and run."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Settings
from mocks.server import SYSTEMS, MockConfig, MockSystems
from schema.ids import from_global_id
from tests.fixtures.connector_api import Api, connector_api

SECRET = "siks-dev-key"  # the mock's key: a secret the hub must never echo
RUN = """mutation($id: ID!) { runSync(id: $id, full: true) { __typename
    ... on SyncRun { id status fetched inserted } ... on UserError { code message } } }"""
TEST = "mutation($id: ID!) { testConnection(id: $id) { ... on ConnectionTest { ok message } } }"
UPDATE = """mutation($id: ID!, $input: ConnectorInput!) { updateConnector(id: $id, input: $input) { __typename } }"""
CREATE = """mutation($input: ConnectorInput!) { createConnector(input: $input) {
  __typename ... on Connector { id name kind baseUrl regionCode enabled hasCredentials }
  ... on UserError { code message field } } }"""


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockSystems]:
    systems = MockSystems(MockConfig(ports=dict.fromkeys(SYSTEMS, 0), size=40, seed=5))
    with systems.running():
        yield systems


class RecordingQueue:
    """The job queue as the API sees it: what was deferred (the worker side is tests/hub/sync/test_queued_runs.py)."""

    def __init__(self) -> None:
        self.deferred: list[tuple[uuid.UUID, uuid.UUID, bool]] = []

    async def defer_sync(self, connector_id: uuid.UUID, run_id: uuid.UUID, full: bool) -> None:
        self.deferred.append((connector_id, run_id, full))



@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
async def api(settings: Settings, connection: AsyncConnection, queue: RecordingQueue) -> AsyncIterator[Api]:
    async with connector_api(settings, connection, sync_queue=queue) as api:
        yield api


def siks_input(mocks: MockSystems, **overrides: Any) -> dict[str, Any]:
    return {"name": "siks-sragen", "kind": "siks-ng", "baseUrl": mocks.urls["siks-ng"], "regionCode": "33.14",
            "credentials": {"apiKey": SECRET}, **overrides}


async def test_district_admin_configures_tests_and_runs_a_connector(
        api: Api, mocks: MockSystems, queue: RecordingQueue, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    created = (await api("sragen-it", CREATE, input=siks_input(mocks)))["data"]["createConnector"]
    assert created["__typename"] == "Connector"
    assert created["hasCredentials"] is True
    connector_id = created["id"]

    tested = await api("sragen-it", TEST, id=connector_id)
    assert tested["data"]["testConnection"] == {"ok": True, "message": None}

    # runSync queues the run for a worker and answers at once: nothing has been pulled yet.
    ran = await api("sragen-it", RUN, id=connector_id)
    run = ran["data"]["runSync"]
    assert (run["__typename"], run["status"], run["fetched"], run["inserted"]) == ("SyncRun", "QUEUED", 0, 0)
    assert [(str(r), f) for _, r, f in queue.deferred] == [(str(from_global_id(run["id"], "SyncRun")), True)]

    # A second request while it waits queues nothing and names the waiting run.
    again = (await api("sragen-it", RUN, id=connector_id))["data"]["runSync"]
    assert again["code"] == "SYNC_IN_PROGRESS"
    assert run["id"] in again["message"]
    assert len(queue.deferred) == 1

    history = await api("sragen-it", "query($id: ID!) { connector(id: $id) { runs { nodes { id status fetched } } } }",
                        id=connector_id)
    assert history["data"]["connector"]["runs"]["nodes"] == [{"id": run["id"], "status": "QUEUED", "fetched": 0}]

    # Wrong credentials: the test says so, without echoing either key.
    wrong = "wrong-key-9d2e"
    updated = await api("sragen-it", UPDATE, id=connector_id, input=siks_input(mocks, credentials={"apiKey": wrong}))
    assert updated["data"]["updateConnector"]["__typename"] == "Connector"
    failed = await api("sragen-it", TEST, id=connector_id)
    assert failed["data"]["testConnection"]["ok"] is False
    assert failed["data"]["testConnection"]["message"].startswith("Rejected: siks-ng: HTTP 401")

    everything = "\n".join(api.texts) + caplog.text
    assert SECRET not in everything
    assert wrong not in everything


async def test_admins_manage_only_their_own_regency(api: Api, mocks: MockSystems) -> None:
    created = (await api("sragen-it", CREATE, input=siks_input(mocks)))["data"]["createConnector"]
    assert (await api("karanganyar-it", "{ connectors { totalCount nodes { id } } }"))["data"]["connectors"] == {
        "totalCount": 0, "nodes": []}
    other = await api("karanganyar-it", "query($id: ID!) { connector(id: $id) { id } }", id=created["id"])
    assert other["data"]["connector"] is None
    refused = (await api("karanganyar-it", CREATE, input=siks_input(mocks, name="x")))["data"]["createConnector"]
    assert refused["code"] == "FORBIDDEN"
    denied = (await api("facilitator", CREATE, input=siks_input(mocks, name="y")))["data"]["createConnector"]
    assert denied["code"] == "FORBIDDEN"
    anonymous = (await api("nobody", CREATE, input=siks_input(mocks, name="z")))["data"]["createConnector"]
    assert anonymous["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"baseUrl": "ftp://siks.example.go.id"}, "baseUrl"),
    ({"baseUrl": "https://user:pw@siks.example.go.id"}, "baseUrl"),
    ({"kind": "unknown"}, "kind"),
    ({"schedule": "every day"}, "schedule"),
    ({"credentials": {"password": "x"}}, "credentials"),
])
async def test_invalid_configuration_is_refused(api: Api, mocks: MockSystems, overrides: dict[str, Any],
                                                field: str) -> None:
    result = (await api("sragen-it", CREATE, input=siks_input(mocks, **overrides)))["data"]["createConnector"]
    assert (result["code"], result["field"]) == ("INVALID_INPUT", field)


async def test_private_addresses_are_refused_when_the_setting_says_so(
        settings: Settings, connection: AsyncConnection, mocks: MockSystems) -> None:
    strict = settings.model_copy(update={"connector_allow_private_urls": False})

    async with connector_api(strict, connection) as api:
        result = (await api("sragen-it", CREATE, input=siks_input(mocks)))["data"]["createConnector"]
    assert result["code"] == "INVALID_INPUT"
    assert "private" in result["message"]


async def test_the_schema_has_no_field_that_returns_credentials(api: Api) -> None:
    introspection = await api("sragen-it", '{ __type(name: "Connector") { fields { name } } }')
    names = {f["name"] for f in introspection["data"]["__type"]["fields"]}
    assert not {n for n in names if "credential" in n.lower() and n != "hasCredentials"}
    assert "secret" not in json.dumps(introspection).lower()


async def test_run_sync_without_a_reachable_queue_fails_the_run_and_says_so(
        settings: Settings, connection: AsyncConnection, mocks: MockSystems) -> None:
    class Unreachable:
        async def defer_sync(self, connector_id: uuid.UUID, run_id: uuid.UUID, full: bool) -> None:
            raise ConnectionRefusedError("no queue")

    async with connector_api(settings, connection, sync_queue=Unreachable()) as api:
        created = (await api("sragen-it", CREATE, input=siks_input(mocks)))["data"]["createConnector"]
        for _ in range(2):  # the failed run does not block the next request
            refused = (await api("sragen-it", RUN, id=created["id"]))["data"]["runSync"]
            assert refused["code"] == "UPSTREAM_UNAVAILABLE"
        runs = await api("sragen-it", "query($id: ID!) { connector(id: $id) { runs { nodes { status error } } } }",
                         id=created["id"])
    assert runs["data"]["connector"]["runs"]["nodes"] == [
        {"status": "FAILED", "error": "could not queue the run: ConnectionRefusedError"}] * 2
