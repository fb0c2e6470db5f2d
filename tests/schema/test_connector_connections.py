"""The connector admin's lists as Relay connections over HTTP: `connectors`, `Connector.runs`,
`Connector.quarantine` and `outbox`. Page walks, exact totalCount, each filter, PAGE_TOO_LARGE before
any SQL, bad cursors, and an admin of another regency seeing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.config import Settings
from hub.models import AccessLog, Connector, OutboxMessage, OutboxStatus, QuarantinedRecord, RunStatus, SyncRun
from hub.sync.engine import region_columns
from hub.sync.secrets import seal
from schema.ids import to_global_id
from schema.types.common import encode_cursor, encode_keyset_cursor
from tests.fixtures.connector_api import Api, connector_api
from tests.fixtures.statements import StatementCounter

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "conn3-secret-key-7f1c"  # stored sealed; must never come back

CONNECTORS = """query($first: Int, $after: String, $filter: ConnectorFilterInput) {
  connectors(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name kind enabled regionCode hasCredentials } } } }"""
RUNS = """query($id: ID!, $first: Int, $after: String, $filter: SyncRunFilterInput) { connector(id: $id) {
  runs(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id status } } } }"""
QUARANTINE = """query($id: ID!, $first: Int, $after: String, $filter: QuarantineFilterInput) { connector(id: $id) {
  quarantine(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id naturalKey resolvedAt } } } }"""
OUTBOX = """query($first: Int, $after: String, $filter: OutboxFilterInput) {
  outbox(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id topic status villageCode } } }"""


@pytest.fixture
async def api(settings: Settings, connection: AsyncConnection) -> AsyncIterator[Api]:
    async with connector_api(settings, connection) as api:
        yield api




async def connector(session: AsyncSession, settings: Settings, name: str, region: str | None, *,
                    kind: str = "siks-ng", enabled: bool = True) -> Connector:
    row = Connector(name=name, kind=kind, base_url="http://127.0.0.1:9", region_code=region, enabled=enabled,
                    options={}, credentials=seal(settings, {"api_key": SECRET}))
    session.add(row)
    await session.flush()
    return row


def walk_pages(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"][field]
    return page


async def walk(api: Api, who: str, query: str, path: list[str], first: int, **variables: Any) -> list[dict[str, Any]]:
    """Every page of a connection at ``path`` in turn: (items, totalCount, hasNext, hasPrevious) per page."""
    pages, after = [], None
    while True:
        body = await api(who, query, first=first, after=after, **variables)
        assert "errors" not in body, body
        page = body["data"]
        for key in path:
            page = page[key]
        items = page["nodes"] if "nodes" in page else [edge["node"] for edge in page["edges"]]
        pages.append({"items": items, "total": page["totalCount"], "next": page["pageInfo"]["hasNextPage"],
                      "previous": page["pageInfo"]["hasPreviousPage"]})
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


async def test_connectors_page_by_name_within_the_admins_regency(api: Api, session: AsyncSession,
                                                                 settings: Settings) -> None:
    for name, kind, enabled in [("c-a", "siks-ng", True), ("c-b", "health", True), ("c-c", "siks-ng", False),
                                ("c-d", "education", True), ("c-e", "siks-ng", True)]:
        await connector(session, settings, name, "33.14", kind=kind, enabled=enabled)
    await connector(session, settings, "k-a", "33.13")
    await connector(session, settings, "n-a", None)  # national: only national scope manages it
    await connector(session, settings, "s-district", "33.14.01")  # below the regency: its admin manages it

    pages = await walk(api, "sragen-it", CONNECTORS, ["connectors"], 2)
    assert [[c["name"] for c in p["items"]] for p in pages] == [["c-a", "c-b"], ["c-c", "c-d"], ["c-e", "s-district"]]
    assert [(p["total"], p["next"], p["previous"]) for p in pages] == [(6, True, False), (6, True, True),
                                                                      (6, False, True)]
    assert all(c["hasCredentials"] for p in pages for c in p["items"])

    siks = await api("sragen-it", CONNECTORS, filter={"kind": "siks-ng"})
    assert [e["node"]["name"] for e in walk_pages(siks, "connectors")["edges"]] == ["c-a", "c-c", "c-e",
                                                                                    "s-district"]
    assert siks["data"]["connectors"]["totalCount"] == 4
    disabled = await api("sragen-it", CONNECTORS, filter={"enabled": False})
    assert [(e["node"]["name"], disabled["data"]["connectors"]["totalCount"])
            for e in walk_pages(disabled, "connectors")["edges"]] == [("c-c", 1)]

    other = await api("karanganyar-it", CONNECTORS)
    assert [e["node"]["name"] for e in walk_pages(other, "connectors")["edges"]] == ["k-a"]
    assert other["data"]["connectors"]["totalCount"] == 1
    everyone = await api("national-it", CONNECTORS, first=100)
    assert walk_pages(everyone, "connectors")["totalCount"] == 8
    assert len(everyone["data"]["connectors"]["edges"]) == 8

    assert SECRET not in "\n".join(api.texts)


async def test_runs_newest_first_with_a_status_filter(api: Api, session: AsyncSession, settings: Settings) -> None:
    mine = await connector(session, settings, "siks-sragen", "33.14")
    statuses = [RunStatus.succeeded, RunStatus.failed, RunStatus.succeeded, RunStatus.mismatch, RunStatus.failed]
    runs = [SyncRun(connector_id=mine.id, status=s, started_at=T0 + timedelta(hours=i)) for i, s in enumerate(statuses)]
    # Two runs started in the same instant: the id orders them, and paging between them loses neither.
    runs.append(SyncRun(connector_id=mine.id, status=RunStatus.succeeded, started_at=T0 + timedelta(hours=4)))
    session.add_all(runs)
    await session.flush()
    newest_first = sorted(runs, key=lambda r: (r.started_at, r.id), reverse=True)
    expected = [to_global_id("SyncRun", r.id) for r in newest_first]
    connector_id = to_global_id("Connector", mine.id)

    pages = await walk(api, "sragen-it", RUNS, ["connector", "runs"], 2, id=connector_id)
    assert [r["id"] for p in pages for r in p["items"]] == expected
    assert [(len(p["items"]), p["total"], p["next"], p["previous"]) for p in pages] == [
        (2, 6, True, False), (2, 6, True, True), (2, 6, False, True)]

    failed = await api("sragen-it", RUNS, id=connector_id, filter={"status": "FAILED"})
    page = failed["data"]["connector"]["runs"]
    assert [r["id"] for r in page["nodes"]] == [to_global_id("SyncRun", r.id) for r in newest_first
                                                if r.status is RunStatus.failed]
    assert page["totalCount"] == 2

    # The other regency's admin reaches neither the connector nor its runs.
    assert await api("karanganyar-it", RUNS, id=connector_id) == {"data": {"connector": None}}


async def test_quarantine_pages_by_key_within_the_admins_regions_and_is_audited(
        api: Api, session: AsyncSession, settings: Settings) -> None:
    mine = await connector(session, settings, "siks-sragen", "33.14")
    records = [QuarantinedRecord(connector_id=mine.id, kind="invalid", natural_key=f"hh-{i}", source_version="1",
                                 reason="decile out of range", raw={"id": f"hh-{i}", "decile": 11},
                                 created_at=T0 + timedelta(minutes=i), **region_columns("33.14.01.2001"))
               for i in range(5)]
    resolved = QuarantinedRecord(connector_id=mine.id, kind="invalid", natural_key="hh-fixed", source_version="1",
                                 reason="bad date", raw={}, created_at=T0 + timedelta(minutes=10),
                                 resolved_at=T0 + timedelta(days=1), **region_columns("33.14.02.2001"))
    # A record the source placed in another regency: its admin's, never Sragen's.
    elsewhere = QuarantinedRecord(connector_id=mine.id, kind="invalid", natural_key="hh-k", source_version="1",
                                  reason="bad NIK", raw={}, created_at=T0 + timedelta(minutes=20),
                                  **region_columns("33.13.01.2001"))
    session.add_all([*records, resolved, elsewhere])
    await session.flush()
    connector_id = to_global_id("Connector", mine.id)
    before = set((await session.execute(select(AccessLog.id))).scalars())

    pages = await walk(api, "sragen-it", QUARANTINE, ["connector", "quarantine"], 2, id=connector_id)
    assert [q["naturalKey"] for p in pages for q in p["items"]] == ["hh-4", "hh-3", "hh-2", "hh-1", "hh-0"]
    assert [(p["total"], p["next"], p["previous"]) for p in pages] == [(5, True, False), (5, True, True),
                                                                      (5, False, True)]

    everything = await api("sragen-it", QUARANTINE, id=connector_id, first=100, filter={"includeResolved": True})
    page = everything["data"]["connector"]["quarantine"]
    assert [q["naturalKey"] for q in page["nodes"]] == ["hh-fixed", "hh-4", "hh-3", "hh-2", "hh-1", "hh-0"]
    assert page["totalCount"] == 6
    assert page["nodes"][0]["resolvedAt"] is not None

    national = await api("national-it", QUARANTINE, id=connector_id, first=100)
    assert [q["naturalKey"] for q in national["data"]["connector"]["quarantine"]["nodes"]] == [
        "hh-k", "hh-4", "hh-3", "hh-2", "hh-1", "hh-0"]
    assert await api("karanganyar-it", QUARANTINE, id=connector_id) == {"data": {"connector": None}}

    # The payloads hold personal data: each read names the records it returned.
    logged = (await session.execute(select(AccessLog).where(AccessLog.id.not_in(before)).order_by(
        AccessLog.logged_at).execution_options(populate_existing=True))).scalars().all()
    first_page = logged[0]
    assert (first_page.actor, first_page.outcome) == ("it-1", "allowed")
    assert sorted(first_page.record_ids) == sorted(f"Quarantined:{r.id}" for r in records[3:])
    assert "Connector.quarantine" in first_page.fields


async def test_outbox_pages_newest_first_with_status_and_topic_filters(api: Api, session: AsyncSession) -> None:
    specs = [("33.14.01.2001", "baznas.referral", OutboxStatus.failed),
             ("33.14.01.2001", "siks-ng.proposal", OutboxStatus.pending),
             ("33.14.02.2001", "baznas.referral", OutboxStatus.delivered),
             ("33.13.01.2001", "baznas.referral", OutboxStatus.failed),
             ("33.14.02.2001", "siks-ng.prelist", OutboxStatus.failed),
             ("33.13.01.2001", "siks-ng.proposal", OutboxStatus.pending)]
    messages = [OutboxMessage(topic=topic, idempotency_key=f"conn3-{i}", payload={"nik": "3314010101900001"},
                              status=status, created_at=T0 + timedelta(minutes=i), **region_columns(village))
                for i, (village, topic, status) in enumerate(specs)]
    session.add_all(messages)
    await session.flush()

    def ids(*indexes: int) -> list[str]:
        return [to_global_id("OutboxMessage", messages[i].id) for i in indexes]

    pages = await walk(api, "sragen-it", OUTBOX, ["outbox"], 3)
    assert [m["id"] for p in pages for m in p["items"]] == ids(4, 2, 1, 0)
    assert [(p["total"], p["next"], p["previous"]) for p in pages] == [(4, True, False), (4, False, True)]

    failed = (await api("sragen-it", OUTBOX, filter={"status": "FAILED"}))["data"]["outbox"]
    assert ([m["id"] for m in failed["nodes"]], failed["totalCount"]) == (ids(4, 0), 2)
    referrals = (await api("sragen-it", OUTBOX, filter={"topic": "baznas.referral", "status": "FAILED"}))
    assert ([m["id"] for m in referrals["data"]["outbox"]["nodes"]], referrals["data"]["outbox"]["totalCount"]) == (
        ids(0), 1)

    other = (await api("karanganyar-it", OUTBOX))["data"]["outbox"]
    assert ([m["id"] for m in other["nodes"]], other["totalCount"]) == (ids(5, 3), 2)
    national = (await api("national-it", OUTBOX, first=100))["data"]["outbox"]
    assert ([m["id"] for m in national["nodes"]], national["totalCount"]) == (ids(5, 4, 3, 2, 1, 0), 6)
    assert "3314010101900001" not in "\n".join(api.texts)  # payloads are not exposed


@pytest.mark.parametrize(("query", "path", "nested"), [
    (CONNECTORS, ["connectors"], False),
    (OUTBOX, ["outbox"], False),
    (RUNS, ["connector", "runs"], True),
    (QUARANTINE, ["connector", "quarantine"], True),
])
async def test_first_above_100_is_refused_before_any_sql(
        api: Api, session: AsyncSession, settings: Settings, statements: StatementCounter, query: str, path: list[str],
        nested: bool) -> None:
    mine = await connector(session, settings, "siks-sragen", "33.14")
    connector_id = to_global_id("Connector", mine.id)
    variables = {"id": connector_id} if nested else {}
    statements.statements.clear()
    body = await api("sragen-it", query, first=101, **variables)
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("PAGE_TOO_LARGE", path)]
    assert body["data"] == ({"connector": None} if nested else None)
    listed = ("sync_runs", "quarantine", "outbox", "FROM connectors")
    touching = [s for s in statements.statements if any(table in s for table in listed)]
    # A nested list's connector is looked up (by the parent field) before the list refuses the page.
    assert len(touching) == (1 if nested else 0), touching
    if nested:
        assert "FROM connectors" in touching[0]
        assert not any(table in touching[0] for table in listed[:3])

    exactly = await api("sragen-it", query, first=100, **variables)
    assert "errors" not in exactly, exactly


@pytest.mark.parametrize(("query", "path", "nested"), [
    (CONNECTORS, ["connectors"], False),
    (OUTBOX, ["outbox"], False),
    (RUNS, ["connector", "runs"], True),
    (QUARANTINE, ["connector", "quarantine"], True),
])
async def test_a_cursor_not_issued_by_the_list_is_invalid_input(
        api: Api, session: AsyncSession, settings: Settings, query: str, path: list[str], nested: bool) -> None:
    mine = await connector(session, settings, "siks-sragen", "33.14")
    variables = {"id": to_global_id("Connector", mine.id)} if nested else {}
    # Another list's cursor is refused like any other string: offset cursors here are keyset lists' and back.
    foreign = [encode_keyset_cursor(3, "x")] if path[-1] == "connectors" else [encode_cursor(3),
                                                                             encode_keyset_cursor(3, "x")]
    for cursor in ("not-a-cursor", *foreign):
        body = await api("sragen-it", query, after=cursor, **variables)
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("INVALID_INPUT", path)], cursor


async def test_only_connector_admins_list_them(api: Api) -> None:
    for query, field in ((CONNECTORS, "connectors"), (OUTBOX, "outbox")):
        body = await api("facilitator", query)
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("FORBIDDEN", [field])]
        anonymous = await api("nobody", query)
        assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]


async def test_an_admin_without_connectors_in_their_regency_sees_empty_lists(
        api: Api, session: AsyncSession, settings: Settings) -> None:
    await connector(session, settings, "siks-sragen", "33.14")
    session.add(OutboxMessage(topic="baznas.referral", idempotency_key="conn3-x", payload={},
                              status=OutboxStatus.failed, **region_columns("33.14.01.2001")))
    await session.flush()
    for query, field in ((CONNECTORS, "connectors"), (OUTBOX, "outbox")):
        body = await api("karanganyar-it", query)
        assert body == {"data": {field: {
            "totalCount": 0, "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None,
                                          "endCursor": None} if field == "connectors" else
            {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
            **({"edges": []} if field == "connectors" else {"nodes": []})}}}
