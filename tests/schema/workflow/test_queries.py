"""Lists of needs, complaints and proposals: region scope, status filter, page limit."""

from __future__ import annotations

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

NEEDS = "query($status: SubmissionStatus, $first: Int) { needs(status: $status, first: $first) { id status } }"


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
    return {row["id"] for row in data[field]}


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
    assert approved_only["data"]["needs"] == [{"id": to_global_id("Need", approved.id), "status": "APPROVED"}]
    assert len((await api(SUPERVISOR, NEEDS, first=2))["data"]["needs"]) == 2
    too_many = await api(SUPERVISOR, NEEDS, first=101)
    assert too_many["data"] is None
    assert too_many["errors"][0]["message"] == "first: Input should be less than or equal to 100"


async def test_complaints_and_proposals_lists(api: Api, world: World, session: AsyncSession) -> None:
    h = world.household
    session.add(Complaint(household_id=h.id, category="not_received", recorded_by="x", province_code=h.province_code,
                          regency_code=h.regency_code, district_code=h.district_code, village_code=h.village_code))
    await session.flush()
    # One root field per request: the test binds every session to one connection, so two root
    # resolvers running at once would share it (with a real engine each takes its own).
    body = await api(FACILITATOR, "{ complaints { category status } }")
    assert body == {"data": {"complaints": [{"category": "not_received", "status": "SUBMITTED"}]}}
    assert await api(FACILITATOR, "{ proposals { id } }") == {"data": {"proposals": []}}


async def test_queries_need_a_caller(api: Api, world: World) -> None:
    body = await api(None, NEEDS)
    assert body["data"] is None
    assert body["errors"][0]["message"] == "authentication required"


async def test_needs_with_their_reviews_cost_four_statements(api: Api, world: World, session: AsyncSession,
                                                             statements: Any) -> None:
    await _needs(session, world)
    statements.statements.clear()
    body = await api(SUPERVISOR, "{ needs { id reviews { decision } } }")
    assert [n["reviews"] for n in body["data"]["needs"]] == [[], [], []]
    # Needs: set the scope, select. Reviews of all of them (one DataLoader batch): set the scope, select.
    # Then the access-log entry, written before the response leaves.
    assert len(statements.statements) == 4 + 1, statements.statements
