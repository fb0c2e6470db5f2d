"""Connections of needs, complaints and proposals: region scope, filters, ordering, paging, totalCount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Complaint, Need, SubmissionStatus
from schema.ids import to_global_id
from tests.schema.workflow.conftest import (
    FACILITATOR,
    FACILITATOR_ELSEWHERE,
    MANAGER_ELSEWHERE,
    SUPERVISOR,
    Api,
    World,
    reset_scope,
)

NEEDS = """query($status: SubmissionStatus, $region: String, $first: Int, $after: String, $order: SubmissionOrderBy) {
  needs(filter: {status: $status, regionCode: $region}, first: $first, after: $after, orderBy: $order) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id status } } }"""


async def _needs(session: AsyncSession, world: World) -> tuple[Need, Need, Need]:
    await reset_scope(session)
    rows = []
    for household, status in ((world.household, SubmissionStatus.submitted),
                              (world.household, SubmissionStatus.approved),
                              (world.other_household, SubmissionStatus.submitted)):
        rows.append(Need(household_id=household.id, category="health", status=status, recorded_by="x",
                         province_code=household.province_code, regency_code=household.regency_code,
                         district_code=household.district_code, village_code=household.village_code))
    session.add_all(rows)
    await session.flush()
    return rows[0], rows[1], rows[2]


def ids(body: dict[str, object], field: str) -> set[str]:
    data = body["data"]
    assert isinstance(data, dict)
    return {row["id"] for row in data[field]["nodes"]}


async def test_needs_are_listed_within_the_callers_regions(api: Api, world: World, session: AsyncSession) -> None:
    mine, approved, other = await _needs(session, world)
    assert ids(await api(FACILITATOR, NEEDS), "needs") == {to_global_id("Need", mine.id),
                                                           to_global_id("Need", approved.id)}
    assert ids(await api(FACILITATOR_ELSEWHERE, NEEDS), "needs") == {to_global_id("Need", other.id)}
    assert len(ids(await api(SUPERVISOR, NEEDS), "needs")) == 3
    assert ids(await api(MANAGER_ELSEWHERE, NEEDS), "needs") == set()


async def test_needs_filter_by_status_and_page(api: Api, world: World, session: AsyncSession) -> None:
    _, approved, _ = await _needs(session, world)
    approved_only = await api(SUPERVISOR, NEEDS, status="APPROVED")
    assert approved_only["data"]["needs"] == {
        "totalCount": 1, "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                                      "endCursor": approved_only["data"]["needs"]["pageInfo"]["endCursor"]},
        "nodes": [{"id": to_global_id("Need", approved.id), "status": "APPROVED"}]}
    first_page = (await api(SUPERVISOR, NEEDS, first=2))["data"]["needs"]
    assert (len(first_page["nodes"]), first_page["totalCount"], first_page["pageInfo"]["hasNextPage"]) == (2, 3, True)
    rest = (await api(SUPERVISOR, NEEDS, first=2, after=first_page["pageInfo"]["endCursor"]))["data"]["needs"]
    page_info = rest["pageInfo"]
    assert (len(rest["nodes"]), page_info["hasNextPage"], page_info["hasPreviousPage"]) == (1, False, True)
    assert {n["id"] for n in first_page["nodes"] + rest["nodes"]} == ids(await api(SUPERVISOR, NEEDS), "needs")


async def test_first_above_100_is_page_too_large(api: Api, world: World, statements: Any) -> None:
    for field in ("needs", "complaints", "proposals", "cases"):
        statements.statements.clear()
        body = await api(SUPERVISOR, f"{{ {field}(first: 101) {{ totalCount }} }}")
        assert body["data"] is None
        [error] = body["errors"]
        assert (error["extensions"]["code"], error["path"]) == ("PAGE_TOO_LARGE", [field])
        # Refused before any SQL (the access-log entry of the refusal aside).
        assert all(s.startswith("INSERT INTO access_logs") for s in statements.statements), statements.statements


async def test_needs_filter_by_region_at_any_level(api: Api, world: World, session: AsyncSession) -> None:
    mine, approved, other = await _needs(session, world)
    mine_ids = {to_global_id("Need", mine.id), to_global_id("Need", approved.id)}
    assert ids(await api(SUPERVISOR, NEEDS, region=world.household.village_code), "needs") == mine_ids
    assert ids(await api(SUPERVISOR, NEEDS, region="33.14.01"), "needs") == mine_ids | {to_global_id("Need", other.id)}
    # Narrows, never widens: a facilitator asking for the whole district still sees only their village.
    assert ids(await api(FACILITATOR, NEEDS, region="33.14.01"), "needs") == mine_ids
    body = await api(FACILITATOR, NEEDS, region="33.14.01")
    assert body["data"]["needs"]["totalCount"] == 2
    assert (await api(SUPERVISOR, NEEDS, region="33.15"))["data"]["needs"]["totalCount"] == 0
    bad = await api(SUPERVISOR, NEEDS, region="Sragen")
    assert bad["data"] is None
    assert (bad["errors"][0]["extensions"]["code"], bad["errors"][0]["extensions"]["field"]) == (
        "INVALID_INPUT", "regionCode")


async def test_total_count_is_region_scoped(api: Api, world: World, session: AsyncSession) -> None:
    await _needs(session, world)
    counts = {}
    for name, caller in (("facilitator", FACILITATOR), ("elsewhere", FACILITATOR_ELSEWHERE),
                         ("supervisor", SUPERVISOR), ("other regency", MANAGER_ELSEWHERE)):
        counts[name] = (await api(caller, NEEDS, first=1))["data"]["needs"]["totalCount"]
    assert counts == {"facilitator": 2, "elsewhere": 1, "supervisor": 3, "other regency": 0}


async def test_needs_ordering_is_by_enum(api: Api, world: World, session: AsyncSession) -> None:
    rows = await _needs(session, world)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i, row in enumerate(rows):
        row.created_at = base + timedelta(days=i)
        row.updated_at = base + timedelta(days=10 - i)
    await session.flush()
    expected = [to_global_id("Need", r.id) for r in rows]

    async def order(value: str | None) -> list[str]:
        body = await api(SUPERVISOR, NEEDS, **({"order": value} if value else {}))
        return [n["id"] for n in body["data"]["needs"]["nodes"]]

    assert await order(None) == expected[::-1]
    assert await order("CREATED_AT_DESC") == expected[::-1]
    assert await order("CREATED_AT_ASC") == expected
    assert await order("UPDATED_AT_DESC") == expected
    body = await api(SUPERVISOR, NEEDS, order="created_at")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_complaints_and_proposals_lists(api: Api, world: World, session: AsyncSession) -> None:
    h = world.household
    session.add(Complaint(household_id=h.id, category="not_received", recorded_by="x", province_code=h.province_code,
                          regency_code=h.regency_code, district_code=h.district_code, village_code=h.village_code))
    await session.flush()
    # One root field per request: the test binds every session to one connection, so two root
    # resolvers running at once would share it (with a real engine each takes its own).
    body = await api(FACILITATOR, "{ complaints { totalCount edges { cursor node { category status } } } }")
    [edge] = body["data"]["complaints"]["edges"]
    assert body["data"]["complaints"]["totalCount"] == 1
    assert edge["node"] == {"category": "not_received", "status": "SUBMITTED"}
    assert isinstance(edge["cursor"], str)
    body = await api(FACILITATOR, "{ proposals { totalCount nodes { id } } }")
    assert body == {"data": {"proposals": {"totalCount": 0, "nodes": []}}}


async def test_queries_need_a_caller(api: Api, world: World) -> None:
    body = await api(None, NEEDS)
    assert body["data"] is None
    assert body["errors"][0]["message"] == "authentication required"


async def test_needs_with_their_reviews_cost_four_statements(api: Api, world: World, session: AsyncSession,
                                                             statements: Any) -> None:
    await _needs(session, world)
    statements.statements.clear()
    body = await api(SUPERVISOR, "{ needs { nodes { id reviews { nodes { decision } } } } }")
    assert [n["reviews"]["nodes"] for n in body["data"]["needs"]["nodes"]] == [[], [], []]
    # The request's read transaction: set the scope, select the needs, select the reviews of all of them
    # (one DataLoader batch). Then the access-log entry, written before the response leaves.
    assert len(statements.statements) == 3 + 1, statements.statements
