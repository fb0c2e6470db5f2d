"""Root query fields of the read API: the registry, the programme catalogue, and ``node``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from auth.permissions import Permission, can
from hub import models
from hub.errors import Forbidden
from hub.family import service as family_service
from hub.family.repository import FamilyRepository
from hub.household import service as household_service
from hub.household.repository import HouseholdRepository
from hub.household.schemas import HouseholdFilter, HouseholdOrder
from hub.paging import to_page
from hub.partner.repository import PartnerRepository
from hub.person import service as person_service
from hub.person.repository import PersonRepository
from hub.programme.repository import ProgrammeRepository
from schema import loaders
from schema.context import Info
from schema.ids import from_global_id
from schema.node import resolve_node
from schema.types.common import After, Connection, First, Node, connection, page_args
from schema.types.enums import EnrolmentStatus, HouseholdOrderBy, ProgrammeLevel, value_of
from schema.types.programme import Partner, Programme
from schema.types.registry import Family, Household, Person


@strawberry.input(description="Narrow a household list. All given conditions must hold.")
class HouseholdFilterInput:
    region_code: str | None = strawberry.field(
        default=None, description="Only households in this region, at any level: `33`, `33.14`, `33.14.01` or "
                                  "`33.14.01.2001`. It narrows your scope, never widens it.")
    programme_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only households with an enrolment in this programme (a `Programme` ID).")
    enrolment_status: EnrolmentStatus | None = strawberry.field(
        default=None, description="Only households with an enrolment in this state (in `programmeId` if given).")
    decile_min: int | None = strawberry.field(default=None, description="Lowest current decile, 1-10.")
    decile_max: int | None = strawberry.field(default=None, description="Highest current decile, 1-10.")
    has_disability: bool | None = strawberry.field(
        default=None, description="True: households with at least one member with a disability; false: none. "
                                  "Needs the right to see disability data (else FORBIDDEN).")
    updated_since: datetime | None = strawberry.field(
        default=None, description="Only households changed at or after this instant (ISO 8601 with offset).")

    def to_filter(self) -> HouseholdFilter:
        return HouseholdFilter(
            region_code=self.region_code,
            programme_id=from_global_id(self.programme_id, "Programme") if self.programme_id else None,
            enrolment_status=models.EnrolmentStatus(value_of(self.enrolment_status)) if self.enrolment_status else None,
            decile_min=self.decile_min, decile_max=self.decile_max, has_disability=self.has_disability,
            updated_since=self.updated_since)


@strawberry.type
class ReadQuery:
    @strawberry.field(description="Any object by its global ID. Null when it does not exist or is outside "
                                  "your regions (the two are indistinguishable by design).")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info.context, id)

    @strawberry.field(description="One household by its global ID; null when unknown or outside your regions.")
    async def household(self, info: Info, id: strawberry.ID) -> Household | None:
        row = await loaders.households(info.context).load(from_global_id(id, "Household"))
        return Household.from_model(row) if row else None

    @strawberry.field(description="Households in your regions, filtered and ordered, a page at a time "
                                  "(`first` at most 100).")
    async def households(self, info: Info, first: First = None, after: After = None,
                         filter: Annotated[HouseholdFilterInput | None, strawberry.argument(
                             description="Conditions the households must all meet.")] = None,
                         order_by: Annotated[HouseholdOrderBy, strawberry.argument(
                             description="Sort order.")] = HouseholdOrderBy.UPDATED_AT_DESC) -> Connection[Household]:
        principal = info.context.require_principal()
        page = page_args(info, first, after)
        wanted = (filter or HouseholdFilterInput()).to_filter()
        if wanted.has_disability is not None and not can(principal, Permission.see_disability):
            # Filtering on a field one may not read would reveal it, one household at a time.
            raise Forbidden("filtering on disability needs the right to see disability data")
        order = HouseholdOrder(value_of(order_by))
        async with info.context.read_session() as session:
            repository = HouseholdRepository(session, principal, read_only=True)
            found = await household_service.list_households(repository, wanted, order, page)

        async def count() -> int:
            async with info.context.read_session() as session:
                repository = HouseholdRepository(session, principal, read_only=True)
                return await household_service.count_households(repository, wanted)

        return connection([Household.from_model(r) for r in found.items], found, count)

    @strawberry.field(description="The person with this NIK (16 digits). Null when unknown or outside your "
                                  "regions. A malformed NIK is an error with code INVALID_NIK. When a NIK is "
                                  "shared by several records (see `nikFlags`), the active, valid one is returned.")
    async def person_by_nik(self, info: Info, nik: Annotated[str, strawberry.argument(
            description="16-digit NIK; surrounding spaces are ignored.")]) -> Person | None:
        principal = info.context.require_principal()
        async with info.context.read_session() as session:
            row = await person_service.find_by_nik(PersonRepository(session, principal, read_only=True), nik)
        return Person.from_model(row, principal) if row else None

    @strawberry.field(description="The family card with this KK number (16 digits). Null when unknown or outside "
                                  "your regions; a malformed number is an error with code INVALID_KK.")
    async def family_by_kk(self, info: Info, kk: Annotated[str, strawberry.argument(
            description="16-digit family card (KK) number.")]) -> Family | None:
        principal = info.context.require_principal()
        async with info.context.read_session() as session:
            row = await family_service.find_by_kk(FamilyRepository(session, principal, read_only=True), kk)
        return Family.from_model(row) if row else None

    @strawberry.field(description="One programme by its global ID. The catalogue is public.")
    async def programme(self, info: Info, id: strawberry.ID) -> Programme | None:
        row = await loaders.programmes(info.context).load(from_global_id(id, "Programme"))
        return Programme.from_model(row) if row else None

    @strawberry.field(description="One programme by its code, e.g. `PKH`. The catalogue is public.")
    async def programme_by_code(self, info: Info, code: str) -> Programme | None:
        async with info.context.read_session() as session:
            row = await ProgrammeRepository(session, read_only=True).by_code(code)
        return Programme.from_model(row) if row else None

    @strawberry.field(description="The programme catalogue, by code, a page at a time (`first` at most 100).")
    async def programmes(self, info: Info, first: First = None, after: After = None,
                         level: Annotated[ProgrammeLevel | None, strawberry.argument(
                             description="Only programmes run at this level.")] = None) -> Connection[Programme]:
        page = page_args(info, first, after)
        hub_level = models.ProgrammeLevel(value_of(level)) if level else None
        async with info.context.read_session() as session:
            found = to_page(await ProgrammeRepository(session, read_only=True).page(page, hub_level), page)

        async def count() -> int:
            async with info.context.read_session() as session:
                repository = ProgrammeRepository(session, read_only=True)
                return await repository.count(repository.filtered(hub_level))

        return connection([Programme.from_model(r) for r in found.items], found, count)

    @strawberry.field(description="Non-government partners, by code, a page at a time (`first` at most 100).")
    async def partners(self, info: Info, first: First = None, after: After = None) -> Connection[Partner]:
        page = page_args(info, first, after)
        async with info.context.read_session() as session:
            found = to_page(await PartnerRepository(session, read_only=True).page(page), page)

        async def count() -> int:
            async with info.context.read_session() as session:
                return await PartnerRepository(session, read_only=True).count_all()

        return connection([Partner.from_model(r) for r in found.items], found, count)
