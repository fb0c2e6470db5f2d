"""Workflow mutations. Each resolver converts its input, calls one service function, wraps the result.

Every mutation returns ``<Payload> | UserError``; on a ``UserError`` nothing changed.
"""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import date
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from hub.errors import HubError, Invalid
from hub.workflow import service as workflow_service
from hub.workflow.schemas import (
    Decision,
    HouseholdChanges,
    NewHousehold,
    NewPerson,
    Participation,
    PersonChanges,
    RecordSubmission,
    Referral,
    Resubmission,
    ReviewItem,
    ReviewOutcome,
    SubmissionKind,
    validated,
)
from schema.context import Info
from schema.errors import UserError
from schema.ids import from_global_id, parse_global_id, to_global_id
from schema.workflow.boundary import run_mutation
from schema.workflow.enums import LifeStatus, Relationship, Sex
from schema.workflow.types import (
    Case,
    CaseDecision,
    Complaint,
    Need,
    Proposal,
    ReviewDecision,
    Submission,
    SubmissionStatus,
    submission_from_model,
)

_KINDS = {"Need": SubmissionKind.need, "Complaint": SubmissionKind.complaint, "Proposal": SubmissionKind.proposal}


def _given(obj: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of a strawberry input the client actually sent (UNSET ones left out), enums as stored values."""
    return {f.name: value.value if isinstance(value := getattr(obj, f.name), Enum) else value for f in fields(obj)
            if f.name not in skip and getattr(obj, f.name) is not strawberry.UNSET}


def _id(global_id: strawberry.ID, type_name: str, field: str) -> uuid.UUID:
    try:
        return from_global_id(global_id, type_name)
    except Invalid as exc:
        raise Invalid(exc.message, code=exc.code, field=field) from exc


def _optional_id(global_id: strawberry.ID | None, type_name: str, field: str) -> uuid.UUID | None:
    return None if global_id is None else _id(global_id, type_name, field)


def _submission_ref(global_id: strawberry.ID) -> tuple[SubmissionKind, uuid.UUID]:
    type_name, id_ = parse_global_id(global_id)
    if type_name not in _KINDS:
        raise Invalid("expected the ID of a Need, Complaint or Proposal", code="INVALID_ID", field="id")
    return _KINDS[type_name], id_


# Inputs.

@strawberry.input(description="A programme need or a complaint for a household in one of your villages.")
class RecordSubmissionInput:
    household_id: strawberry.ID = strawberry.field(description="Global ID of the household.")
    category: str = strawberry.field(description="Category, e.g. `health`, `education` (need) or `not_received`.")
    description: str = strawberry.field(default="", description="What the facilitator saw or was told.")
    person_id: strawberry.ID | None = strawberry.field(default=None,
                                                       description="The member concerned, if only one.")


@strawberry.input(description="A household not found in the registry. Its village must be one of yours.")
class ProposeHouseholdInput:
    village_code: str = strawberry.field(description="Dotted village code, e.g. `33.14.01.2001`.")
    address: str = strawberry.field(description="Street address.")
    registry_id: str | None = strawberry.field(default=None, description="Registry ID, if the family has one.")


@strawberry.input(description="A person not found in the registry, to add to an existing household.")
class ProposePersonInput:
    household_id: strawberry.ID = strawberry.field(description="Global ID of the household.")
    nik: str = strawberry.field(description="16-digit NIK; rejected with INVALID_NIK when malformed.")
    name: str = strawberry.field(description="Full name as on the KTP.")
    sex: Sex | None = None
    birth_date: date | None = None
    birth_place: str | None = None
    relationship_to_head: Relationship = Relationship.OTHER
    has_disability: bool = False
    disabilities: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="Proposed new values for a person's registry data. Send only the fields that change.")
class PersonChangesInput:
    nik: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    sex: Sex | None = strawberry.UNSET
    birth_date: date | None = strawberry.UNSET
    birth_place: str | None = strawberry.UNSET
    relationship_to_head: Relationship | None = strawberry.UNSET
    has_disability: bool | None = strawberry.UNSET
    disabilities: list[str] | None = strawberry.UNSET
    life_status: LifeStatus | None = strawberry.UNSET


@strawberry.input(description="A correction of a person's registry data, kept as a diff until approved.")
class ProposePersonCorrectionInput:
    person_id: strawberry.ID
    changes: PersonChangesInput


@strawberry.input(description="Proposed new values for a household. Send only the fields that change.")
class HouseholdChangesInput:
    address: str | None = strawberry.UNSET
    registry_id: str | None = strawberry.UNSET


@strawberry.input(description="A correction of a household's registry data, kept as a diff until approved.")
class ProposeHouseholdCorrectionInput:
    household_id: strawberry.ID
    changes: HouseholdChangesInput


@strawberry.input(description="Participation in a programme seen in the field; enrolled once a supervisor approves.")
class RecordParticipationInput:
    household_id: strawberry.ID
    programme_code: str = strawberry.field(description="Catalogue code, e.g. `PKH`.")
    person_id: strawberry.ID | None = None
    period_start: date | None = None
    period_end: date | None = None


@strawberry.input(description="Send a RETURNED submission back for review, optionally corrected (needs and "
                              "complaints only; a proposal is resubmitted as it is).")
class ResubmitInput:
    id: strawberry.ID = strawberry.field(description="Global ID of a Need, Complaint or Proposal.")
    category: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input(description="A supervisor's decision on one submission.")
class ReviewInput:
    id: strawberry.ID = strawberry.field(description="Global ID of a Need, Complaint or Proposal.")
    decision: ReviewDecision
    reason: str = strawberry.field(default="", description="Required to REJECT or RETURN.")


@strawberry.input(description="Many reviews at once (at most 100); each succeeds or fails on its own.")
class ReviewBatchInput:
    items: list[ReviewInput]


@strawberry.input(description="Refer an OPEN case to exactly one programme or partner from the catalogue.")
class ReferCaseInput:
    case_id: strawberry.ID
    programme_code: str | None = strawberry.field(default=None, description="Catalogue code, e.g. `PKH`.")
    partner_code: str | None = strawberry.field(default=None, description="Partner code, e.g. a Baznas unit.")
    recommendation: str | None = strawberry.field(
        default=None, description="Optional recommendation, e.g. to update the household's registry data.")
    reason: str = ""


@strawberry.input(description="A programme owner's decision on a REFERRED (or FURTHER_STUDY) case.")
class DecideCaseInput:
    case_id: strawberry.ID
    decision: CaseDecision
    reason: str = strawberry.field(description="Required: the household will be told.")


@strawberry.input(description="The facilitator told the household the outcome of an APPROVED or REJECTED case.")
class MarkInformedInput:
    case_id: strawberry.ID
    note: str = ""


# Payloads.

@strawberry.type(description="The need as recorded, status SUBMITTED.")
class RecordNeedPayload:
    need: Need


@strawberry.type(description="The complaint as recorded, status SUBMITTED.")
class RecordComplaintPayload:
    complaint: Complaint


@strawberry.type(description="The proposal as recorded, status SUBMITTED. The registry has not changed yet.")
class ProposalPayload:
    proposal: Proposal


@strawberry.type(description="The resubmitted submission, status SUBMITTED again.")
class ResubmitPayload:
    submission: Submission


@strawberry.type(description="The outcome of one review.")
class ReviewPayload:
    id: strawberry.ID = strawberry.field(description="The submission reviewed.")
    status: SubmissionStatus = strawberry.field(description="Its status now.")
    case_id: strawberry.ID | None = strawberry.field(
        description="An approved need or complaint opens a case: its global ID.")
    household_id: strawberry.ID | None = strawberry.field(description="Household an approved proposal concerned.")
    person_id: strawberry.ID | None = strawberry.field(description="Person an approved proposal concerned or created.")
    enrolment_id: strawberry.ID | None = strawberry.field(
        description="Enrolment an approved PARTICIPATION proposal created.")

    @classmethod
    def from_outcome(cls, outcome: ReviewOutcome) -> ReviewPayload:
        def gid(name: str, value: uuid.UUID | None) -> strawberry.ID | None:
            return None if value is None else to_global_id(name, value)
        return cls(id=to_global_id(outcome.kind.value.capitalize(), outcome.id),
                   status=SubmissionStatus(outcome.status.value),
                   case_id=gid("Case", outcome.case_id), household_id=gid("Household", outcome.household_id),
                   person_id=gid("Person", outcome.person_id), enrolment_id=gid("Enrolment", outcome.enrolment_id))


@strawberry.type(description="The result for one item of a batch: `result` when it succeeded, `error` when not.")
class ReviewBatchItem:
    index: int = strawberry.field(description="Position of the item in the input list.")
    id: strawberry.ID
    result: ReviewPayload | None
    error: UserError | None


@strawberry.type(description="Per-item results, in input order.")
class ReviewBatchPayload:
    results: list[ReviewBatchItem]


@strawberry.type(description="The case after the step.")
class CasePayload:
    case: Case


RecordNeedResult = Annotated[RecordNeedPayload | UserError, strawberry.union("RecordNeedResult")]
RecordComplaintResult = Annotated[RecordComplaintPayload | UserError, strawberry.union("RecordComplaintResult")]
ProposalResult = Annotated[ProposalPayload | UserError, strawberry.union("ProposalResult")]
ResubmitResult = Annotated[ResubmitPayload | UserError, strawberry.union("ResubmitResult")]
ReviewResult = Annotated[ReviewPayload | UserError, strawberry.union("ReviewResult")]
ReviewBatchResult = Annotated[ReviewBatchPayload | UserError, strawberry.union("ReviewBatchResult")]
CaseResult = Annotated[CasePayload | UserError, strawberry.union("CaseResult")]


def _sla(info: Info) -> dict[str, int]:
    return workflow_service.sla_table(info.context.settings.sla_hours)


def _record(input: RecordSubmissionInput) -> RecordSubmission:
    return validated(RecordSubmission, household_id=_id(input.household_id, "Household", "householdId"),
                     person_id=_optional_id(input.person_id, "Person", "personId"), category=input.category,
                     description=input.description)


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="Facilitator: record a programme need for a household in one of your villages.")
    async def record_need(self, info: Info, input: RecordSubmissionInput) -> RecordNeedResult:
        async def op(session: AsyncSession, principal: Principal) -> RecordNeedPayload:
            row = await workflow_service.record_need(session, principal, _record(input))
            return RecordNeedPayload(need=Need.from_model(row))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Facilitator: record a complaint for a household in one of your villages.")
    async def record_complaint(self, info: Info, input: RecordSubmissionInput) -> RecordComplaintResult:
        async def op(session: AsyncSession, principal: Principal) -> RecordComplaintPayload:
            row = await workflow_service.record_complaint(session, principal, _record(input))
            return RecordComplaintPayload(complaint=Complaint.from_model(row))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Facilitator: propose adding a household not found in the registry.")
    async def propose_household(self, info: Info, input: ProposeHouseholdInput) -> ProposalResult:
        async def op(session: AsyncSession, principal: Principal) -> ProposalPayload:
            data = validated(NewHousehold, **_given(input))
            return ProposalPayload(proposal=Proposal.from_model(
                await workflow_service.propose_household(session, principal, data)))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Facilitator: propose adding a person not found in the registry to a household.")
    async def propose_person(self, info: Info, input: ProposePersonInput) -> ProposalResult:
        async def op(session: AsyncSession, principal: Principal) -> ProposalPayload:
            data = validated(NewPerson, **_given(input, skip=("household_id",)),
                             household_id=_id(input.household_id, "Household", "householdId"))
            return ProposalPayload(proposal=Proposal.from_model(
                await workflow_service.propose_person(session, principal, data)))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Facilitator: propose correcting a person's registry data (applied on approval; "
                                     "the old values are kept in `previous`).")
    async def propose_person_correction(self, info: Info, input: ProposePersonCorrectionInput) -> ProposalResult:
        async def op(session: AsyncSession, principal: Principal) -> ProposalPayload:
            person_id = _id(input.person_id, "Person", "personId")
            changes = validated(PersonChanges, **_given(input.changes))
            return ProposalPayload(proposal=Proposal.from_model(
                await workflow_service.propose_person_correction(session, principal, person_id, changes)))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Facilitator: propose correcting a household's registry data.")
    async def propose_household_correction(self, info: Info,
                                           input: ProposeHouseholdCorrectionInput) -> ProposalResult:
        async def op(session: AsyncSession, principal: Principal) -> ProposalPayload:
            household_id = _id(input.household_id, "Household", "householdId")
            changes = validated(HouseholdChanges, **_given(input.changes))
            return ProposalPayload(proposal=Proposal.from_model(
                await workflow_service.propose_household_correction(session, principal,
                                                                    household_id, changes)))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Facilitator: record a household's participation in a programme.")
    async def record_participation(self, info: Info, input: RecordParticipationInput) -> ProposalResult:
        async def op(session: AsyncSession, principal: Principal) -> ProposalPayload:
            data = validated(Participation, household_id=_id(input.household_id, "Household", "householdId"),
                             person_id=_optional_id(input.person_id, "Person", "personId"),
                             programme_code=input.programme_code, period_start=input.period_start,
                             period_end=input.period_end)
            return ProposalPayload(proposal=Proposal.from_model(
                await workflow_service.record_participation(session, principal, data)))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Facilitator: send a RETURNED submission back for review.")
    async def resubmit(self, info: Info, input: ResubmitInput) -> ResubmitResult:
        async def op(session: AsyncSession, principal: Principal) -> ResubmitPayload:
            kind, id_ = _submission_ref(input.id)
            data = validated(Resubmission, **_given(input, skip=("id",)))
            row = await workflow_service.resubmit(session, principal, kind, id_, data)
            return ResubmitPayload(submission=submission_from_model(row))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Supervisor: approve, reject or return a submission from your district. "
                                     "You may not review your own submissions. Approving a need or complaint "
                                     "opens a case; approving a proposal applies it to the registry.")
    async def review_submission(self, info: Info, input: ReviewInput) -> ReviewResult:
        async def op(session: AsyncSession, principal: Principal) -> ReviewPayload:
            kind, id_ = _submission_ref(input.id)
            item = validated(ReviewItem, kind=kind, id=id_, decision=input.decision.value, reason=input.reason)
            return ReviewPayload.from_outcome(
                await workflow_service.review(session, principal, item, sla_hours=_sla(info)))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Supervisor: review up to 100 submissions at once. Each item succeeds or "
                                     "fails on its own; a failed item changes nothing.")
    async def review_submissions(self, info: Info, input: ReviewBatchInput) -> ReviewBatchResult:
        async def op(session: AsyncSession, principal: Principal) -> ReviewBatchPayload:
            items, refused = [], {}
            for index, raw in enumerate(input.items):
                try:
                    kind, id_ = _submission_ref(raw.id)
                except Invalid as error:
                    refused[index] = ReviewBatchItem(index=index, id=raw.id, result=None,
                                                     error=UserError.from_error(error))
                    continue
                items.append((index, validated(ReviewItem, kind=kind, id=id_, decision=raw.decision.value,
                                               reason=raw.reason)))
            results = await workflow_service.review_batch(session, principal, [item for _, item in items],
                                                          sla_hours=_sla(info))
            for (index, _), result in zip(items, results, strict=True):
                raw_id = input.items[index].id
                if result.outcome is not None:
                    refused[index] = ReviewBatchItem(index=index, id=raw_id, result=ReviewPayload.from_outcome(
                        result.outcome), error=None)
                else:
                    failure = UserError.from_error(HubError(result.error_message or "", code=result.error_code))
                    refused[index] = ReviewBatchItem(index=index, id=raw_id, result=None, error=failure)
            return ReviewBatchPayload(results=[refused[i] for i in sorted(refused)])
        return await run_mutation(info, op)

    @strawberry.mutation(description="Manager: refer an OPEN case in your regency to a programme or partner "
                                     "from the catalogue, optionally recommending a registry update.")
    async def refer_case(self, info: Info, input: ReferCaseInput) -> CaseResult:
        async def op(session: AsyncSession, principal: Principal) -> CasePayload:
            data = validated(Referral, case_id=_id(input.case_id, "Case", "caseId"),
                             programme_code=input.programme_code, partner_code=input.partner_code,
                             recommendation=input.recommendation, reason=input.reason)
            return CasePayload(case=Case.from_model(
                await workflow_service.refer(session, principal, data, sla_hours=_sla(info))))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Programme owner: approve, reject or study further a case referred to one "
                                     "of your programmes.")
    async def decide_case(self, info: Info, input: DecideCaseInput) -> CaseResult:
        async def op(session: AsyncSession, principal: Principal) -> CasePayload:
            data = validated(Decision, case_id=_id(input.case_id, "Case", "caseId"), decision=input.decision.value,
                             reason=input.reason)
            return CasePayload(case=Case.from_model(
                await workflow_service.decide(session, principal, data, sla_hours=_sla(info))))
        return await run_mutation(info, op)

    @strawberry.mutation(description="Facilitator: record that the household was told the outcome of its case.")
    async def mark_household_informed(self, info: Info, input: MarkInformedInput) -> CaseResult:
        async def op(session: AsyncSession, principal: Principal) -> CasePayload:
            case_id = _id(input.case_id, "Case", "caseId")
            return CasePayload(case=Case.from_model(
                await workflow_service.inform(session, principal, case_id, input.note)))
        return await run_mutation(info, op)
