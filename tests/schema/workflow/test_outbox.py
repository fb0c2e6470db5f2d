"""Approvals and Baznas referrals write their outbox message in the same transaction as the step."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import HubError
from hub.models import OutboxMessage, Programme, ProgrammeLevel, Proposal, SubmissionStatus, TargetUnit
from hub.workflow import service
from hub.workflow.rules import ReviewDecision
from hub.workflow.schemas import (
    NewHousehold,
    NewPerson,
    Participation,
    PersonChanges,
    RecordSubmission,
    Referral,
    Resubmission,
    ReviewItem,
    SubmissionKind,
)
from tests.fixtures.factories import make_person
from tests.schema.workflow.conftest import FACILITATOR, MANAGER, SUPERVISOR, VILLAGE, World, reset_scope

VALID_NIK = "3314015505900003"


async def messages(session: AsyncSession) -> list[OutboxMessage]:
    await reset_scope(session)
    rows = await session.execute(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.topic)
                                 .execution_options(populate_existing=True))
    return list(rows.scalars())


async def approve(session: AsyncSession, proposal: Proposal, decision: ReviewDecision = ReviewDecision.approve,
                  reason: str = "") -> None:
    await service.review(session, SUPERVISOR, ReviewItem(kind=SubmissionKind.proposal, id=proposal.id,
                                                         decision=decision, reason=reason))


async def test_each_approved_registry_proposal_writes_one_message(session: AsyncSession, world: World) -> None:
    old_name = world.head.name
    new_household = await service.propose_household(session, FACILITATOR, NewHousehold(
        village_code=VILLAGE, address="Dusun Keden RT 2"))
    new_person = await service.propose_person(session, FACILITATOR, NewPerson(
        household_id=world.household.id, nik=VALID_NIK, name="Sri Lestari"))
    correction = await service.propose_person_correction(session, FACILITATOR, world.head.id,
                                                         PersonChanges(name="Suparman"))
    participation = await service.record_participation(session, FACILITATOR, Participation(
        household_id=world.household.id, programme_code="PKH"))
    assert await messages(session) == []  # proposing pushes nothing

    for proposal in (new_household, new_person, correction, participation):
        await approve(session, proposal)

    by_key = {m.idempotency_key: m for m in await messages(session)}
    assert set(by_key) == {f"usulan-{new_household.id}", f"usulan-{new_person.id}", f"usulan-{correction.id}"}
    prelist = by_key[f"usulan-{new_household.id}"]
    assert (prelist.topic, prelist.status.value, prelist.village_code) == ("siks-ng.prelist", "pending", VILLAGE)
    assert prelist.payload["address"] == "Dusun Keden RT 2"
    assert prelist.payload["household_id"] == str(new_household.household_id)
    person = by_key[f"usulan-{new_person.id}"]
    assert (person.topic, person.payload["kind"], person.payload["changes"]["nik"]) == (
        "siks-ng.proposal", "new_person", VALID_NIK)
    assert person.payload["person_id"] == str(new_person.person_id)
    fixed = by_key[f"usulan-{correction.id}"]
    assert (fixed.topic, fixed.payload["changes"], fixed.payload["person_id"]) == (
        "siks-ng.proposal", {"name": "Suparman"}, str(world.head.id))
    assert fixed.payload["previous"] == {"name": old_name}


async def test_a_rolled_back_approval_leaves_no_message(session: AsyncSession, world: World) -> None:
    proposal = await service.propose_household(session, FACILITATOR, NewHousehold(village_code=VILLAGE,
                                                                                   address="Dusun Keden"))
    written: list[int] = []

    async def approve_then_fail() -> None:
        async with session.begin_nested():
            await approve(session, proposal)
            written.append(len(await messages(session)))
            raise RuntimeError("the mutation fails after the approval")

    with pytest.raises(RuntimeError):
        await approve_then_fail()
    assert written == [1]  # written with the approval ...
    assert await messages(session) == []  # ... and gone with it
    await session.refresh(proposal)
    assert proposal.status is SubmissionStatus.submitted


async def test_refused_rejected_and_returned_reviews_write_none(session: AsyncSession, world: World) -> None:
    proposal = await service.propose_household(session, FACILITATOR, NewHousehold(village_code=VILLAGE,
                                                                                   address="Dusun Keden"))
    with pytest.raises(HubError) as refused:
        await service.review(session, FACILITATOR, ReviewItem(kind=SubmissionKind.proposal, id=proposal.id,
                                                              decision=ReviewDecision.approve))
    assert refused.value.code == "FORBIDDEN"
    await approve(session, proposal, ReviewDecision.return_, reason="alamat kurang lengkap")
    other = await service.propose_household(session, FACILITATOR, NewHousehold(village_code=VILLAGE, address="x"))
    await approve(session, other, ReviewDecision.reject, reason="sudah terdaftar")
    assert await messages(session) == []

    await service.resubmit(session, FACILITATOR, SubmissionKind.proposal, proposal.id,
                           Resubmission())
    await approve(session, proposal)
    with pytest.raises(HubError) as twice:
        await approve(session, proposal)
    assert twice.value.code == "ILLEGAL_TRANSITION"
    assert [m.idempotency_key for m in await messages(session)] == [f"usulan-{proposal.id}"]


async def test_a_batch_keeps_the_messages_of_the_approvals_that_stand(session: AsyncSession, world: World) -> None:
    good = await service.propose_household(session, FACILITATOR, NewHousehold(village_code=VILLAGE, address="a"))
    results = await service.review_batch(session, SUPERVISOR, [
        ReviewItem(kind=SubmissionKind.proposal, id=good.id, decision=ReviewDecision.approve),
        ReviewItem(kind=SubmissionKind.proposal, id=uuid.uuid4(), decision=ReviewDecision.approve),
    ])
    assert [r.error_code for r in results] == [None, "NOT_FOUND"]
    assert [m.idempotency_key for m in await messages(session)] == [f"usulan-{good.id}"]


async def open_case(session: AsyncSession, world: World, **need: Any) -> uuid.UUID:
    recorded = await service.record_need(session, FACILITATOR, RecordSubmission(
        household_id=world.household.id, category=need.pop("category", "housing"), **need))
    outcome = await service.review(session, SUPERVISOR, ReviewItem(kind=SubmissionKind.need, id=recorded.id,
                                                                   decision=ReviewDecision.approve))
    assert outcome.case_id is not None
    return outcome.case_id


async def test_a_referral_to_a_baznas_partner_writes_one_message(session: AsyncSession, world: World) -> None:
    case_id = await open_case(session, world)
    assert await messages(session) == []  # opening a case pushes nothing
    await service.refer(session, MANAGER, Referral(case_id=case_id, partner_code=world.partner.code,
                                                   reason="rumah tidak layak huni", recommendation="bedah rumah"))
    [message] = await messages(session)
    assert (message.topic, message.idempotency_key, message.village_code) == (
        "baznas.referral", f"rujukan-{case_id}", VILLAGE)
    assert {k: message.payload[k] for k in ("partner_code", "programme_code", "category", "nik", "name",
                                            "reason")} == {
        "partner_code": "BAZNAS-SRAGEN", "programme_code": None, "category": "housing", "nik": world.head.nik,
        "name": world.head.name, "reason": "rumah tidak layak huni; bedah rumah"}


async def test_a_referral_names_the_member_the_need_is_about(session: AsyncSession, world: World) -> None:
    child = await make_person(session, world.household, name="Anak", relationship_to_head="child")
    case_id = await open_case(session, world, person_id=child.id)
    zakat = Programme(code="BAZNAS-ZAKAT", name="Zakat", owner_agency="Baznas", level=ProgrammeLevel.non_government,
                      target_unit=TargetUnit.individual, partner_id=world.partner.id)
    session.add(zakat)
    await session.flush()
    await service.refer(session, MANAGER, Referral(case_id=case_id, programme_code="BAZNAS-ZAKAT"))
    [message] = await messages(session)
    assert (message.payload["nik"], message.payload["programme_code"], message.payload["partner_code"]) == (
        child.nik, "BAZNAS-ZAKAT", "BAZNAS-SRAGEN")


async def test_a_referral_to_a_government_programme_writes_none(session: AsyncSession, world: World) -> None:
    case_id = await open_case(session, world)
    await service.refer(session, MANAGER, Referral(case_id=case_id, programme_code="PKH"))
    assert await messages(session) == []
