"""Households: every read starts from ``ScopedRepository.readable``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, select

from hub.db.repository import ScopedRepository
from hub.household.schemas import HouseholdFilter, HouseholdOrder
from hub.models import Enrolment, Household, Person
from hub.paging import PageRequest

_ORDER: dict[HouseholdOrder, tuple[ColumnElement[Any], ...]] = {
    HouseholdOrder.updated_desc: (Household.updated_at.desc(), Household.id.desc()),
    HouseholdOrder.updated_asc: (Household.updated_at.asc(), Household.id.asc()),
    HouseholdOrder.decile_asc: (Household.decile.asc().nulls_last(), Household.id.asc()),
    HouseholdOrder.decile_desc: (Household.decile.desc().nulls_last(), Household.id.asc()),
    HouseholdOrder.registry_id: (Household.registry_id.asc().nulls_last(), Household.id.asc()),
}


class HouseholdRepository(ScopedRepository[Household]):
    model = Household

    def filtered(self, wanted: HouseholdFilter) -> Select[Any]:
        stmt = self.readable()
        if wanted.region_code is not None:
            stmt = self.within(stmt, wanted.region_code)
        if wanted.decile_min is not None:
            stmt = stmt.where(Household.decile >= wanted.decile_min)
        if wanted.decile_max is not None:
            stmt = stmt.where(Household.decile <= wanted.decile_max)
        if wanted.updated_since is not None:
            stmt = stmt.where(Household.updated_at >= wanted.updated_since)
        if wanted.has_disability is not None:
            disabled = exists(self.readable(select(Person.id), model=Person).where(
                Person.household_id == Household.id, Person.has_disability.is_(True)))
            stmt = stmt.where(disabled if wanted.has_disability else ~disabled)
        if wanted.programme_id is not None or wanted.enrolment_status is not None:
            enrolled = self.readable(select(Enrolment.id), model=Enrolment).where(
                Enrolment.household_id == Household.id)
            if wanted.programme_id is not None:
                enrolled = enrolled.where(Enrolment.programme_id == wanted.programme_id)
            if wanted.enrolment_status is not None:
                enrolled = enrolled.where(Enrolment.status == wanted.enrolment_status)
            stmt = stmt.where(exists(enrolled))
        return stmt

    async def page(self, wanted: HouseholdFilter, order: HouseholdOrder, page: PageRequest) -> Sequence[Household]:
        stmt = self.filtered(wanted).order_by(*_ORDER[order]).offset(page.offset).limit(page.limit + 1)
        return await self.get_all(stmt)

    async def count_filtered(self, wanted: HouseholdFilter) -> int:
        return await self.count(self.filtered(wanted))
