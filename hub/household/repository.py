"""Households: every read starts from ``ScopedRepository.readable``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, exists, select

from auth.principal import RegionScope, region_level
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
        if self.read_only and wanted.has_disability is None and wanted.programme_id is None \
                and wanted.enrolment_status is None \
                and (wanted.region_code is None or 1 <= region_level(wanted.region_code) <= 4):
            return await self._prepared_page(wanted, order, page)
        stmt = self.filtered(wanted).order_by(*_ORDER[order]).offset(page.offset).limit(page.limit + 1)
        return await self.get_all(stmt)

    async def _prepared_page(self, wanted: HouseholdFilter, order: HouseholdOrder,
                             page: PageRequest) -> Sequence[Household]:
        """The listing's usual filters (a region, deciles, updated since) as a statement prepared per shape:
        the same statement ``filtered`` builds, with the caller's values as parameters."""
        level = None
        if wanted.region_code is not None and not RegionScope.of(wanted.region_code).is_national:
            level = region_level(wanted.region_code)
        params: dict[str, Any] = {"region": [wanted.region_code], "decile_min": wanted.decile_min,
                                  "decile_max": wanted.decile_max, "updated_since": wanted.updated_since,
                                  "offset": page.offset, "limit": page.limit + 1}
        used = tuple(name for name in ("decile_min", "decile_max", "updated_since") if params[name] is not None)

        def build() -> Select[Any]:
            stmt = self.readable()
            if level is not None:
                stmt = self.within_level(stmt, level, bindparam("region", type_=Household.village_code.type,
                                                                expanding=True))
            if "decile_min" in used:
                stmt = stmt.where(Household.decile >= bindparam("decile_min", type_=Household.decile.type))
            if "decile_max" in used:
                stmt = stmt.where(Household.decile <= bindparam("decile_max", type_=Household.decile.type))
            if "updated_since" in used:
                stmt = stmt.where(Household.updated_at >= bindparam("updated_since", type_=Household.updated_at.type))
            return (stmt.order_by(*_ORDER[order])
                    .offset(bindparam("offset", type_=Integer)).limit(bindparam("limit", type_=Integer)))

        return await self._prepared_snapshots(("page", level, used, order), build, params)

    async def count_filtered(self, wanted: HouseholdFilter) -> int:
        return await self.count(self.filtered(wanted))
