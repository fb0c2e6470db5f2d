"""Facilitators record, supervisors review: every step over HTTP, and every refusal changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Case, CaseEvent, Complaint, Need, Review, SubmissionStatus
from schema.ids import parse_global_id, to_global_id
from tests.schema.workflow.conftest import (
    FACILITATOR,
    FACILITATOR_2,
    FACILITATOR_ELSEWHERE,
    SUPERVISOR,
    SUPERVISOR_ELSEWHERE,
    Api,
    World,
    count,
    q,
    reload,
    reset_scope,
)

RECORD_NEED = q("""mutation($input: RecordSubmissionInput!) { recordNeed(input: $input) {
  __typename ... on RecordNeedPayload { need { id householdId personId category description status recordedBy
  villageCode } } ERROR } }""")
RECORD_COMPLAINT = q("""mutation($input: RecordSubmissionInput!) { recordComplaint(input: $input) {
  __typename ... on RecordComplaintPayload { complaint { id status category villageCode } } ERROR } }""")
REVIEW = q("""mutation($input: ReviewInput!) { reviewSubmission(input: $input) {
  __typename ... on ReviewPayload { id status caseId householdId personId enrolmentId } ERROR } }""")
RESUBMIT = q("""mutation($input: ResubmitInput!) { resubmit(input: $input) {
  __typename ... on ResubmitPayload { submission { __typename ... on Need { id status description category } } }
  ERROR } }""")
BATCH = q("""mutation($input: ReviewBatchInput!) { reviewSubmissions(input: $input) {
  __typename ... on ReviewBatchPayload { results { index id result { status caseId } error { code field } } }
  ERROR } }""")


def gid(type_name: str, id_: uuid.UUID) -> str:
    return to_global_id(type_name, id_)


def _uuid(global_id: str) -> uuid.UUID:
    return parse_global_id(global_id)[1]


async def record_need(api: Api, world: World, **extra: Any) -> dict[str, Any]:
    body = await api(FACILITATOR, RECORD_NEED, input={"householdId": gid("Household", world.household.id),
                                                       "category": "health", "description": "needs BPJS", **extra})
    return body["data"]["recordNeed"]  # type: ignore[no-any-return]


async def make_need(session: AsyncSession, world: World, recorded_by: str = FACILITATOR.subject,
                    status: SubmissionStatus = SubmissionStatus.submitted) -> Need:
    await reset_scope(session)
    h = world.household
    need = Need(household_id=h.id, category="health", description="", status=status, recorded_by=recorded_by,
                province_code=h.province_code, regency_code=h.regency_code, district_code=h.district_code,
                village_code=h.village_code)
    session.add(need)
    await session.flush()
    return need


async def review(api: Api, principal: Any, type_name: str, id_: uuid.UUID, decision: str,
                 reason: str = "") -> dict[str, Any]:
    body = await api(principal, REVIEW, input={"id": gid(type_name, id_), "decision": decision, "reason": reason})
    return body["data"]["reviewSubmission"]  # type: ignore[no-any-return]


async def assert_untouched(session: AsyncSession, need: Need, status: SubmissionStatus) -> None:
    row = await reload(session, Need, need.id)
    assert row.status is status
    assert await count(session, Review, Review.subject_id == need.id) == 0
    assert await count(session, Case, Case.need_id == need.id) == 0


# Recording.

async def test_facilitator_records_a_need_in_the_household_region(api: Api, world: World,
                                                                   session: AsyncSession) -> None:
    result = await record_need(api, world, personId=gid("Person", world.head.id))
    need = result["need"]
    assert result["__typename"] == "RecordNeedPayload"
    assert need["status"] == "SUBMITTED"
    assert need["householdId"] == gid("Household", world.household.id)
    assert need["personId"] == gid("Person", world.head.id)
    assert (need["category"], need["description"], need["recordedBy"]) == ("health", "needs BPJS", "fac-keden")
    assert need["villageCode"] == "33.14.01.2001"
    row = await reload(session, Need, _uuid(need["id"]))
    assert (row.province_code, row.regency_code, row.district_code, row.village_code) == (
        "33", "33.14", "33.14.01", "33.14.01.2001")


async def test_facilitator_records_a_complaint(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(FACILITATOR, RECORD_COMPLAINT, input={"householdId": gid("Household", world.household.id),
                                                            "category": "not_received"})
    complaint = body["data"]["recordComplaint"]["complaint"]
    assert (complaint["status"], complaint["category"], complaint["villageCode"]) == (
        "SUBMITTED", "not_received", "33.14.01.2001")
    assert await count(session, Complaint) == 1


async def test_household_outside_the_villages_reads_like_a_missing_one(api: Api, world: World,
                                                                        session: AsyncSession) -> None:
    outside = await api(FACILITATOR, RECORD_NEED, input={
        "householdId": gid("Household", world.other_household.id), "category": "health"})
    missing = await api(FACILITATOR, RECORD_NEED, input={
        "householdId": gid("Household", uuid.uuid4()), "category": "health"})
    expected = {"__typename": "UserError", "code": "NOT_FOUND", "field": "householdId",
                "message": "Household not found"}
    assert outside["data"]["recordNeed"] == expected
    assert missing["data"]["recordNeed"] == expected
    assert await count(session, Need) == 0


async def test_a_member_of_another_household_is_refused(api: Api, world: World, session: AsyncSession) -> None:
    result = await record_need(api, world, personId=gid("Person", uuid.uuid4()))
    assert result == {"__typename": "UserError", "code": "NOT_FOUND", "field": "personId",
                      "message": "Person not found"}
    assert await count(session, Need) == 0


async def test_only_facilitators_record(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(SUPERVISOR, RECORD_NEED, input={"householdId": gid("Household", world.household.id),
                                                      "category": "health"})
    assert body["data"]["recordNeed"]["code"] == "FORBIDDEN"
    assert await count(session, Need) == 0


async def test_anonymous_callers_are_refused(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(None, RECORD_NEED, input={"householdId": gid("Household", world.household.id),
                                               "category": "health"})
    assert body["data"]["recordNeed"] == {"__typename": "UserError", "code": "UNAUTHENTICATED", "field": None,
                                          "message": "authentication required"}
    assert await count(session, Need) == 0


async def test_a_malformed_id_is_invalid_id(api: Api, world: World) -> None:
    body = await api(FACILITATOR, RECORD_NEED, input={"householdId": gid("Person", world.head.id),
                                                       "category": "health"})
    assert body["data"]["recordNeed"]["code"] == "INVALID_ID"
    assert body["data"]["recordNeed"]["field"] == "householdId"


# Review.

async def test_supervisor_approval_opens_a_case_with_history_and_sla(api: Api, world: World,
                                                                     session: AsyncSession) -> None:
    need_id = _uuid((await record_need(api, world))["need"]["id"])
    before = datetime.now(UTC)
    result = await review(api, SUPERVISOR, "Need", need_id, "APPROVE")
    assert result["__typename"] == "ReviewPayload"
    assert (result["id"], result["status"]) == (gid("Need", need_id), "APPROVED")
    case = await reload(session, Case, _uuid(result["caseId"]))
    assert (case.status.value, case.need_id, case.household_id) == ("open", need_id, world.household.id)
    assert case.village_code == world.household.village_code
    assert case.due_at is not None
    assert before + timedelta(hours=72) <= case.due_at <= datetime.now(UTC) + timedelta(hours=72)
    events = (await session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars().all()
    assert [(e.actor, e.role, e.from_status, e.to_status) for e in events] == [
        ("sup-kalijambe", "supervisor", None, "open")]
    reviews = (await session.execute(select(Review).where(Review.subject_id == need_id))).scalars().all()
    assert [(r.reviewer, r.decision.value, r.subject_type) for r in reviews] == [("sup-kalijambe", "approved", "need")]
    assert (await reload(session, Need, need_id)).status is SubmissionStatus.approved


async def test_approving_a_complaint_opens_a_case(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(FACILITATOR, RECORD_COMPLAINT, input={"householdId": gid("Household", world.household.id),
                                                            "category": "not_received"})
    complaint_id = _uuid(body["data"]["recordComplaint"]["complaint"]["id"])
    result = await review(api, SUPERVISOR, "Complaint", complaint_id, "APPROVE")
    case = await reload(session, Case, _uuid(result["caseId"]))
    assert (case.complaint_id, case.need_id) == (complaint_id, None)


async def test_a_supervisor_never_reviews_their_own_submission(api: Api, world: World,
                                                               session: AsyncSession) -> None:
    need = await make_need(session, world, recorded_by=SUPERVISOR.subject)
    result = await review(api, SUPERVISOR, "Need", need.id, "APPROVE")
    assert result == {"__typename": "UserError", "code": "FORBIDDEN", "field": None,
                      "message": "a supervisor may not review their own submission"}
    await assert_untouched(session, need, SubmissionStatus.submitted)


async def test_a_supervisor_of_another_district_sees_nothing(api: Api, world: World, session: AsyncSession) -> None:
    need = await make_need(session, world)
    outside = await review(api, SUPERVISOR_ELSEWHERE, "Need", need.id, "APPROVE")
    missing = await review(api, SUPERVISOR_ELSEWHERE, "Need", uuid.uuid4(), "APPROVE")
    assert outside == missing == {"__typename": "UserError", "code": "NOT_FOUND", "field": None,
                                  "message": "Need not found"}
    await assert_untouched(session, need, SubmissionStatus.submitted)


async def test_only_supervisors_review(api: Api, world: World, session: AsyncSession) -> None:
    need = await make_need(session, world, recorded_by=FACILITATOR_2.subject)
    result = await review(api, FACILITATOR, "Need", need.id, "APPROVE")
    assert result["code"] == "FORBIDDEN"
    await assert_untouched(session, need, SubmissionStatus.submitted)


async def test_rejecting_or_returning_needs_a_reason(api: Api, world: World, session: AsyncSession) -> None:
    need = await make_need(session, world)
    for decision in ("REJECT", "RETURN"):
        result = await review(api, SUPERVISOR, "Need", need.id, decision, reason="   ")
        assert result == {"__typename": "UserError", "code": "INVALID_INPUT", "field": "reason",
                          "message": f"a reason is required to {decision.lower()}"}
    await assert_untouched(session, need, SubmissionStatus.submitted)


async def test_a_decided_submission_cannot_be_reviewed_again(api: Api, world: World, session: AsyncSession) -> None:
    need = await make_need(session, world)
    rejected = await review(api, SUPERVISOR, "Need", need.id, "REJECT", reason="not poor")
    assert (rejected["status"], rejected["caseId"]) == ("REJECTED", None)
    again = await review(api, SUPERVISOR, "Need", need.id, "APPROVE")
    assert again == {"__typename": "UserError", "code": "ILLEGAL_TRANSITION", "field": None,
                     "message": "a rejected submission cannot be given the decision 'approve'"}
    row = await reload(session, Need, need.id)
    assert row.status is SubmissionStatus.rejected
    assert await count(session, Review, Review.subject_id == need.id) == 1
    assert await count(session, Case) == 0


async def test_returned_then_resubmitted_with_a_correction(api: Api, world: World, session: AsyncSession) -> None:
    need_id = _uuid((await record_need(api, world))["need"]["id"])
    returned = await review(api, SUPERVISOR, "Need", need_id, "RETURN", reason="which member?")
    assert returned["status"] == "RETURNED"
    body = await api(FACILITATOR, RESUBMIT, input={"id": gid("Need", need_id), "description": "the mother"})
    assert body["data"]["resubmit"]["submission"] == {"__typename": "Need", "id": gid("Need", need_id),
                                                      "status": "SUBMITTED", "description": "the mother",
                                                      "category": "health"}
    assert (await review(api, SUPERVISOR, "Need", need_id, "APPROVE"))["status"] == "APPROVED"
    decisions = (await session.execute(select(Review.decision).where(Review.subject_id == need_id)
                                       .order_by(Review.at))).scalars().all()
    assert [d.value for d in decisions] == ["returned", "submitted", "approved"]
    body = await api(SUPERVISOR, "{ needs { nodes { id reviews { totalCount nodes { reviewer decision reason } } } } }")
    assert body["data"]["needs"]["nodes"] == [{"id": gid("Need", need_id), "reviews": {"totalCount": 3, "nodes": [
        {"reviewer": "sup-kalijambe", "decision": "RETURNED", "reason": "which member?"},
        {"reviewer": "fac-keden", "decision": "SUBMITTED", "reason": "resubmitted"},
        {"reviewer": "sup-kalijambe", "decision": "APPROVED", "reason": ""},
    ]}}]


async def test_only_a_returned_submission_can_be_resubmitted(api: Api, world: World, session: AsyncSession) -> None:
    need = await make_need(session, world)
    body = await api(FACILITATOR, RESUBMIT, input={"id": gid("Need", need.id), "description": "changed"})
    assert body["data"]["resubmit"] == {"__typename": "UserError", "code": "ILLEGAL_TRANSITION", "field": None,
                                        "message": "only a returned submission can be resubmitted; "
                                                   "this one is submitted"}
    row = await reload(session, Need, need.id)
    assert (row.status, row.description) == (SubmissionStatus.submitted, "")


async def test_resubmission_is_for_facilitators_in_the_village(api: Api, world: World,
                                                               session: AsyncSession) -> None:
    need = await make_need(session, world, status=SubmissionStatus.returned)
    outside = await api(FACILITATOR_ELSEWHERE, RESUBMIT, input={"id": gid("Need", need.id)})
    assert outside["data"]["resubmit"]["code"] == "NOT_FOUND"
    supervisor = await api(SUPERVISOR, RESUBMIT, input={"id": gid("Need", need.id)})
    assert supervisor["data"]["resubmit"]["code"] == "FORBIDDEN"
    assert (await reload(session, Need, need.id)).status is SubmissionStatus.returned


async def test_batch_review_reports_each_item_and_applies_only_the_good_ones(api: Api, world: World,
                                                                            session: AsyncSession) -> None:
    good = await make_need(session, world)
    own = await make_need(session, world, recorded_by=SUPERVISOR.subject)
    missing = uuid.uuid4()
    body = await api(SUPERVISOR, BATCH, input={"items": [
        {"id": gid("Need", good.id), "decision": "APPROVE"},
        {"id": gid("Need", own.id), "decision": "APPROVE"},
        {"id": gid("Need", missing), "decision": "REJECT", "reason": "x"},
        {"id": gid("Household", world.household.id), "decision": "APPROVE"},
    ]})
    results = body["data"]["reviewSubmissions"]["results"]
    case_id = results[0]["result"]["caseId"]
    assert results == [
        {"index": 0, "id": gid("Need", good.id), "result": {"status": "APPROVED", "caseId": case_id}, "error": None},
        {"index": 1, "id": gid("Need", own.id), "result": None, "error": {"code": "FORBIDDEN", "field": None}},
        {"index": 2, "id": gid("Need", missing), "result": None, "error": {"code": "NOT_FOUND", "field": None}},
        {"index": 3, "id": gid("Household", world.household.id), "result": None,
         "error": {"code": "INVALID_ID", "field": "id"}},
    ]
    assert (await reload(session, Need, good.id)).status is SubmissionStatus.approved
    await assert_untouched(session, own, SubmissionStatus.submitted)
    assert await count(session, Case) == 1


async def test_a_batch_of_more_than_a_hundred_is_refused_whole(api: Api, world: World,
                                                              session: AsyncSession) -> None:
    need = await make_need(session, world)
    items = [{"id": gid("Need", need.id), "decision": "APPROVE"}] * 101
    body = await api(SUPERVISOR, BATCH, input={"items": items})
    assert body["data"]["reviewSubmissions"] == {"__typename": "UserError", "code": "INVALID_INPUT",
                                                 "field": "items", "message": "at most 100 submissions per batch"}
    await assert_untouched(session, need, SubmissionStatus.submitted)
