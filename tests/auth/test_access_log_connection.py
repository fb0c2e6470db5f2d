"""``accessLogs`` as a Relay connection: keyset cursors, exact totalCount, each filter, PAGE_TOO_LARGE."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Role
from hub.audit.repository import AccessLogRepository
from hub.models import AccessLog, Household, Person
from schema.ids import to_global_id
from tests.fixtures.statements import StatementCounter

# Arranged entries live in 2001, so the entries the auditor's own queries add (logged now) stay out.
T0 = datetime(2001, 1, 1, tzinfo=UTC)
WINDOW = {"from": "2001-01-01T00:00:00+00:00", "to": "2001-01-02T00:00:00+00:00"}

LOGS = """query Logs($first: Int, $after: String, $filter: AccessLogFilterInput) {
  accessLogs(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { operationName } }
  }
}"""


@pytest.fixture
async def log(session: AsyncSession, factories: Any) -> tuple[Household, Person]:
    """Seven entries an hour apart, named ``op-0`` (oldest) to ``op-6``."""
    home = await factories.make_household(session, "33.14.01.2001")
    person = await factories.make_person(session, home, nik="3314015001010042")
    await AccessLogRepository(session).insert_many([{
        "id": uuid.uuid4(), "logged_at": T0 + timedelta(hours=i), "actor": "fas-a" if i < 4 else "fas-b",
        "client_id": "c-one" if i < 3 else None, "role": "facilitator", "scope": ["33.14.01.2001"],
        "operation_name": f"op-{i}", "operation_type": "query",
        "person_ids": [person.id] if i in (1, 4) else [], "household_ids": [home.id] if i == 2 else [],
        "outcome": "denied" if i % 2 else "allowed",
    } for i in range(7)])
    return home, person


@pytest.fixture
async def auditor(make_client: Callable[..., Any], mint: Callable[..., str]) -> Callable[..., Any]:
    client: httpx.AsyncClient = await make_client()
    headers = {"authorization": f"Bearer {mint(Role.auditor, ['*'], subject='aud-1')}"}

    async def call(query: str = LOGS, **variables: Any) -> dict[str, Any]:
        response = await client.post("/graphql", headers=headers, json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return call


def names(body: dict[str, Any]) -> list[str]:
    return [e["node"]["operationName"] for e in body["data"]["accessLogs"]["edges"]]


async def test_pages_walk_the_log_newest_first_with_cursors(
        auditor: Callable[..., Any], log: tuple[Household, Person]) -> None:
    pages, after = [], None
    while True:
        body = await auditor(first=3, after=after, filter=WINDOW)
        logs = body["data"]["accessLogs"]
        edges = logs["edges"]
        assert logs["pageInfo"]["startCursor"] == edges[0]["cursor"]
        assert logs["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        pages.append((names(body), logs["totalCount"], logs["pageInfo"]["hasNextPage"],
                      logs["pageInfo"]["hasPreviousPage"]))
        if not logs["pageInfo"]["hasNextPage"]:
            break
        after = logs["pageInfo"]["endCursor"]
    assert pages == [(["op-6", "op-5", "op-4"], 7, True, False),
                     (["op-3", "op-2", "op-1"], 7, True, True),
                     (["op-0"], 7, False, True)]
    # Any edge's cursor continues right after that edge.
    first = await auditor(first=3, filter=WINDOW)
    middle = first["data"]["accessLogs"]["edges"][1]["cursor"]
    assert names(await auditor(first=2, after=middle, filter=WINDOW)) == ["op-4", "op-3"]


@pytest.mark.parametrize(("conditions", "expected"), [
    ({"actor": "fas-b"}, ["op-6", "op-5", "op-4"]),
    ({"client": "c-one"}, ["op-2", "op-1", "op-0"]),
    ({"outcome": "DENIED"}, ["op-5", "op-3", "op-1"]),
    ({"personNik": "3314015001010042"}, ["op-4", "op-1"]),
    ({"personNik": "3314015001019999"}, []),  # nobody has it: no entries, and no count query either
    ({"actor": "fas-a", "outcome": "ALLOWED"}, ["op-2", "op-0"]),
    ({"from": "2001-01-01T02:00:00+00:00", "to": "2001-01-01T05:00:00+00:00"}, ["op-4", "op-3", "op-2"]),
])
async def test_each_filter_narrows_the_page_and_its_total(
        auditor: Callable[..., Any], log: tuple[Household, Person], conditions: dict[str, str],
        expected: list[str]) -> None:
    body = await auditor(first=10, filter={**WINDOW, **conditions})
    assert (names(body), body["data"]["accessLogs"]["totalCount"]) == (expected, len(expected))


async def test_household_filter_takes_a_typed_global_id(
        auditor: Callable[..., Any], log: tuple[Household, Person]) -> None:
    home, person = log
    body = await auditor(filter={**WINDOW, "householdId": to_global_id("Household", home.id)})
    assert (names(body), body["data"]["accessLogs"]["totalCount"]) == (["op-2"], 1)
    wrong = await auditor(filter={**WINDOW, "householdId": to_global_id("Person", person.id)})
    assert wrong["data"] is None
    assert [e["extensions"]["code"] for e in wrong["errors"]] == ["INVALID_ID"]


async def test_first_above_100_is_refused_before_any_sql(
        auditor: Callable[..., Any], log: tuple[Household, Person], statements: StatementCounter) -> None:
    statements.statements.clear()
    body = await auditor(first=101)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["path"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("PAGE_TOO_LARGE", ["accessLogs"], "first")]
    # Only the refusal's own access-log entry.
    assert [s.split("(")[0].strip() for s in statements.statements] == ["INSERT INTO access_logs"]
    assert names(await auditor(first=100, filter=WINDOW)) == [f"op-{i}" for i in range(6, -1, -1)]


def _raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    _raw_cursor("cursor:v1:2"),  # an offset cursor of another list
    _raw_cursor("cursor:v1:2:not-a-time|nor-an-id"),
    _raw_cursor("cursor:v1:x:2001-01-01T03:00:00+00:00|" + str(uuid.UUID(int=0))),
    "not base64 at all!",
])
async def test_a_cursor_this_list_did_not_issue_is_refused(
        auditor: Callable[..., Any], log: tuple[Household, Person], cursor: str) -> None:
    body = await auditor(after=cursor, filter=WINDOW)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID_INPUT", "after")]


async def test_total_count_costs_one_statement_and_only_when_selected(
        auditor: Callable[..., Any], log: tuple[Household, Person], statements: StatementCounter) -> None:
    query = """query($filter: AccessLogFilterInput) { accessLogs(filter: $filter) { %s nodes { id } } }"""
    by_nik = {**WINDOW, "personNik": "3314015001010042"}
    counts = {}
    for selected in ("", "totalCount"):
        statements.statements.clear()
        body = await auditor(query % selected, filter=by_nik)
        assert len(body["data"]["accessLogs"]["nodes"]) == 2
        counts[selected] = len(statements.statements)
    # Scope, the NIK's person ids, the page (+ the count); + the auditor's own access-log entry.
    assert counts == {"": 3 + 1, "totalCount": 4 + 1}


async def test_the_auditors_page_is_recorded_with_the_connection_fields(
        auditor: Callable[..., Any], log: tuple[Household, Person], session: AsyncSession) -> None:
    before = datetime.now(UTC)
    await auditor(first=1, filter=WINDOW)
    body = await auditor("""query($from: DateTime) { accessLogs(filter: {actor: "aud-1", from: $from}) {
      totalCount nodes { outcome fields } } }""", **{"from": before.isoformat()})
    logs = body["data"]["accessLogs"]
    assert logs["totalCount"] == 1
    [entry] = logs["nodes"]
    assert entry["outcome"] == "ALLOWED"
    assert {"Query.accessLogs", "AccessLogConnection.totalCount", "AccessLogConnection.edges",
            "AccessLogEdge.node", "PageInfo.endCursor"} <= set(entry["fields"])


@pytest.mark.parametrize(("role", "regions", "query"), [
    # "How often was NIK N read" is an auditor's query like any other: recorded.
    (Role.auditor, ["*"], '{ accessLogs(filter: {personNik: "3314015001010042"}) { totalCount } }'),
    (Role.auditor, ["*"], "{ accessLogs { pageInfo { hasNextPage } } }"),
    # A count of a village's households with a disabled member is a read of their records.
    (Role.facilitator, ["33.14.01.2001"], "{ households(filter: {hasDisability: true}) { totalCount } }"),
    (Role.facilitator, ["33.14.01.2001"], "{ needs { totalCount edges { cursor } } }"),
])
async def test_counting_or_paging_audited_records_without_their_fields_is_recorded(
        make_client: Callable[..., Any], mint: Callable[..., str], session: AsyncSession,
        log: tuple[Household, Person], role: Role, regions: list[str], query: str) -> None:
    before = set((await session.execute(select(AccessLog.id))).scalars())
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/graphql", json={"query": query},
                                 headers={"authorization": f"Bearer {mint(role, regions, subject='counter')}"})
    assert "errors" not in response.json(), response.text
    rows = (await session.execute(select(AccessLog).where(AccessLog.actor == "counter")
                                  .execution_options(populate_existing=True))).scalars().all()
    assert [(e.outcome, e.kind) for e in rows if e.id not in before] == [("allowed", "personal")]
