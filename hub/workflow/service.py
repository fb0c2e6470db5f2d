"""The SLRT workflow: facilitators record, supervisors review, managers refer, owners decide.

Every function loads what it needs through scoped repositories (out of scope reads as NOT_FOUND),
asks ``rules`` whether the step is allowed, and only then writes. Functions flush, never commit:
the mutation boundary (``hub.db.engine.unit_of_work``) commits or rolls back. The region of
every row written is copied from the household it concerns, never taken from the caller's input.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from hub.config import DEFAULT_SLA_HOURS
from hub.db.base import RegionScoped, region_codes
from hub.errors import Forbidden, HubError, Invalid, NotFound
from hub.household.service import check_region_code
from hub.identity import InvalidIdentifier, parse_nik
from hub.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Complaint,
    Enrolment,
    EnrolmentStatus,
    Household,
    Need,
    Partner,
    Person,
    Proposal,
    RecordStatus,
    Review,
    SubmissionStatus,
)
from hub.paging import Page, PageRequest, to_page
from hub.push import service as push_service
from hub.workflow import outbound, rules
from hub.workflow.repository import (
    CaseEventRepository,
    CaseRepository,
    CatalogueRepository,
    HouseholdRepository,
    PersonRepository,
    ReviewRepository,
    SubmissionRepository,
)
from hub.workflow.schemas import (
    BatchItemResult,
    CaseFilter,
    CaseOrder,
    Decision,
    HouseholdChanges,
    NewHousehold,
    NewPerson,
    Participation,
    PersonChanges,
    ProposalKind,
    RecordSubmission,
    Referral,
    Resubmission,
    ReviewItem,
    ReviewOutcome,
    SubmissionFilter,
    SubmissionKind,
    SubmissionOrder,
)

Submission = Need | Complaint | Proposal
MAX_BATCH = 100
_MODELS: dict[SubmissionKind, type[Need] | type[Complaint] | type[Proposal]] = {
    SubmissionKind.need: Need, SubmissionKind.complaint: Complaint, SubmissionKind.proposal: Proposal,
}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def sla_table(overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    return {**DEFAULT_SLA_HOURS, **(overrides or {})}


def due_at(status: CaseStatus, now: datetime, sla_hours: Mapping[str, int]) -> datetime | None:
    step = rules.WAITING_FOR[status]
    return None if step is None else now + timedelta(hours=sla_table(sla_hours)[step.value])


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    return case.due_at is not None and case.due_at < _now(now)


def region_of(row: RegionScoped) -> dict[str, str]:
    return {"province_code": row.province_code, "regency_code": row.regency_code,
            "district_code": row.district_code, "village_code": row.village_code}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _checked_nik(raw: str, field: str = "nik") -> tuple[str, list[str]]:
    try:
        parsed = parse_nik(raw)
    except InvalidIdentifier as exc:
        raise Invalid(exc.message, code=exc.code, field=field) from exc
    return parsed.nik, sorted(parsed.flags)


def _repo(session: AsyncSession, principal: Principal, kind: SubmissionKind) -> SubmissionRepository[Any]:
    return SubmissionRepository(session, principal, _MODELS[kind])


def submitter_of(row: Submission) -> str:
    return row.submitted_by if isinstance(row, Proposal) else row.recorded_by


# Facilitator: record.

async def _household(session: AsyncSession, principal: Principal, household_id: uuid.UUID) -> Household:
    try:
        return await HouseholdRepository(session, principal).get(household_id)
    except NotFound as exc:
        raise NotFound("Household not found", field="householdId") from exc


async def record_need(session: AsyncSession, principal: Principal, data: RecordSubmission) -> Need:
    return await _record(session, principal, data, Need)  # type: ignore[return-value]


async def record_complaint(session: AsyncSession, principal: Principal, data: RecordSubmission) -> Complaint:
    return await _record(session, principal, data, Complaint)  # type: ignore[return-value]


async def _record(session: AsyncSession, principal: Principal, data: RecordSubmission,
                  model: type[Need] | type[Complaint]) -> Need | Complaint:
    rules.can_record(principal)
    household = await _household(session, principal, data.household_id)
    if data.person_id is not None:
        await PersonRepository(session, principal).get_in_household(data.person_id, household.id)
    row = model(household_id=household.id, person_id=data.person_id, category=data.category,
                description=data.description, status=SubmissionStatus.submitted,
                recorded_by=principal.subject, **region_of(household))
    session.add(row)
    await session.flush()
    return row


async def _propose(session: AsyncSession, principal: Principal, *, kind: ProposalKind, region: dict[str, str],
                   payload: dict[str, Any], previous: dict[str, Any] | None = None,
                   household_id: uuid.UUID | None = None, person_id: uuid.UUID | None = None) -> Proposal:
    row = Proposal(kind=kind.value, household_id=household_id, person_id=person_id, payload=payload,
                   previous=previous, status=SubmissionStatus.submitted, submitted_by=principal.subject, **region)
    session.add(row)
    await session.flush()
    return row


async def propose_household(session: AsyncSession, principal: Principal, data: NewHousehold) -> Proposal:
    rules.can_record(principal)
    # The one place a region comes from input: a household not yet in the registry has no other.
    # It must be a real village inside the facilitator's own villages.
    if not await CatalogueRepository(session).region_exists(data.village_code):
        raise NotFound("Region not found", field="villageCode")
    if not HouseholdRepository(session, principal).writable_region(data.village_code):
        raise Forbidden("the village is outside your region", field="villageCode")
    return await _propose(session, principal, kind=ProposalKind.new_household,
                          region=region_codes(data.village_code), payload=data.model_dump(mode="json"))


async def propose_person(session: AsyncSession, principal: Principal, data: NewPerson) -> Proposal:
    rules.can_record(principal)
    household = await _household(session, principal, data.household_id)
    nik, _ = _checked_nik(data.nik)
    payload = data.model_dump(mode="json", exclude={"household_id"}) | {"nik": nik}
    return await _propose(session, principal, kind=ProposalKind.new_person, region=region_of(household),
                          payload=payload, household_id=household.id)


async def propose_person_correction(session: AsyncSession, principal: Principal, person_id: uuid.UUID,
                                    changes: PersonChanges) -> Proposal:
    rules.can_record(principal)
    try:
        person = await PersonRepository(session, principal).get(person_id)
    except NotFound as exc:
        raise NotFound("Person not found", field="personId") from exc
    diff = changes.model_dump(mode="json", exclude_unset=True)
    if "nik" in diff:
        diff["nik"], _ = _checked_nik(diff["nik"], "changes.nik")
    previous = {name: _jsonable(getattr(person, name)) for name in diff}
    return await _propose(session, principal, kind=ProposalKind.correction, region=region_of(person),
                          payload=diff, previous=previous, household_id=person.household_id, person_id=person.id)


async def propose_household_correction(session: AsyncSession, principal: Principal, household_id: uuid.UUID,
                                       changes: HouseholdChanges) -> Proposal:
    rules.can_record(principal)
    household = await _household(session, principal, household_id)
    diff = changes.model_dump(mode="json", exclude_unset=True)
    previous = {name: _jsonable(getattr(household, name)) for name in diff}
    return await _propose(session, principal, kind=ProposalKind.correction, region=region_of(household),
                          payload=diff, previous=previous, household_id=household.id)


async def record_participation(session: AsyncSession, principal: Principal, data: Participation) -> Proposal:
    rules.can_record(principal)
    household = await _household(session, principal, data.household_id)
    if data.person_id is not None:
        await PersonRepository(session, principal).get_in_household(data.person_id, household.id)
    if await CatalogueRepository(session).programme(data.programme_code) is None:
        raise NotFound("Programme not found", field="programmeCode")
    return await _propose(session, principal, kind=ProposalKind.participation, region=region_of(household),
                          payload=data.model_dump(mode="json", exclude={"household_id", "person_id"}),
                          household_id=household.id, person_id=data.person_id)


async def resubmit(session: AsyncSession, principal: Principal, kind: SubmissionKind, id_: uuid.UUID,
                   data: Resubmission) -> Submission:
    row: Submission = await _repo(session, principal, kind).get_for_update(id_)
    status = rules.resubmit(principal, status=row.status)
    edits = data.model_dump(exclude_unset=True)
    if edits and isinstance(row, Proposal):
        raise Invalid("a returned proposal is resubmitted as it is; record a new proposal to change it",
                      field="category" if "category" in edits else "description")
    row.status = status
    for name, value in edits.items():
        if value is not None:
            setattr(row, name, value)
    session.add(Review(subject_type=kind.value, subject_id=row.id, reviewer=principal.subject,
                       decision=SubmissionStatus.submitted, reason="resubmitted", at=datetime.now(UTC),
                       **region_of(row)))
    await session.flush()
    await session.refresh(row, ["updated_at"])  # set by the database on update
    return row


# Supervisor: review.

async def review(session: AsyncSession, principal: Principal, item: ReviewItem, *,
                 sla_hours: Mapping[str, int] | None = None, now: datetime | None = None) -> ReviewOutcome:
    at = _now(now)
    row = await _repo(session, principal, item.kind).get_for_update(item.id)
    status, reason = rules.review(principal, status=row.status, submitted_by=submitter_of(row),
                                  decision=item.decision, reason=item.reason)
    outcome = ReviewOutcome(kind=item.kind, id=row.id, status=status)
    if status is SubmissionStatus.approved:
        if isinstance(row, Proposal):
            outcome = await _apply_proposal(session, principal, row, outcome)
            await outbound.proposal_approved(session, principal, row)  # pushed to SIKS-NG after commit
        else:
            case = await _open_case(session, principal, row, reason, at, sla_hours)
            outcome = outcome.model_copy(update={"case_id": case.id})
    row.status = status
    session.add(Review(subject_type=item.kind.value, subject_id=row.id, reviewer=principal.subject,
                       decision=status, reason=reason, at=at, **region_of(row)))
    await session.flush()
    return outcome


async def review_batch(session: AsyncSession, principal: Principal, items: Sequence[ReviewItem], *,
                       sla_hours: Mapping[str, int] | None = None,
                       now: datetime | None = None) -> list[BatchItemResult]:
    """Each item in its own savepoint: one refusal leaves the others' results standing."""
    if len(items) > MAX_BATCH:
        raise Invalid(f"at most {MAX_BATCH} submissions per batch", field="items")
    results = []
    for index, item in enumerate(items):
        try:
            async with session.begin_nested():
                outcome = await review(session, principal, item, sla_hours=sla_hours, now=now)
        except HubError as error:
            results.append(BatchItemResult(index=index, kind=item.kind, id=item.id, error_code=error.code,
                                           error_message=error.message))
        else:
            results.append(BatchItemResult(index=index, kind=item.kind, id=item.id, outcome=outcome))
    return results


