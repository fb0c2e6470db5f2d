"""Proposals reach the registry only after a supervisor approves them; corrections keep the old values."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Enrolment, EnrolmentStatus, Household, Person, Proposal, SubmissionStatus
from hub.workflow import service as workflow_service
from schema.ids import parse_global_id, to_global_id
from tests.schema.workflow.conftest import (
    FACILITATOR,
    SUPERVISOR,
    Api,
    World,
    count,
    q,
    reload,
)

PROPOSAL = "... on ProposalPayload { proposal { id kind status householdId personId payload previous villageCode } }"
PROPOSE_HOUSEHOLD = q("mutation($input: ProposeHouseholdInput!) { proposeHousehold(input: $input) { __typename "
                      + PROPOSAL + " ERROR } }")
PROPOSE_PERSON = q("mutation($input: ProposePersonInput!) { proposePerson(input: $input) { __typename "
                   + PROPOSAL + " ERROR } }")
CORRECT_PERSON = q("mutation($input: ProposePersonCorrectionInput!) { proposePersonCorrection(input: $input) { "
                   "__typename " + PROPOSAL + " ERROR } }")
CORRECT_HOUSEHOLD = q("mutation($input: ProposeHouseholdCorrectionInput!) { proposeHouseholdCorrection(input: $input)"
                      " { __typename " + PROPOSAL + " ERROR } }")
PARTICIPATION = q("mutation($input: RecordParticipationInput!) { recordParticipation(input: $input) { __typename "
                  + PROPOSAL + " ERROR } }")
REVIEW = q("""mutation($input: ReviewInput!) { reviewSubmission(input: $input) {
  __typename ... on ReviewPayload { id status caseId householdId personId enrolmentId } ERROR } }""")

VALID_NIK = "3314015505900003"  # Sragen, woman born 15 May 1990


def gid(type_name: str, id_: uuid.UUID) -> str:
    return to_global_id(type_name, id_)


def local(global_id: str) -> uuid.UUID:
    return parse_global_id(global_id)[1]


async def approve(api: Api, proposal: dict[str, Any], decision: str = "APPROVE", reason: str = "") -> dict[str, Any]:
    body = await api(SUPERVISOR, REVIEW, input={"id": proposal["id"], "decision": decision, "reason": reason})
    return body["data"]["reviewSubmission"]  # type: ignore[no-any-return]


async def test_a_new_household_is_added_only_on_approval(api: Api, world: World, session: AsyncSession) -> None:
    households = await count(session, Household)
    body = await api(FACILITATOR, PROPOSE_HOUSEHOLD, input={"villageCode": "33.14.01.2001",
                                                             "address": "Dusun Keden RT 2"})
    proposal = body["data"]["proposeHousehold"]["proposal"]
    assert (proposal["kind"], proposal["status"], proposal["householdId"], proposal["villageCode"]) == (
        "NEW_HOUSEHOLD", "SUBMITTED", None, "33.14.01.2001")
    assert proposal["payload"] == {"village_code": "33.14.01.2001", "address": "Dusun Keden RT 2",
                                   "registry_id": None}
    assert await count(session, Household) == households

    result = await approve(api, proposal)
    assert result["status"] == "APPROVED"
    household = await reload(session, Household, local(result["householdId"]))
    assert (household.address, household.district_code, household.village_code) == (
        "Dusun Keden RT 2", "33.14.01", "33.14.01.2001")
    assert (await reload(session, Proposal, local(proposal["id"]))).household_id == household.id


async def test_a_new_household_must_be_in_a_real_village_of_the_facilitator(api: Api, world: World,
                                                                            session: AsyncSession) -> None:
    elsewhere = await api(FACILITATOR, PROPOSE_HOUSEHOLD, input={"villageCode": "33.14.01.2002", "address": "x"})
    assert elsewhere["data"]["proposeHousehold"] == {"__typename": "UserError", "code": "FORBIDDEN",
                                                     "field": "villageCode",
                                                     "message": "the village is outside your region"}
    unknown = await api(FACILITATOR, PROPOSE_HOUSEHOLD, input={"villageCode": "33.14.01.9999", "address": "x"})
    assert unknown["data"]["proposeHousehold"]["code"] == "NOT_FOUND"
    malformed = await api(FACILITATOR, PROPOSE_HOUSEHOLD, input={"villageCode": "33.14", "address": "x"})
    assert malformed["data"]["proposeHousehold"]["code"] == "INVALID_INPUT"
    assert malformed["data"]["proposeHousehold"]["field"] == "village_code"
    assert await count(session, Proposal) == 0


async def test_a_new_person_is_added_on_approval(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(FACILITATOR, PROPOSE_PERSON, input={
        "householdId": gid("Household", world.household.id), "nik": VALID_NIK, "name": "Sri Lestari",
        "sex": "FEMALE", "birthDate": "1990-05-15", "relationshipToHead": "SPOUSE"})
    proposal = body["data"]["proposePerson"]["proposal"]
    assert (proposal["kind"], proposal["personId"]) == ("NEW_PERSON", None)
    assert await count(session, Person, Person.nik == VALID_NIK) == 0

    result = await approve(api, proposal)
    person = await reload(session, Person, local(result["personId"]))
    assert (person.nik, person.name, person.sex.value if person.sex else None, person.birth_date) == (
        VALID_NIK, "Sri Lestari", "F", date(1990, 5, 15))
    assert (person.household_id, person.village_code, person.nik_valid) == (
        world.household.id, "33.14.01.2001", True)


async def test_an_invalid_nik_is_refused_at_once(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(FACILITATOR, PROPOSE_PERSON, input={
        "householdId": gid("Household", world.household.id), "nik": "33140155059O0003", "name": "X"})
    result = body["data"]["proposePerson"]
    assert (result["code"], result["field"]) == ("INVALID_NIK", "nik")
    assert await count(session, Proposal) == 0


async def test_a_correction_is_a_diff_applied_on_approval_with_the_old_values_kept(
        api: Api, world: World, session: AsyncSession) -> None:
    old_name = world.head.name
    body = await api(FACILITATOR, CORRECT_PERSON, input={"personId": gid("Person", world.head.id),
                                                          "changes": {"name": "Budi Santoso", "hasDisability": True}})
    proposal = body["data"]["proposePersonCorrection"]["proposal"]
    assert proposal["kind"] == "CORRECTION"
    assert proposal["payload"] == {"name": "Budi Santoso", "has_disability": True}
    assert proposal["previous"] == {"name": old_name, "has_disability": False}
    person = await reload(session, Person, world.head.id)
    assert (person.name, person.has_disability) == (old_name, False)

    result = await approve(api, proposal)
    assert result["personId"] == gid("Person", world.head.id)
    person = await reload(session, Person, world.head.id)
    assert (person.name, person.has_disability) == ("Budi Santoso", True)
    stored = await reload(session, Proposal, local(proposal["id"]))
    assert stored.previous == {"name": old_name, "has_disability": False}
    assert stored.status is SubmissionStatus.approved


async def test_a_rejected_correction_leaves_the_registry_alone(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(FACILITATOR, CORRECT_HOUSEHOLD, input={"householdId": gid("Household", world.household.id),
                                                             "changes": {"address": "Jl. Baru 9"}})
    proposal = body["data"]["proposeHouseholdCorrection"]["proposal"]
    assert proposal["previous"] == {"address": "Jl. Contoh 1"}
    assert (await approve(api, proposal, "REJECT", "address is right"))["status"] == "REJECTED"
    assert (await reload(session, Household, world.household.id)).address == "Jl. Contoh 1"


async def test_an_empty_correction_is_invalid(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(FACILITATOR, CORRECT_PERSON, input={"personId": gid("Person", world.head.id), "changes": {}})
    assert body["data"]["proposePersonCorrection"]["code"] == "INVALID_INPUT"
    assert await count(session, Proposal) == 0


async def test_participation_becomes_an_enrolment_on_approval(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(FACILITATOR, PARTICIPATION, input={"householdId": gid("Household", world.household.id),
                                                         "programmeCode": "PKH", "periodStart": "2026-01-01"})
    proposal = body["data"]["recordParticipation"]["proposal"]
    assert proposal["kind"] == "PARTICIPATION"
    assert await count(session, Enrolment) == 0
    result = await approve(api, proposal)
    enrolment = await reload(session, Enrolment, local(result["enrolmentId"]))
    assert (enrolment.programme_id, enrolment.household_id, enrolment.status, enrolment.period_start) == (
        world.pkh.id, world.household.id, EnrolmentStatus.active, date(2026, 1, 1))
    assert (enrolment.source_system, enrolment.source_record_id) == ("hub", str(local(proposal["id"])))


async def test_participation_in_an_unknown_programme_is_refused(api: Api, world: World,
                                                                session: AsyncSession) -> None:
    body = await api(FACILITATOR, PARTICIPATION, input={"householdId": gid("Household", world.household.id),
                                                         "programmeCode": "NOPE"})
    assert body["data"]["recordParticipation"]["code"] == "NOT_FOUND"
    assert await count(session, Proposal) == 0


async def test_an_unexpected_failure_is_masked_with_an_error_id(api: Api, world: World, session: AsyncSession,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret detail: connection string")

    monkeypatch.setattr(workflow_service, "propose_household", broken)
    body = await api(FACILITATOR, PROPOSE_HOUSEHOLD, input={"villageCode": "33.14.01.2001", "address": "x"})
    error = body["data"]["proposeHousehold"]
    assert (error["__typename"], error["code"]) == ("UserError", "INTERNAL")
    assert "secret" not in error["message"]
    error_id = error["message"].rsplit(" ", 1)[1]
    assert len(error_id) == 32
    assert [r for r in caplog.records if error_id in r.getMessage() and r.exc_info]
    assert await count(session, Proposal) == 0
    assert (await session.execute(select(Proposal))).first() is None


async def test_a_correction_cannot_clear_a_required_field(api: Api, world: World, session: AsyncSession) -> None:
    body = await api(FACILITATOR, CORRECT_PERSON, input={"personId": gid("Person", world.head.id),
                                                          "changes": {"name": None, "birthPlace": None}})
    assert body["data"]["proposePersonCorrection"] == {
        "__typename": "UserError", "code": "INVALID_INPUT", "field": None,
        "message": "cannot be cleared: name"}
    assert await count(session, Proposal) == 0
    cleared = await api(FACILITATOR, CORRECT_PERSON, input={"personId": gid("Person", world.head.id),
                                                             "changes": {"birthPlace": None}})
    assert cleared["data"]["proposePersonCorrection"]["proposal"]["payload"] == {"birth_place": None}
