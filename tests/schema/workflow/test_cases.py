"""Managers refer, programme owners decide, facilitators inform: each step and each refusal over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from hub.config import Settings
from hub.models import Case, CaseEvent, CaseStatus
from schema.ids import parse_global_id, to_global_id
from tests.schema.workflow.conftest import (
    FACILITATOR,
    FACILITATOR_ELSEWHERE,
    MANAGER,
    MANAGER_ELSEWHERE,
    OWNER_BAZNAS,
    OWNER_BPNT,
    OWNER_PKH,
    SUPERVISOR,
    Api,
    World,
    count,
    q,
    reload,
)

CASE_FIELDS = "id status programmeId partnerId recommendation dueAt overdue"
REFER = q("""mutation($input: ReferCaseInput!) { referCase(input: $input) {
  __typename ... on CasePayload { case { CASE_FIELDS } } ERROR } }""").replace("CASE_FIELDS", CASE_FIELDS)
DECIDE = q("""mutation($input: DecideCaseInput!) { decideCase(input: $input) {
  __typename ... on CasePayload { case { CASE_FIELDS } } ERROR } }""").replace("CASE_FIELDS", CASE_FIELDS)
INFORM = q("""mutation($input: MarkInformedInput!) { markHouseholdInformed(input: $input) {
  __typename ... on CasePayload { case { CASE_FIELDS } } ERROR } }""").replace("CASE_FIELDS", CASE_FIELDS)
RECORD_NEED = q("""mutation($input: RecordSubmissionInput!) { recordNeed(input: $input) {
  ... on RecordNeedPayload { need { id } } ERROR } }""")
REVIEW = q("""mutation($input: ReviewInput!) { reviewSubmission(input: $input) {
  ... on ReviewPayload { caseId } ERROR } }""")
CASE_WITH_HISTORY = """query($id: ID!) { case(id: $id) { id status householdId needId
  history { nodes { actor role fromStatus toStatus reason } } } }"""


def gid(type_name: str, id_: uuid.UUID) -> str:
    return to_global_id(type_name, id_)


async def open_case(api: Api, world: World) -> uuid.UUID:
    need = await api(FACILITATOR, RECORD_NEED, input={"householdId": gid("Household", world.household.id),
                                                       "category": "health"})
    reviewed = await api(SUPERVISOR, REVIEW, input={"id": need["data"]["recordNeed"]["need"]["id"],
                                                     "decision": "APPROVE"})
    return parse_global_id(reviewed["data"]["reviewSubmission"]["caseId"])[1]


async def refer(api: Api, case_id: uuid.UUID, principal: Principal = MANAGER, **fields: Any) -> dict[str, Any]:
    fields.setdefault("programmeCode", "PKH")
    body = await api(principal, REFER, input={"caseId": gid("Case", case_id), **fields})
    return body["data"]["referCase"]  # type: ignore[no-any-return]


async def decide(api: Api, case_id: uuid.UUID, decision: str, principal: Principal = OWNER_PKH,
                 reason: str = "meets the criteria") -> dict[str, Any]:
    body = await api(principal, DECIDE, input={"caseId": gid("Case", case_id), "decision": decision,
                                               "reason": reason})
    return body["data"]["decideCase"]  # type: ignore[no-any-return]


async def inform(api: Api, case_id: uuid.UUID, principal: Principal = FACILITATOR) -> dict[str, Any]:
    body = await api(principal, INFORM, input={"caseId": gid("Case", case_id), "note": "told the mother"})
    return body["data"]["markHouseholdInformed"]  # type: ignore[no-any-return]


async def history(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[str, str, str | None, str]]:
    await reload(session, Case, case_id)
    events = (await session.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                    .order_by(CaseEvent.at))).scalars().all()
    return [(e.actor, e.role, e.from_status, e.to_status) for e in events]


async def assert_unchanged(session: AsyncSession, case_id: uuid.UUID, status: CaseStatus, events: int) -> None:
    case = await reload(session, Case, case_id)
    assert case.status is status
    assert await count(session, CaseEvent, CaseEvent.case_id == case_id) == events


def hours_from_now(value: str, hours: int) -> bool:
    due = datetime.fromisoformat(value)
    expected = datetime.now(UTC) + timedelta(hours=hours)
    return abs((due - expected).total_seconds()) < 60


# The whole journey.

async def test_a_need_travels_from_referral_to_the_household(api: Api, world: World, session: AsyncSession) -> None:
    case_id = await open_case(api, world)

    referred = await refer(api, case_id, recommendation="update the registry: new baby", reason="fits PKH")
    case = referred["case"]
    assert referred["__typename"] == "CasePayload"
    assert (case["status"], case["programmeId"], case["partnerId"]) == (
        "REFERRED", gid("Programme", world.pkh.id), None)
    assert case["recommendation"] == "update the registry: new baby"
    assert hours_from_now(case["dueAt"], 14 * 24)
    assert case["overdue"] is False

    study = await decide(api, case_id, "FURTHER_STUDY", reason="verify income")
    assert study["case"]["status"] == "FURTHER_STUDY"
    assert hours_from_now(study["case"]["dueAt"], 30 * 24)

    approved = await decide(api, case_id, "APPROVE")
    assert approved["case"]["status"] == "APPROVED"
    assert hours_from_now(approved["case"]["dueAt"], 7 * 24)

    informed = await inform(api, case_id)
    assert informed["case"]["status"] == "INFORMED"
    assert (informed["case"]["dueAt"], informed["case"]["overdue"]) == (None, False)

    body = await api(FACILITATOR, CASE_WITH_HISTORY, id=gid("Case", case_id))
    assert body["data"]["case"]["history"]["nodes"] == [
        {"actor": "sup-kalijambe", "role": "supervisor", "fromStatus": None, "toStatus": "OPEN", "reason": ""},
        {"actor": "man-sragen", "role": "manager", "fromStatus": "OPEN", "toStatus": "REFERRED",
         "reason": "fits PKH"},
        {"actor": "owner-pkh", "role": "programme_owner", "fromStatus": "REFERRED", "toStatus": "FURTHER_STUDY",
         "reason": "verify income"},
        {"actor": "owner-pkh", "role": "programme_owner", "fromStatus": "FURTHER_STUDY", "toStatus": "APPROVED",
         "reason": "meets the criteria"},
        {"actor": "fac-keden", "role": "facilitator", "fromStatus": "APPROVED", "toStatus": "INFORMED",
         "reason": "told the mother"},
    ]


async def test_a_partner_referral_is_decided_by_the_partner(api: Api, world: World, session: AsyncSession) -> None:
    case_id = await open_case(api, world)
    referred = await refer(api, case_id, programmeCode=None, partnerCode="BAZNAS-SRAGEN")
    assert (referred["case"]["partnerId"], referred["case"]["programmeId"]) == (gid("Partner", world.partner.id), None)
    assert (await decide(api, case_id, "REJECT", principal=OWNER_PKH))["code"] == "NOT_FOUND"
    rejected = await decide(api, case_id, "REJECT", principal=OWNER_BAZNAS, reason="already helped")
    assert rejected["case"]["status"] == "REJECTED"
    assert (await inform(api, case_id))["case"]["status"] == "INFORMED"


# Referral refusals.

async def test_referral_refusals_change_nothing(api: Api, world: World, session: AsyncSession) -> None:
    case_id = await open_case(api, world)
    not_found = {"__typename": "UserError", "code": "NOT_FOUND", "field": None, "message": "Case not found"}
    assert await refer(api, case_id, principal=MANAGER_ELSEWHERE) == not_found
    assert await refer(api, uuid.uuid4()) == not_found
    assert await refer(api, case_id, principal=SUPERVISOR) == {
        "__typename": "UserError", "code": "FORBIDDEN", "field": None, "message": "only a manager may refer a case"}
    assert await refer(api, case_id, partnerCode="BAZNAS-SRAGEN") == {
        "__typename": "UserError", "code": "INVALID_INPUT", "field": "programmeCode",
        "message": "refer to exactly one of a programme or a partner"}
    assert await refer(api, case_id, programmeCode="NOPE") == {
        "__typename": "UserError", "code": "NOT_FOUND", "field": "programmeCode", "message": "Programme not found"}
    await assert_unchanged(session, case_id, CaseStatus.open, 1)
    case = await reload(session, Case, case_id)
    assert (case.programme_id, case.partner_id, case.recommendation) == (None, None, None)


async def test_a_programme_that_does_not_run_in_the_region_is_refused(api: Api, world: World,
                                                                      session: AsyncSession) -> None:
    from hub.models import ProgrammeRegion

    session.add(ProgrammeRegion(programme_id=world.bpnt.id, region_code="33.15"))
    await session.flush()
    case_id = await open_case(api, world)
    assert await refer(api, case_id, programmeCode="BPNT") == {
        "__typename": "UserError", "code": "INVALID_INPUT", "field": "programmeCode",
        "message": "the programme does not run in the household's region"}
    await assert_unchanged(session, case_id, CaseStatus.open, 1)


async def test_a_referred_case_cannot_be_referred_again(api: Api, world: World, session: AsyncSession) -> None:
    case_id = await open_case(api, world)
    await refer(api, case_id)
    assert await refer(api, case_id, programmeCode="BPNT") == {
        "__typename": "UserError", "code": "ILLEGAL_TRANSITION", "field": None,
        "message": "only an open case can be referred; this one is referred"}
    await assert_unchanged(session, case_id, CaseStatus.referred, 2)
    assert (await reload(session, Case, case_id)).programme_id == world.pkh.id


# Decision refusals.

async def test_deciding_before_referral_is_refused(api: Api, world: World, session: AsyncSession) -> None:
    case_id = await open_case(api, world)
    # Not yet referred to any programme, so no owner's scope holds it.
    assert await decide(api, case_id, "APPROVE") == {
        "__typename": "UserError", "code": "NOT_FOUND", "field": None, "message": "Case not found"}
    await assert_unchanged(session, case_id, CaseStatus.open, 1)


async def test_an_owner_decides_only_for_their_programmes(api: Api, world: World, session: AsyncSession) -> None:
    case_id = await open_case(api, world)
    await refer(api, case_id)
    assert await decide(api, case_id, "APPROVE", principal=OWNER_BPNT) == {
        "__typename": "UserError", "code": "NOT_FOUND", "field": None, "message": "Case not found"}
    assert (await decide(api, case_id, "APPROVE", principal=FACILITATOR))["code"] == "FORBIDDEN"
    assert await decide(api, case_id, "REJECT", reason=" ") == {
        "__typename": "UserError", "code": "INVALID_INPUT", "field": "reason",
        "message": "a reason is required to reject"}
    await assert_unchanged(session, case_id, CaseStatus.referred, 2)


async def test_further_study_cannot_be_repeated_and_decisions_are_final(api: Api, world: World,
                                                                       session: AsyncSession) -> None:
    case_id = await open_case(api, world)
    await refer(api, case_id)
    await decide(api, case_id, "FURTHER_STUDY")
    assert await decide(api, case_id, "FURTHER_STUDY") == {
        "__typename": "UserError", "code": "ILLEGAL_TRANSITION", "field": None,
        "message": "a further_study case cannot be given the decision 'further_study'"}
    await assert_unchanged(session, case_id, CaseStatus.further_study, 3)
    await decide(api, case_id, "REJECT")
    assert (await decide(api, case_id, "APPROVE"))["code"] == "ILLEGAL_TRANSITION"
    await assert_unchanged(session, case_id, CaseStatus.rejected, 4)


# Informing refusals.

async def test_informing_refusals_change_nothing(api: Api, world: World, session: AsyncSession) -> None:
    case_id = await open_case(api, world)
    await refer(api, case_id)
    assert await inform(api, case_id) == {
        "__typename": "UserError", "code": "ILLEGAL_TRANSITION", "field": None,
        "message": "the household can be informed only of a decision; the case is referred"}
    await decide(api, case_id, "APPROVE")
    assert (await inform(api, case_id, principal=FACILITATOR_ELSEWHERE))["code"] == "NOT_FOUND"
    assert (await inform(api, case_id, principal=MANAGER))["code"] == "FORBIDDEN"
    await assert_unchanged(session, case_id, CaseStatus.approved, 3)
    await inform(api, case_id)
    assert (await inform(api, case_id))["code"] == "ILLEGAL_TRANSITION"
    await assert_unchanged(session, case_id, CaseStatus.informed, 4)


# Queries.

CASES = """query($status: CaseStatus, $overdue: Boolean) {
  cases(filter: {status: $status, overdue: $overdue}) { nodes { id status overdue } } }"""


async def test_cases_filter_by_status_and_overdue(api: Api, world: World, session: AsyncSession) -> None:
    late, fresh, referred = [await open_case(api, world) for _ in range(3)]
    await refer(api, referred)
    row = await reload(session, Case, late)
    row.due_at = datetime.now(UTC) - timedelta(hours=1)
    await session.flush()

    overdue = (await api(MANAGER, CASES, overdue=True))["data"]["cases"]["nodes"]
    assert overdue == [{"id": gid("Case", late), "status": "OPEN", "overdue": True}]
    on_time = (await api(MANAGER, CASES, overdue=False))["data"]["cases"]["nodes"]
    assert {c["id"] for c in on_time} == {gid("Case", fresh), gid("Case", referred)}
    open_ = (await api(MANAGER, CASES, status="OPEN"))["data"]["cases"]["nodes"]
    assert {c["id"] for c in open_} == {gid("Case", late), gid("Case", fresh)}
    assert (await api(MANAGER_ELSEWHERE, CASES))["data"]["cases"]["nodes"] == []
    # A programme owner sees only the cases referred to their programmes.
    assert [c["id"] for c in (await api(OWNER_PKH, CASES))["data"]["cases"]["nodes"]] == [gid("Case", referred)]
    assert (await api(OWNER_BPNT, CASES))["data"]["cases"]["nodes"] == []


async def test_a_case_out_of_scope_reads_as_null(api: Api, world: World) -> None:
    case_id = await open_case(api, world)
    body = await api(FACILITATOR_ELSEWHERE, CASE_WITH_HISTORY, id=gid("Case", case_id))
    assert body == {"data": {"case": None}}
    assert await api(FACILITATOR, CASE_WITH_HISTORY, id=gid("Case", uuid.uuid4())) == {"data": {"case": None}}


async def test_a_case_with_its_history_costs_four_statements(api: Api, world: World, statements: Any) -> None:
    case_id = await open_case(api, world)
    await refer(api, case_id)
    await decide(api, case_id, "APPROVE")
    statements.statements.clear()
    body = await api(FACILITATOR, CASE_WITH_HISTORY, id=gid("Case", case_id))
    assert [e["toStatus"] for e in body["data"]["case"]["history"]["nodes"]] == ["OPEN", "REFERRED", "APPROVED"]
    # The request's read transaction: set the scope, select the case; the history (one DataLoader batch)
    # runs in the same transaction: select the events. Then the access-log entry, written before the
    # response leaves. (Was 4 + 1 while each workflow read opened its own transaction and set the scope again.)
    assert len(statements.statements) == 3 + 1, statements.statements
    assert statements.statements[-1].startswith("INSERT INTO access_logs")


async def test_history_of_many_cases_is_one_batch(api: Api, world: World, statements: Any) -> None:
    for _ in range(3):
        await open_case(api, world)
    statements.statements.clear()
    body = await api(MANAGER, "{ cases { nodes { id history { nodes { toStatus } } } } }")
    assert [len(c["history"]["nodes"]) for c in body["data"]["cases"]["nodes"]] == [1, 1, 1]
    # Set the scope, select the cases, select the events of all of them, + the access-log entry.
    assert len(statements.statements) == 3 + 1, statements.statements


async def test_the_sla_of_each_step_comes_from_settings(api: Api, world: World, settings: Settings,
                                                        session: AsyncSession) -> None:
    settings.sla_hours = {"refer": 1}  # other steps keep their defaults
    case_id = await open_case(api, world)
    case = await reload(session, Case, case_id)
    assert case.due_at is not None
    assert hours_from_now(case.due_at.isoformat(), 1)
    referred = await refer(api, case_id)
    assert hours_from_now(referred["case"]["dueAt"], 14 * 24)