async def _open_case(session: AsyncSession, principal: Principal, row: Need | Complaint, reason: str,
                     now: datetime, sla_hours: Mapping[str, int] | None) -> Case:
    case = Case(id=uuid.uuid4(), household_id=row.household_id, status=CaseStatus.open,
                need_id=row.id if isinstance(row, Need) else None,
                complaint_id=row.id if isinstance(row, Complaint) else None,
                due_at=due_at(CaseStatus.open, now, sla_hours or {}), **region_of(row))
    session.add(case)
    await session.flush()
    _event(session, principal, case, None, CaseStatus.open, reason, now)
    return case


async def _apply_proposal(session: AsyncSession, principal: Principal, proposal: Proposal,
                          outcome: ReviewOutcome) -> ReviewOutcome:
    """Write an approved proposal into the registry. Corrections keep the overwritten values."""
    kind = ProposalKind(proposal.kind)
    payload = proposal.payload
    if kind is ProposalKind.new_household:
        data = NewHousehold.model_validate(payload)
        household = Household(id=uuid.uuid4(), address=data.address, registry_id=data.registry_id,
                              status=RecordStatus.active, **region_of(proposal))
        session.add(household)
        await session.flush()
        proposal.household_id = household.id
        return outcome.model_copy(update={"household_id": household.id})
    household = await _household(session, principal, proposal.household_id)  # type: ignore[arg-type]
    if kind is ProposalKind.new_person:
        person_data = NewPerson.model_validate(payload | {"household_id": household.id})
        nik, flags = _checked_nik(person_data.nik)
        person = Person(id=uuid.uuid4(), nik=nik, nik_valid=True, nik_flags=flags, name=person_data.name,
                        sex=person_data.sex, birth_date=person_data.birth_date,
                        birth_place=person_data.birth_place, relationship_to_head=person_data.relationship_to_head,
                        has_disability=person_data.has_disability, disabilities=person_data.disabilities,
                        household_id=household.id, **region_of(household))
        session.add(person)
        await session.flush()
        proposal.person_id = person.id
        await push_service.match_pending(session, principal, niks=[nik])
        return outcome.model_copy(update={"household_id": household.id, "person_id": person.id})
    if kind is ProposalKind.correction:
        target: Household | Person
        if proposal.person_id is not None:
            target = await PersonRepository(session, principal).get_for_update(proposal.person_id)
            changes: dict[str, Any] = PersonChanges.model_validate(payload).model_dump(exclude_unset=True)
        else:
            target = household
            changes = HouseholdChanges.model_validate(payload).model_dump(exclude_unset=True)
        # The values actually overwritten, which may differ from those seen when it was proposed.
        proposal.previous = {name: _jsonable(getattr(target, name)) for name in changes}
        for name, value in changes.items():
            setattr(target, name, value)
        if isinstance(target, Person) and "nik" in changes:
            target.nik, target.nik_flags = _checked_nik(changes["nik"])
            target.nik_valid = True
        await session.flush()
        return outcome.model_copy(update={"household_id": household.id, "person_id": proposal.person_id})
    participation = Participation.model_validate(payload | {"household_id": household.id,
                                                            "person_id": proposal.person_id})
    programme = await CatalogueRepository(session).programme(participation.programme_code)
    if programme is None:
        raise NotFound("Programme not found", field="programmeCode")
    enrolment = Enrolment(id=uuid.uuid4(), programme_id=programme.id, household_id=household.id,
                          person_id=proposal.person_id, status=EnrolmentStatus.active,
                          period_start=participation.period_start, period_end=participation.period_end,
                          source_system="hub", source_record_id=str(proposal.id), **region_of(household))
    session.add(enrolment)
    await session.flush()
    return outcome.model_copy(update={"household_id": household.id, "enrolment_id": enrolment.id})


