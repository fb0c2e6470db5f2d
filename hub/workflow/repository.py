"""All SQL of the workflow. Every read of a scoped table starts from ``ScopedRepository.readable``."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar, cast

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from auth.principal import Principal
from hub.db.repository import RepositoryBase, ScopedRepository
from hub.errors import NotFound
from hub.models import (
    Case,
    CaseEvent,
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
)
from hub.paging import PageRequest
from hub.workflow.schemas import CaseFilter, CaseOrder, SubmissionFilter, SubmissionOrder

W = TypeVar("W", Need, Complaint, Proposal)
C = TypeVar("C", Review, CaseEvent)
SubmissionModel = type[Need] | type[Complaint] | type[Proposal]


def _submission_order(model: type[W], order: SubmissionOrder) -> tuple[ColumnElement[Any], ...]:
    # Ties broken by ID, so pages never overlap.
    return {
        SubmissionOrder.created_desc: (model.created_at.desc(), model.id.desc()),
        SubmissionOrder.created_asc: (model.created_at.asc(), model.id.asc()),
        SubmissionOrder.updated_desc: (model.updated_at.desc(), model.id.desc()),
    }[order]


_CASE_ORDER: dict[CaseOrder, tuple[ColumnElement[Any], ...]] = {
    CaseOrder.created_desc: (Case.created_at.desc(), Case.id.desc()),
    CaseOrder.created_asc: (Case.created_at.asc(), Case.id.asc()),
    CaseOrder.due_asc: (Case.due_at.asc().nulls_last(), Case.id.asc()),
    CaseOrder.updated_desc: (Case.updated_at.desc(), Case.id.desc()),
}


class _ChildPages(ScopedRepository[C], Generic[C]):
    """Rows that belong to a parent (reviews of a submission, events of a case), a page per parent."""

    # Column names, not the mapped attributes: those are descriptors, which would read this
    # repository as if it were a row.
    parent_column: ClassVar[str]
    order_columns: ClassVar[tuple[str, ...]]

    def _column(self, name: str) -> InstrumentedAttribute[Any]:
        return cast("InstrumentedAttribute[Any]", getattr(self.model, name))

    async def pages(self, parent_ids: Sequence[uuid.UUID], page: PageRequest) -> dict[uuid.UUID, list[C]]:
        """One page (``limit + 1`` rows, oldest first) for each parent, in one statement."""
        grouped: dict[uuid.UUID, list[C]] = defaultdict(list)
        if not parent_ids:
            return grouped
        parent = self._column(self.parent_column)
        order = [self._column(name) for name in self.order_columns]
        base = self.readable().where(parent.in_(list(parent_ids)))
        if len(parent_ids) == 1:
            rows = await self.get_all(base.order_by(*order).offset(page.offset).limit(page.limit + 1))
        else:
            rank = func.row_number().over(partition_by=parent, order_by=order).label("rank")
            ranked = base.add_columns(rank).subquery()
            row = aliased(self.model, ranked)
            rows = await self.get_all(
                select(row).where(ranked.c.rank > page.offset, ranked.c.rank <= page.offset + page.limit + 1)
                .order_by(ranked.c[self.parent_column], ranked.c.rank))
        for child in rows:
            grouped[getattr(child, self.parent_column)].append(child)
        return grouped

    async def counts(self, parent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        parent = self._column(self.parent_column)
        counted = cast("Select[Any]", select(parent, func.count()))
        stmt = self.readable(counted).where(parent.in_(list(parent_ids))).group_by(parent)
        return {parent_id: int(n) for parent_id, n in (await self.session.execute(stmt)).all()}


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

    def filtered(self, wanted: SubmissionFilter) -> Select[Any]:
        stmt = self.readable()
        if wanted.status is not None:
            stmt = stmt.where(self.model.status == wanted.status)
        if wanted.region_code is not None:
            stmt = self.within(stmt, wanted.region_code)
        return stmt

    async def page(self, wanted: SubmissionFilter, order: SubmissionOrder, page: PageRequest) -> Sequence[W]:
        stmt = self.filtered(wanted).order_by(*_submission_order(self.model, order))
        return await self.get_all(stmt.offset(page.offset).limit(page.limit + 1))

    async def count_filtered(self, wanted: SubmissionFilter) -> int:
        return await self.count(self.filtered(wanted))


class ReviewRepository(_ChildPages[Review]):
    model = Review
    parent_column = "subject_id"
    order_columns = ("at", "id")

    async def get_many_via_subject(self, ids: Iterable[uuid.UUID],
                                   subjects: Mapping[str, SubmissionModel]) -> dict[uuid.UUID, Review]:
        """Reviews by ID, each only if its submission is readable too (``subjects``: subject type ->
        model): a review is exactly as visible as what it reviews, programme-owner rules included.
        One statement whether the IDs exist, are out of scope, or neither."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        visible = or_(*(and_(Review.subject_type == kind, Review.subject_id.in_(
            SubmissionRepository[Any](self.session, self.principal, model).readable(select(model.id), model=model)))
            for kind, model in subjects.items()))
        rows = await self.get_all(self.readable().where(Review.id.in_(wanted), visible))
        return {row.id: row for row in rows}


class CaseRepository(ScopedRepository[Case]):
    model = Case

    async def get_for_update(self, id_: uuid.UUID) -> Case:
        row = await self.get_one_or_none(self.readable().where(Case.id == id_).with_for_update(of=Case))
        if row is None:
            raise NotFound("Case not found")
        return row

    def filtered(self, wanted: CaseFilter, now: datetime) -> Select[Any]:
        stmt = self.readable()
        if wanted.status is not None:
            stmt = stmt.where(Case.status == wanted.status)
        if wanted.overdue is True:
            stmt = stmt.where(Case.due_at.is_not(None), Case.due_at < now)
        elif wanted.overdue is False:
            stmt = stmt.where(or_(Case.due_at.is_(None), Case.due_at >= now))
        if wanted.region_code is not None:
            stmt = self.within(stmt, wanted.region_code)
        return stmt

    async def page(self, wanted: CaseFilter, order: CaseOrder, page: PageRequest, now: datetime) -> Sequence[Case]:
        stmt = self.filtered(wanted, now).order_by(*_CASE_ORDER[order])
        return await self.get_all(stmt.offset(page.offset).limit(page.limit + 1))

    async def count_filtered(self, wanted: CaseFilter, now: datetime) -> int:
        return await self.count(self.filtered(wanted, now))

    async def for_submission(self, subject_id: uuid.UUID) -> Case | None:
        return await self.get_one_or_none(
            self.readable().where(or_(Case.need_id == subject_id, Case.complaint_id == subject_id)))


class CaseEventRepository(_ChildPages[CaseEvent]):
    model = CaseEvent
    parent_column = "case_id"
    order_columns = ("at", "id")


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
