"""All SQL of the workflow. Every read of a scoped table starts from ``ScopedRepository.readable``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from hub.db.repository import RepositoryBase, ScopedRepository
from hub.errors import NotFound
from hub.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Complaint,
    Household,
    Need,
    Partner,
    Person,
    Programme,
    ProgrammeRegion,
    Proposal,
    Region,
    Review,
    SubmissionStatus,
)

W = TypeVar("W", Need, Complaint, Proposal)


class HouseholdRepository(ScopedRepository[Household]):
    model = Household


class PersonRepository(ScopedRepository[Person]):
    model = Person

    async def get_in_household(self, person_id: uuid.UUID, household_id: uuid.UUID) -> Person:
        row = await self.get_one_or_none(
            self.readable().where(Person.id == person_id, Person.household_id == household_id))
        if row is None:
            raise NotFound("Person not found", field="personId")
        return row

    async def get_for_update(self, person_id: uuid.UUID) -> Person:
        row = await self.get_one_or_none(self.readable().where(Person.id == person_id).with_for_update())
        if row is None:
            raise NotFound("Person not found")
        return row

    async def head_of(self, household_id: uuid.UUID) -> Person | None:
        """The head of the household, else its first member; None for a household without members."""
        stmt = (self.readable().where(Person.household_id == household_id, Person.status != "archived")
                .order_by((Person.relationship_to_head != "head"), Person.created_at, Person.id).limit(1))
        return await self.get_one_or_none(stmt)

    async def by_niks(self, niks: Iterable[str], *, push: bool = False) -> dict[str, list[Person]]:
        """Valid, current persons by NIK; ``push``: for a ministry push matching its items (``for_push``)."""
        wanted = sorted(set(niks))
        found: dict[str, list[Person]] = {}
        if not wanted:
            return found
        stmt = (self.for_push() if push else self.readable()).where(Person.nik.in_(wanted), Person.nik_valid.is_(True),
                                     Person.status != "archived").order_by(Person.id)
        for person in await self.get_all(stmt):
            found.setdefault(person.nik, []).append(person)
        return found


class SubmissionRepository(ScopedRepository[W], Generic[W]):
    def __init__(self, session: AsyncSession, principal: Principal, model: type[W]) -> None:
        super().__init__(session, principal)
        self.model = model

    async def get_for_update(self, id_: uuid.UUID) -> W:
        # FOR UPDATE: two supervisors approving at once must not open two cases.
        row = await self.get_one_or_none(self.readable().where(self.model.id == id_).with_for_update())
        if row is None:
            raise NotFound(f"{self.model.__name__} not found")
        return row

    async def list(self, status: SubmissionStatus | None, first: int) -> Sequence[W]:
        stmt = self.readable()
        if status is not None:
            stmt = stmt.where(self.model.status == status)
        return await self.get_all(stmt.order_by(self.model.created_at.desc(), self.model.id).limit(first))


class ReviewRepository(ScopedRepository[Review]):
    model = Review

    async def for_subjects(self, subject_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Review]]:
        grouped: dict[uuid.UUID, list[Review]] = {id_: [] for id_ in subject_ids}
        if not subject_ids:
            return grouped
        stmt = self.readable().where(Review.subject_id.in_(list(subject_ids))).order_by(Review.at, Review.id)
        for review in await self.get_all(stmt):
            grouped[review.subject_id].append(review)
        return grouped


class CaseRepository(ScopedRepository[Case]):
    model = Case

    async def get_for_update(self, id_: uuid.UUID) -> Case:
        row = await self.get_one_or_none(self.readable().where(Case.id == id_).with_for_update(of=Case))
        if row is None:
            raise NotFound("Case not found")
        return row

    async def list(self, *, status: CaseStatus | None, overdue: bool | None, now: datetime,
                   first: int) -> Sequence[Case]:
        stmt = self.readable()
        if status is not None:
            stmt = stmt.where(Case.status == status)
        if overdue is True:
            stmt = stmt.where(Case.due_at.is_not(None), Case.due_at < now)
        elif overdue is False:
            stmt = stmt.where(or_(Case.due_at.is_(None), Case.due_at >= now))
        return await self.get_all(stmt.order_by(Case.created_at.desc(), Case.id).limit(first))

    async def for_submission(self, subject_id: uuid.UUID) -> Case | None:
        return await self.get_one_or_none(
            self.readable().where(or_(Case.need_id == subject_id, Case.complaint_id == subject_id)))


class CaseEventRepository(ScopedRepository[CaseEvent]):
    model = CaseEvent

    async def for_cases(self, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CaseEvent]]:
        grouped: dict[uuid.UUID, list[CaseEvent]] = {id_: [] for id_ in case_ids}
        if not case_ids:
            return grouped
        stmt = self.readable().where(CaseEvent.case_id.in_(list(case_ids))).order_by(
            CaseEvent.case_id, CaseEvent.at, CaseEvent.id)
        for event in await self.get_all(stmt):
            grouped[event.case_id].append(event)
        return grouped


class CatalogueRepository(RepositoryBase[Programme]):
    """The programme catalogue and partners: national reference data, not region-scoped."""

    model = Programme

    async def programme(self, code: str) -> Programme | None:
        return await self.get_one_or_none(select(Programme).where(Programme.code == code))

    async def programme_regions(self, programme_id: uuid.UUID) -> list[str]:
        result = await self.session.execute(
            select(ProgrammeRegion.region_code).where(ProgrammeRegion.programme_id == programme_id))
        return list(result.scalars().all())

    async def partner(self, code: str) -> Partner | None:
        result = await self.session.execute(select(Partner).where(Partner.code == code))
        return result.scalars().one_or_none()

    async def partner_by_id(self, partner_id: uuid.UUID | None) -> Partner | None:
        if partner_id is None:
            return None
        result = await self.session.execute(select(Partner).where(Partner.id == partner_id))
        return result.scalars().one_or_none()

    async def codes_for_case(self, case: Case) -> tuple[str | None, str | None]:
        programme_code = partner_code = None
        if case.programme_id is not None:
            programme_code = (await self.session.execute(
                select(Programme.code).where(Programme.id == case.programme_id))).scalar_one()
        if case.partner_id is not None:
            partner_code = (await self.session.execute(
                select(Partner.code).where(Partner.id == case.partner_id))).scalar_one()
        return programme_code, partner_code

    async def region_exists(self, code: str) -> bool:
        return (await self.session.execute(select(Region.code).where(Region.code == code))).first() is not None