# Manager, programme owner, facilitator: the case.

def _event(session: AsyncSession, principal: Principal, case: Case, from_status: CaseStatus | None,
           to_status: CaseStatus, reason: str, at: datetime) -> None:
    session.add(CaseEvent(case_id=case.id, actor=principal.subject, role=principal.role.value,
                          from_status=from_status.value if from_status else None, to_status=to_status.value,
                          reason=reason, at=at, **region_of(case)))


async def _move(session: AsyncSession, principal: Principal, case: Case, to: CaseStatus, reason: str,
                now: datetime, sla_hours: Mapping[str, int] | None) -> Case:
    _event(session, principal, case, case.status, to, reason, now)
    case.status = to
    case.due_at = due_at(to, now, sla_hours or {})
    await session.flush()
    await session.refresh(case, ["updated_at"])  # set by the database on update
    return case


def _runs_in(region_codes_: Sequence[str], village_code: str) -> bool:
    # No region rows: the programme runs nationally.
    return not region_codes_ or any(village_code == c or village_code.startswith(c + ".") for c in region_codes_)


async def refer(session: AsyncSession, principal: Principal, data: Referral, *,
                sla_hours: Mapping[str, int] | None = None, now: datetime | None = None) -> Case:
    case = await CaseRepository(session, principal).get_for_update(data.case_id)
    to = rules.refer(principal, status=case.status, programme_code=data.programme_code,
                     partner_code=data.partner_code)
    catalogue = CatalogueRepository(session)
    partner: Partner | None
    if data.programme_code is not None:
        programme = await catalogue.programme(data.programme_code)
        if programme is None:
            raise NotFound("Programme not found", field="programmeCode")
        if not _runs_in(await catalogue.programme_regions(programme.id), case.village_code):
            raise Invalid("the programme does not run in the household's region", field="programmeCode")
        case.programme_id = programme.id
        partner = await catalogue.partner_by_id(programme.partner_id)
    else:
        partner = await catalogue.partner(data.partner_code or "")
        if partner is None:
            raise NotFound("Partner not found", field="partnerCode")
        if partner.region_code and not _runs_in([partner.region_code], case.village_code):
            raise Invalid("the partner does not work in the household's region", field="partnerCode")
        case.partner_id = partner.id
    case.recommendation = data.recommendation or None
    moved = await _move(session, principal, case, to, data.reason.strip(), _now(now), sla_hours)
    # A Baznas partner hears of it through the outbox, after commit.
    await outbound.case_referred(session, principal, moved, partner, programme_code=data.programme_code,
                                 reason=data.reason.strip())
    return moved


