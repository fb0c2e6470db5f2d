"""``node(id:)`` for the workflow types, and the nested connections (reviews, history) a page at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.db.base import region_codes
from hub.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Complaint,
    Household,
    Need,
    Proposal,
    Review,
    SubmissionStatus,
)
from schema.ids import to_global_id
from tests.fixtures.statements import sent
from tests.schema.workflow.conftest import (
    FACILITATOR,
    FACILITATOR_ELSEWHERE,
    MANAGER,
    MANAGER_ELSEWHERE,
    OWNER_BPNT,
    OWNER_PKH,
    SUPERVISOR,
    VILLAGE,
    Api,
    World,
    reset_scope,
)

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


def access_log_inserts(seen: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    """The parameters of every access-log INSERT among the statements ``sent`` saw."""
    return [parameters for statement, parameters in seen if statement.startswith("INSERT INTO access_logs")]


@dataclass
class Rows:
    need: Need
    complaint: Complaint
    proposal: Proposal
    case: Case


def _region(household: Household) -> dict[str, str]:
    return region_codes(household.village_code)


@pytest.fixture
async def rows(session: AsyncSession, world: World) -> Rows:
    await reset_scope(session)
    h = world.household
    need = Need(household_id=h.id, category="health", status=SubmissionStatus.approved, recorded_by="fac-keden",
                **_region(h))
    complaint = Complaint(household_id=h.id, category="not_received", recorded_by="fac-keden", **_region(h))
    proposal = Proposal(kind="correction", household_id=h.id, payload={"address": "Jl. Baru 2"},
                        previous={"address": "Jl. Contoh 1"}, submitted_by="fac-keden", **_region(h))
    session.add_all([need, complaint, proposal])
    await session.flush()
    case = Case(household_id=h.id, need_id=need.id, status=CaseStatus.referred, programme_id=world.pkh.id,
                due_at=datetime.now(UTC) + timedelta(days=3), **_region(h))
    session.add(case)
    await session.flush()
    return Rows(need, complaint, proposal, case)


def _ids(rows: Rows) -> list[tuple[str, uuid.UUID]]:
    return [("Need", rows.need.id), ("Complaint", rows.complaint.id), ("Proposal", rows.proposal.id),
            ("Case", rows.case.id)]


async def test_node_resolves_each_workflow_type_in_scope(api: Api, rows: Rows) -> None:
    for type_name, id_ in _ids(rows):
        gid = to_global_id(type_name, id_)
        assert await api(FACILITATOR, NODE, id=gid) == {"data": {"node": {"__typename": type_name, "id": gid}}}


async def test_out_of_scope_and_missing_workflow_nodes_read_the_same(api: Api, rows: Rows) -> None:
    for type_name, id_ in _ids(rows):
        out_of_scope = [await api(caller, NODE, id=to_global_id(type_name, id_))
                        for caller in (FACILITATOR_ELSEWHERE, MANAGER_ELSEWHERE)]
        missing = await api(FACILITATOR, NODE, id=to_global_id(type_name, uuid.uuid4()))
        assert out_of_scope == [missing, missing], type_name
        assert missing == {"data": {"node": None}}


async def test_a_programme_owner_reaches_only_cases_of_its_programmes(api: Api, rows: Rows) -> None:
    gid = to_global_id("Case", rows.case.id)
    assert await api(OWNER_PKH, NODE, id=gid) == {"data": {"node": {"__typename": "Case", "id": gid}}}
    assert await api(OWNER_BPNT, NODE, id=gid) == await api(OWNER_BPNT, NODE, id=to_global_id("Case", uuid.uuid4()))
    assert await api(OWNER_BPNT, "query($id: ID!) { case(id: $id) { id } }", id=gid) == {"data": {"case": None}}


async def test_node_selects_the_fields_of_each_type(api: Api, rows: Rows) -> None:
    query = """query($id: ID!) { node(id: $id) { ... on Case { status needId } ... on Proposal { kind payload }
      ... on Complaint { category } } }"""
    body = await api(MANAGER, query, id=to_global_id("Case", rows.case.id))
    assert body == {"data": {"node": {"status": "REFERRED", "needId": to_global_id("Need", rows.need.id)}}}
    body = await api(SUPERVISOR, query, id=to_global_id("Proposal", rows.proposal.id))
    assert body == {"data": {"node": {"kind": "CORRECTION", "payload": {"address": "Jl. Baru 2"}}}}
    body = await api(SUPERVISOR, query, id=to_global_id("Complaint", rows.complaint.id))
    assert body == {"data": {"node": {"category": "not_received"}}}


async def test_ids_are_typed(api: Api, world: World, rows: Rows) -> None:
    case_id = to_global_id("Case", rows.case.id)
    for field, id_ in (("household", case_id), ("case", to_global_id("Need", rows.need.id)),
                       ("case", to_global_id("Household", world.household.id))):
        body = await api(FACILITATOR, f"query($id: ID!) {{ {field}(id: $id) {{ id }} }}", id=id_)
        assert body["data"] == {field: None}
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("INVALID_ID", [field])]


async def test_partner_resolves_by_node(api: Api, world: World) -> None:
    gid = to_global_id("Partner", world.partner.id)
    body = await api(FACILITATOR, "query($id: ID!) { node(id: $id) { __typename ... on Partner { code } } }", id=gid)
    assert body == {"data": {"node": {"__typename": "Partner", "code": "BAZNAS-SRAGEN"}}}


# Nested connections.

async def _reviews(session: AsyncSession, subject: Need, n: int) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    session.add_all([Review(subject_type="need", subject_id=subject.id, reviewer="sup-kalijambe",
                            decision=SubmissionStatus.returned, reason=f"review {i}", at=at + timedelta(hours=i),
                            **region_codes(subject.village_code)) for i in range(n)])
    await session.flush()


async def test_reviews_of_a_page_of_needs_are_paged_per_need_in_one_batch(
        api: Api, world: World, session: AsyncSession, statements: Any) -> None:
    await reset_scope(session)
    needs = [Need(household_id=world.household.id, category="health", recorded_by="fac-keden",
                  created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i), **region_codes(VILLAGE))
             for i in range(3)]
    session.add_all(needs)
    await session.flush()
    for need, n in zip(needs, (3, 1, 0), strict=True):
        await _reviews(session, need, n)
    query = """query($first: Int) { needs(orderBy: CREATED_AT_ASC) { nodes { id reviews(first: $first) {
      totalCount pageInfo { hasNextPage endCursor } nodes { reason } } } } }"""
    statements.statements.clear()
    body = await api(SUPERVISOR, query, first=2)
    got = [(n["reviews"]["totalCount"], n["reviews"]["pageInfo"]["hasNextPage"],
            [r["reason"] for r in n["reviews"]["nodes"]]) for n in body["data"]["needs"]["nodes"]]
    assert got == [(3, True, ["review 0", "review 1"]), (1, False, ["review 0"]), (0, False, [])]
    # Set the scope, the needs, one page of reviews for all of them, one grouped count; + the access log.
    assert len(statements.statements) == 4 + 1, statements.statements

    after = body["data"]["needs"]["nodes"][0]["reviews"]["pageInfo"]["endCursor"]
    rest = await api(SUPERVISOR, """query($id: ID!, $after: String) { node(id: $id) { ... on Need {
      reviews(first: 2, after: $after) { pageInfo { hasNextPage hasPreviousPage } nodes { reason } } } } }""",
                     id=to_global_id("Need", needs[0].id), after=after)
    assert rest == {"data": {"node": {"reviews": {"pageInfo": {"hasNextPage": False, "hasPreviousPage": True},
                                                  "nodes": [{"reason": "review 2"}]}}}}
    too_large = await api(SUPERVISOR, "{ needs { nodes { reviews(first: 101) { totalCount } } } }")
    assert {e["extensions"]["code"] for e in too_large["errors"]} == {"PAGE_TOO_LARGE"}


async def _cases(session: AsyncSession, world: World, n: int) -> list[Case]:
    await reset_scope(session)
    cases = [Case(household_id=world.household.id, status=CaseStatus.referred, **region_codes(VILLAGE))
             for _ in range(n)]
    session.add_all(cases)
    await session.flush()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for case in cases:
        session.add_all([
            CaseEvent(case_id=case.id, actor="sup", role="supervisor", from_status=None, to_status="open",
                      at=at, **region_codes(VILLAGE)),
            CaseEvent(case_id=case.id, actor="man", role="manager", from_status="open", to_status="referred",
                      at=at + timedelta(hours=1), **region_codes(VILLAGE))])
    await session.flush()
    return cases


CASES_WITH_HISTORY = """query($first: Int) { cases(first: $first) { totalCount nodes { id
  history(first: 1) { totalCount pageInfo { hasNextPage } nodes { toStatus } } } } }"""


async def test_statements_for_cases_with_history_do_not_grow_with_the_page(
        api: Api, world: World, session: AsyncSession, statements: Any) -> None:
    await _cases(session, world, 12)
    counts = {}
    for first in (2, 12):
        statements.statements.clear()
        body = await api(MANAGER, CASES_WITH_HISTORY, first=first)
        cases = body["data"]["cases"]
        assert (cases["totalCount"], len(cases["nodes"])) == (12, first)
        assert {(c["history"]["totalCount"], c["history"]["pageInfo"]["hasNextPage"],
                 c["history"]["nodes"][0]["toStatus"]) for c in cases["nodes"]} == {(2, True, "OPEN")}
        counts[first] = len(statements.statements)
    # Scope, cases, their count, one page of every history, one grouped count of them; + the access log.
    assert counts == {2: 5 + 1, 12: 5 + 1}


async def test_cases_filter_by_region_and_order_by_due_date(api: Api, world: World, session: AsyncSession) -> None:
    await reset_scope(session)
    now = datetime.now(UTC)
    near = Case(household_id=world.household.id, status=CaseStatus.open, due_at=now + timedelta(hours=1),
                **region_codes(VILLAGE))
    done = Case(household_id=world.household.id, status=CaseStatus.informed, due_at=None, **region_codes(VILLAGE))
    far = Case(household_id=world.far_household.id, status=CaseStatus.open, due_at=now + timedelta(days=9),
               **_region(world.far_household))
    session.add_all([near, done, far])
    await session.flush()
    query = """query($region: String) { cases(filter: {regionCode: $region}, orderBy: DUE_AT_ASC) {
      totalCount nodes { id } } }"""
    body = await api(MANAGER, query)
    assert body["data"]["cases"] == {"totalCount": 3, "nodes": [
        {"id": to_global_id("Case", c.id)} for c in (near, far, done)]}
    body = await api(MANAGER, query, region=world.far_household.district_code)
    assert body["data"]["cases"] == {"totalCount": 1, "nodes": [{"id": to_global_id("Case", far.id)}]}
    # The supervisor's district does not include the far household, whatever the filter asks.
    body = await api(SUPERVISOR, query, region="33.14")
    assert body["data"]["cases"]["totalCount"] == 2


# Reviews have their own global ID; they are exactly as visible as the submission they review.

REVIEW = """query($id: ID!) { node(id: $id) { __typename id ... on Review { submissionId reviewer decision
  reason } } }"""


async def _one_review_each(session: AsyncSession, rows: Rows) -> dict[str, Review]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    reviews = {kind: Review(subject_type=kind, subject_id=subject.id, reviewer="sup-kalijambe",
                            decision=SubmissionStatus.returned, reason=f"check the {kind}", at=at,
                            **region_codes(subject.village_code))
               for kind, subject in (("need", rows.need), ("complaint", rows.complaint),
                                     ("proposal", rows.proposal))}
    session.add_all(reviews.values())
    await session.flush()
    return reviews


async def test_review_resolves_by_node_with_its_submission(api: Api, session: AsyncSession, rows: Rows) -> None:
    reviews = await _one_review_each(session, rows)
    subjects = {"need": ("Need", rows.need.id), "complaint": ("Complaint", rows.complaint.id),
                "proposal": ("Proposal", rows.proposal.id)}
    for kind, review in reviews.items():
        gid = to_global_id("Review", review.id)
        body = await api(FACILITATOR, REVIEW, id=gid)
        assert body == {"data": {"node": {
            "__typename": "Review", "id": gid, "submissionId": to_global_id(*subjects[kind]),
            "reviewer": "sup-kalijambe", "decision": "RETURNED", "reason": f"check the {kind}"}}}, kind
    # The ID in a submission's reviews connection is the same one.
    listed = await api(SUPERVISOR, "query($id: ID!) { node(id: $id) { ... on Need { reviews { nodes { id } } } } }",
                       id=to_global_id("Need", rows.need.id))
    assert listed == {"data": {"node": {"reviews": {"nodes": [{"id": to_global_id("Review", reviews["need"].id)}]}}}}


async def test_out_of_scope_and_missing_reviews_read_the_same_in_as_many_statements(
        api: Api, session: AsyncSession, rows: Rows, statements: Any) -> None:
    reviews = await _one_review_each(session, rows)
    missing_id = to_global_id("Review", uuid.uuid4())
    for kind, review in reviews.items():
        gid = to_global_id("Review", review.id)
        # OWNER_BPNT is national, so the review's own region is readable: only its submission (a
        # household neither enrolled in nor referred to BPNT) keeps it out.
        for caller in (FACILITATOR_ELSEWHERE, MANAGER_ELSEWHERE, OWNER_BPNT):
            statements.statements.clear()
            out_of_scope = await api(caller, REVIEW, id=gid)
            out_count = len(statements.statements)
            statements.statements.clear()
            missing = await api(caller, REVIEW, id=missing_id)
            assert out_of_scope == missing == {"data": {"node": None}}, (kind, caller.subject)
            # Scope, one review look-up through its submission's scope; + the access log.
            assert out_count == len(statements.statements) == 2 + 1, statements.statements
        # The owner of a programme the household is referred to reads it, as it reads the submission.
        assert (await api(OWNER_PKH, REVIEW, id=gid))["data"]["node"]["id"] == gid, kind


async def test_review_ids_are_typed_and_node_reads_are_audited(
        api: Api, session: AsyncSession, rows: Rows, app_engine: AsyncEngine) -> None:
    reviews = await _one_review_each(session, rows)
    gid = to_global_id("Review", reviews["need"].id)
    body = await api(FACILITATOR, "query($id: ID!) { case(id: $id) { id } }", id=gid)
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("INVALID_ID", ["case"])]
    # The app role may only INSERT into the access log, so read the entry off the wire.
    with sent(app_engine) as seen:
        await api(FACILITATOR, REVIEW, id=gid)
    written = access_log_inserts(seen)
    assert len(written) == 1
    assert f"Review:{reviews['need'].id}" in str(written[0])


async def test_proposals_read_are_recorded_in_the_access_log(api: Api, rows: Rows, app_engine: AsyncEngine) -> None:
    # A proposal's payload carries personal data (a correction's old and new values): reading one is a
    # personal read like reading the person.
    with sent(app_engine) as seen:
        body = await api(FACILITATOR, "{ proposals(first: 10) { nodes { payload } } }")
    written = access_log_inserts(seen)
    assert body["data"]["proposals"]["nodes"] == [{"payload": {"address": "Jl. Baru 2"}}]
    assert len(written) == 1
    assert f"Proposal:{rows.proposal.id}" in str(written[0])
