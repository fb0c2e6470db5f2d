"""GraphQL types of the SLRT workflow: what facilitators record and how a case travels.

Related records are exposed by global ID (``householdId`` ...); fetch them with ``node(id:)``.
Lists that grow (a submission's reviews, a case's history) are connections like the read API's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from hub.masking import mask_record_for
from hub.models import CaseEvent as CaseEventModel
from hub.models import Complaint as ComplaintModel
from hub.models import Need as NeedModel
from hub.models import Proposal as ProposalModel
from hub.models import Review as ReviewModel
from hub.models.workflow import Case as CaseModel
from hub.paging import to_page
from hub.workflow import service as workflow_service
from hub.workflow.repository import CaseRepository
from hub.workflow.schemas import CaseOrder, SubmissionOrder
from schema.context import Info
from schema.federation import by_global_id, resolve_entity
from schema.ids import to_global_id
from schema.types.common import After, Connection, First, Node, connection, page_args
from schema.workflow import loaders

# GraphQL enums with conventional upper-case names; their values are the hub's stored values, so
# ``CaseStatus(row.status.value)`` converts one way and ``HubEnum(gql.value)`` the other.

@strawberry.enum(description="Where a facilitator's submission stands: SUBMITTED awaits the district supervisor, "
                             "RETURNED awaits the facilitator's correction and resubmission, APPROVED and "
                             "REJECTED are final.")
class SubmissionStatus(Enum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"


@strawberry.enum(description="Where a case stands: OPEN awaits referral by the regency manager, REFERRED and "
                             "FURTHER_STUDY await the programme owner, APPROVED and REJECTED await the "
                             "facilitator telling the household, INFORMED is the end.")
class CaseStatus(Enum):
    OPEN = "open"
    REFERRED = "referred"
    APPROVED = "approved"
    REJECTED = "rejected"
    FURTHER_STUDY = "further_study"
    INFORMED = "informed"


@strawberry.enum(description="A supervisor's decision on a submission. REJECT and RETURN need a reason.")
class ReviewDecision(Enum):
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


@strawberry.enum(description="A programme owner's decision on a referred case. After FURTHER_STUDY the owner "
                             "decides again: APPROVE or REJECT. A reason is always required.")
class CaseDecision(Enum):
    APPROVE = "approve"
    REJECT = "reject"
    FURTHER_STUDY = "further_study"


@strawberry.enum(description="NEW_HOUSEHOLD and NEW_PERSON add to the registry, CORRECTION changes registry data, "
                             "PARTICIPATION records an enrolment seen in the field. Applied only once a "
                             "supervisor approves.")
class ProposalKind(Enum):
    NEW_HOUSEHOLD = "new_household"
    NEW_PERSON = "new_person"
    CORRECTION = "correction"
    PARTICIPATION = "participation"


@strawberry.type(description="One decision on a submission: a supervisor's review, or the facilitator's "
                             "resubmission after it was returned. Its global ID can be fetched again with "
                             "`node(id:)`, by anyone who may read the submission it belongs to.")
class Review(Node):
    submission_id: strawberry.ID = strawberry.field(
        description="Global ID of the need, complaint or proposal reviewed (fetch it with `node(id:)`).")
    reviewer: str = strawberry.field(description="Subject of the supervisor (or, for SUBMITTED, the facilitator).")
    decision: SubmissionStatus = strawberry.field(description="The status the submission moved to.")
    reason: str = strawberry.field(description="Reason given; required for REJECTED and RETURNED.")
    at: datetime = strawberry.field(description="When.")

    @classmethod
    def from_model(cls, row: ReviewModel) -> Review:
        return cls(id=to_global_id("Review", row.id),
                   submission_id=to_global_id(_SUBJECT_TYPES[row.subject_type], row.subject_id),
                   reviewer=row.reviewer, decision=SubmissionStatus(row.decision.value), reason=row.reason, at=row.at)


# ``reviews.subject_type`` (a SubmissionKind value) -> the GraphQL type named in the submission's global ID.
_SUBJECT_TYPES = {"need": "Need", "complaint": "Complaint", "proposal": "Proposal"}


@strawberry.enum(description="Orderings for lists of needs, complaints and proposals. Ties are broken by ID, "
                             "so pages never overlap.")
class SubmissionOrderBy(Enum):
    CREATED_AT_DESC = strawberry.enum_value(SubmissionOrder.created_desc.value,
                                            description="Newest first (the default).")
    CREATED_AT_ASC = strawberry.enum_value(SubmissionOrder.created_asc.value,
                                           description="Oldest first: the order a supervisor works through them.")
    UPDATED_AT_DESC = strawberry.enum_value(SubmissionOrder.updated_desc.value,
                                            description="Most recently changed (reviewed, resubmitted) first.")


@strawberry.enum(description="Orderings for case lists. Ties are broken by ID, so pages never overlap.")
class CaseOrderBy(Enum):
    CREATED_AT_DESC = strawberry.enum_value(CaseOrder.created_desc.value,
                                            description="Most recently opened first (the default).")
    CREATED_AT_ASC = strawberry.enum_value(CaseOrder.created_asc.value, description="Oldest first.")
    DUE_AT_ASC = strawberry.enum_value(CaseOrder.due_asc.value,
                                       description="Most urgent first: earliest `dueAt` first, finished cases "
                                                   "(no due date) last.")
    UPDATED_AT_DESC = strawberry.enum_value(CaseOrder.updated_desc.value,
                                            description="Most recent step first.")


async def _reviews(info: Info, subject_id: uuid.UUID, first: int | None, after: str | None) -> Connection[Review]:
    page = page_args(info, first, after)
    found = to_page(await loaders.review_pages(info.context).load((subject_id, page)), page)

    async def count() -> int:
        return await loaders.review_counts(info.context).load(subject_id)

    return connection([Review.from_model(r) for r in found.items], found, count)


REVIEWS = ("Every review and resubmission so far, oldest first, a page at a time (`first` at most 100). "
           "The reviews of a whole page of submissions are fetched together.")


@strawberry.type(description="A programme need a facilitator recorded for a household (or one member).")
class Need(Node):
    uuid: strawberry.Private[uuid.UUID]
    household_id: strawberry.ID = strawberry.field(description="Global ID of the household.")
    person_id: strawberry.ID | None = strawberry.field(description="Global ID of the member concerned, if one.")
    category: str = strawberry.field(description="Need category, e.g. `health`, `education`, `housing`.")
    description: str = strawberry.field(description="Free text from the facilitator.")
    status: SubmissionStatus = strawberry.field(description="Review status.")
    recorded_by: str = strawberry.field(description="Subject of the facilitator who recorded it.")
    village_code: str = strawberry.field(description="Village of the household (from the registry).")
    created_at: datetime = strawberry.field(description="When it was recorded.")
    updated_at: datetime = strawberry.field(description="Last change.")

    @strawberry.field(description=REVIEWS)
    async def reviews(self, info: Info, first: First = None, after: After = None) -> Connection[Review]:
        return await _reviews(info, self.uuid, first, after)

    @classmethod
    def from_model(cls, row: NeedModel) -> Need:
        return cls(id=to_global_id("Need", row.id), uuid=row.id,
                   household_id=to_global_id("Household", row.household_id),
                   person_id=to_global_id("Person", row.person_id) if row.person_id else None,
                   category=row.category, description=row.description, status=SubmissionStatus(row.status.value),
                   recorded_by=row.recorded_by, village_code=row.village_code, created_at=row.created_at,
                   updated_at=row.updated_at)


@strawberry.type(description="A complaint a facilitator recorded for a household, by category.")
class Complaint(Node):
    uuid: strawberry.Private[uuid.UUID]
    household_id: strawberry.ID = strawberry.field(description="Global ID of the household.")
    person_id: strawberry.ID | None = strawberry.field(description="Global ID of the member concerned, if one.")
    category: str = strawberry.field(description="Complaint category, e.g. `not_received`, `wrong_data`.")
    description: str = strawberry.field(description="Free text from the facilitator.")
    status: SubmissionStatus = strawberry.field(description="Review status.")
    recorded_by: str = strawberry.field(description="Subject of the facilitator who recorded it.")
    village_code: str = strawberry.field(description="Village of the household (from the registry).")
    created_at: datetime = strawberry.field(description="When it was recorded.")
    updated_at: datetime = strawberry.field(description="Last change.")

    @strawberry.field(description=REVIEWS)
    async def reviews(self, info: Info, first: First = None, after: After = None) -> Connection[Review]:
        return await _reviews(info, self.uuid, first, after)

    @classmethod
    def from_model(cls, row: ComplaintModel) -> Complaint:
        return cls(id=to_global_id("Complaint", row.id), uuid=row.id,
                   household_id=to_global_id("Household", row.household_id),
                   person_id=to_global_id("Person", row.person_id) if row.person_id else None,
                   category=row.category, description=row.description, status=SubmissionStatus(row.status.value),
                   recorded_by=row.recorded_by, village_code=row.village_code, created_at=row.created_at,
                   updated_at=row.updated_at)


@strawberry.type(description="A facilitator's proposal to add to or correct the registry. Nothing in the "
                             "registry changes until a supervisor approves it.")
class Proposal(Node):
    uuid: strawberry.Private[uuid.UUID]
    kind: ProposalKind = strawberry.field(description="What is proposed.")
    household_id: strawberry.ID | None = strawberry.field(
        description="Household concerned; for NEW_HOUSEHOLD, the household created on approval.")
    person_id: strawberry.ID | None = strawberry.field(
        description="Person concerned; for NEW_PERSON, the person created on approval.")
    status: SubmissionStatus = strawberry.field(description="Review status.")
    submitted_by: str = strawberry.field(description="Subject of the facilitator who proposed it.")
    registry_status: str | None = strawberry.field(
        description="Once approved and pushed: SIKS-NG's processing status in its own words (e.g. `DITERIMA`, "
                    "`VERIVALI`, `DISETUJUI`); null before SIKS-NG has answered.")
    village_code: str = strawberry.field(description="Village concerned.")
    created_at: datetime = strawberry.field(description="When it was proposed.")
    raw_payload: strawberry.Private[dict[str, Any]]
    raw_previous: strawberry.Private[dict[str, Any] | None]

    @strawberry.field(description="The proposed values (for CORRECTION: only the changed fields). `nik` and "
                                  "`kk_number` are masked and disability fields null, as on `Person`.")
    def payload(self, info: Info) -> JSON:
        return cast(JSON, mask_record_for(info.context.principal, self.raw_payload))

    @strawberry.field(description="CORRECTION only: the registry values the change replaces (once approved: the "
                                  "values it actually overwrote). Masked like `payload`.")
    def previous(self, info: Info) -> JSON | None:
        return cast(JSON | None, mask_record_for(info.context.principal, self.raw_previous))

    @strawberry.field(description=REVIEWS)
    async def reviews(self, info: Info, first: First = None, after: After = None) -> Connection[Review]:
        return await _reviews(info, self.uuid, first, after)

    @classmethod
    def from_model(cls, row: ProposalModel) -> Proposal:
        return cls(id=to_global_id("Proposal", row.id), uuid=row.id, kind=ProposalKind(row.kind),
                   household_id=to_global_id("Household", row.household_id) if row.household_id else None,
                   person_id=to_global_id("Person", row.person_id) if row.person_id else None,
                   raw_payload=row.payload, raw_previous=row.previous,
                   status=SubmissionStatus(row.status.value), submitted_by=row.submitted_by,
                   registry_status=row.registry_status, village_code=row.village_code, created_at=row.created_at)


Submission = Annotated[Need | Complaint | Proposal, strawberry.union(
    "Submission", description="Anything a facilitator submits for a supervisor's review.")]


def submission_from_model(row: NeedModel | ComplaintModel | ProposalModel) -> Need | Complaint | Proposal:
    if isinstance(row, NeedModel):
        return Need.from_model(row)
    if isinstance(row, ComplaintModel):
        return Complaint.from_model(row)
    return Proposal.from_model(row)


_CASES = by_global_id("Case", CaseRepository)


@strawberry.type(description="One step in a case's history. A step is part of its case and never changes, so it "
                             "has no global ID of its own: reach it through `Case.history`, paged by cursor.")
class CaseEvent:
    actor: str = strawberry.field(description="Subject of the person or system that took the step.")
    role: str = strawberry.field(description="Their role at the time, e.g. `supervisor`, `manager`.")
    from_status: CaseStatus | None = strawberry.field(description="Status before; null when the case was opened.")
    to_status: CaseStatus = strawberry.field(description="Status after.")
    reason: str = strawberry.field(description="Reason or note given with the step.")
    at: datetime = strawberry.field(description="When.")

    @classmethod
    def from_model(cls, row: CaseEventModel) -> CaseEvent:
        return cls(actor=row.actor, role=row.role,
                   from_status=CaseStatus(row.from_status) if row.from_status else None,
                   to_status=CaseStatus(row.to_status), reason=row.reason, at=row.at)


@strawberry.federation.type(keys=["id"], description="The referral of an approved need or complaint to a "
                                                     "programme or partner, from opening to the household being "
                                                     "informed of the outcome.")
class Case(Node):
    uuid: strawberry.Private[uuid.UUID]
    household_id: strawberry.ID = strawberry.field(description="Global ID of the household.")
    need_id: strawberry.ID | None = strawberry.field(description="The need this case refers, if it came from one.")
    complaint_id: strawberry.ID | None = strawberry.field(
        description="The complaint this case refers, if it came from one.")
    programme_id: strawberry.ID | None = strawberry.field(description="Programme it was referred to.")
    partner_id: strawberry.ID | None = strawberry.field(description="Partner it was referred to.")
    status: CaseStatus = strawberry.field(description="Current status.")
    recommendation: str | None = strawberry.field(
        description="The manager's recommendation, e.g. to update the household's registry data.")
    partner_status: str | None = strawberry.field(
        description="Referred to a Baznas partner: what the partner reports on the referral (`received`, "
                    "`in_review`, `approved`, `rejected`); null before it has answered. The case's own "
                    "status still moves only by `decideCase`.")
    due_at: datetime | None = strawberry.field(
        description="When the current step is due (per-step SLA); null once the household was informed.")
    overdue: bool = strawberry.field(description="True when the current step is past `dueAt`.")
    village_code: str = strawberry.field(description="Village of the household.")
    created_at: datetime = strawberry.field(description="When the case was opened.")
    updated_at: datetime = strawberry.field(description="Last step.")

    @strawberry.field(description="Every step so far, oldest first: who, in which role, when, from and to "
                                  "which status, and why; a page at a time (`first` at most 100). The histories "
                                  "of a whole page of cases are fetched together.")
    async def history(self, info: Info, first: First = None, after: After = None) -> Connection[CaseEvent]:
        page = page_args(info, first, after)
        found = to_page(await loaders.case_event_pages(info.context).load((self.uuid, page)), page)

        async def count() -> int:
            return await loaders.case_event_counts(info.context).load(self.uuid)

        return connection([CaseEvent.from_model(e) for e in found.items], found, count)

    @classmethod
    def from_model(cls, row: CaseModel) -> Case:
        return cls(id=to_global_id("Case", row.id), uuid=row.id,
                   household_id=to_global_id("Household", row.household_id),
                   need_id=to_global_id("Need", row.need_id) if row.need_id else None,
                   complaint_id=to_global_id("Complaint", row.complaint_id) if row.complaint_id else None,
                   programme_id=to_global_id("Programme", row.programme_id) if row.programme_id else None,
                   partner_id=to_global_id("Partner", row.partner_id) if row.partner_id else None,
                   status=CaseStatus(row.status.value), recommendation=row.recommendation,
                   partner_status=row.partner_status, due_at=row.due_at,
                   overdue=workflow_service.is_overdue(row), village_code=row.village_code,
                   created_at=row.created_at, updated_at=row.updated_at)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Case | None:
        # CaseRepository adds programme scope for programme owners on top of region scope.
        row = await resolve_entity(info, "Case", str(id), _CASES)
        return cls.from_model(row) if row else None