async def decide(session: AsyncSession, principal: Principal, data: Decision, *,
                 sla_hours: Mapping[str, int] | None = None, now: datetime | None = None) -> Case:
    case = await CaseRepository(session, principal).get_for_update(data.case_id)
    programme_code, partner_code = await CatalogueRepository(session).codes_for_case(case)
    to, reason = rules.decide(principal, status=case.status,
                              target=rules.CaseTarget(programme_code, partner_code),
                              decision=data.decision, reason=data.reason)
    return await _move(session, principal, case, to, reason, _now(now), sla_hours)


async def inform(session: AsyncSession, principal: Principal, case_id: uuid.UUID, note: str = "", *,
                 now: datetime | None = None) -> Case:
    case = await CaseRepository(session, principal).get_for_update(case_id)
    to = rules.inform(principal, status=case.status)
    return await _move(session, principal, case, to, note.strip(), _now(now), None)


# Reads.

def _checked_region(code: str | None) -> None:
    if code is not None:
        check_region_code(code)


async def list_submissions(session: AsyncSession, principal: Principal, kind: SubmissionKind,
                           wanted: SubmissionFilter, order: SubmissionOrder, page: PageRequest) -> Page[Any]:
    _checked_region(wanted.region_code)
    return to_page(await _repo(session, principal, kind).page(wanted, order, page), page)


async def count_submissions(session: AsyncSession, principal: Principal, kind: SubmissionKind,
                            wanted: SubmissionFilter) -> int:
    return await _repo(session, principal, kind).count_filtered(wanted)


async def get_submissions(session: AsyncSession, principal: Principal, kind: SubmissionKind,
                          ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    return await _repo(session, principal, kind).get_many(ids)


async def list_cases(session: AsyncSession, principal: Principal, wanted: CaseFilter, order: CaseOrder,
                     page: PageRequest, now: datetime | None = None) -> Page[Case]:
    _checked_region(wanted.region_code)
    return to_page(await CaseRepository(session, principal).page(wanted, order, page, _now(now)), page)


async def count_cases(session: AsyncSession, principal: Principal, wanted: CaseFilter,
                      now: datetime | None = None) -> int:
    return await CaseRepository(session, principal).count_filtered(wanted, _now(now))


async def get_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    return await CaseRepository(session, principal).get(case_id)


async def get_reviews(session: AsyncSession, principal: Principal,
                      ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Review]:
    """Reviews by ID, each only where the caller may read the submission it reviews."""
    return await ReviewRepository(session, principal).get_many_via_subject(
        ids, {kind.value: model for kind, model in _MODELS.items()})


async def get_cases(session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Case]:
    return await CaseRepository(session, principal).get_many(ids)


async def case_event_pages(session: AsyncSession, principal: Principal, case_ids: Sequence[uuid.UUID],
                           page: PageRequest) -> dict[uuid.UUID, list[CaseEvent]]:
    """A page of each case's history, oldest first (``limit + 1`` rows: the extra one says more follow)."""
    return await CaseEventRepository(session, principal).pages(case_ids, page)


async def case_event_counts(session: AsyncSession, principal: Principal,
                            case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    return await CaseEventRepository(session, principal).counts(case_ids)


async def review_pages(session: AsyncSession, principal: Principal, subject_ids: Sequence[uuid.UUID],
                       page: PageRequest) -> dict[uuid.UUID, list[Review]]:
    """A page of each submission's reviews, oldest first (``limit + 1`` rows)."""
    return await ReviewRepository(session, principal).pages(subject_ids, page)


async def review_counts(session: AsyncSession, principal: Principal,
                        subject_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    return await ReviewRepository(session, principal).counts(subject_ids)
