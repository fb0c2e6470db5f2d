"""A tiny personal-data schema for the access-control tests, independent of the real read API.

It reads only through ``ScopedRepository`` and ``unit_of_work`` (so RLS and the scope are real),
masks through ``hub.masking``, and is served by the real app factory, gate and audit extension.
"""

from __future__ import annotations

import uuid

import strawberry
from graphql import GraphQLError
from sqlalchemy import select
from strawberry.tools import merge_types

from hub.db.engine import unit_of_work
from hub.db.repository import ScopedRepository
from hub.masking import disability_for, mask_nik_for, may_read_personal_data
from hub.models import Household as HouseholdModel
from hub.models import Person as PersonModel
from hub.models import Region as RegionModel
from schema.audit import AuditExtension, AuditQuery
from schema.context import Info
from schema.ids import from_global_id, to_global_id
from schema.query import Region


def _require(info: Info) -> None:
    principal = info.context.principal
    if principal is None:
        raise GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})
    if not may_read_personal_data(principal):
        raise GraphQLError("not allowed", extensions={"code": "FORBIDDEN"})


@strawberry.type
class BaseQuery:
    """Non-personal reference data, as the real API serves it (no audit entry expected)."""

    @strawberry.field
    async def regions(self, info: Info) -> list[Region]:
        async with info.context.sessionmaker() as session:
            rows = (await session.execute(select(RegionModel).where(RegionModel.level == 1))).scalars().all()
        return [Region.from_model(r) for r in rows]


@strawberry.type
class Person:
    id: strawberry.ID
    name: str
    nik: str | None
    has_disability: bool | None


@strawberry.type
class Household:
    id: strawberry.ID
    address: str
    village_code: str
    members: list[Person]


class HouseholdRepository(ScopedRepository[HouseholdModel]):
    model = HouseholdModel


@strawberry.type
class FakeQuery:
    @strawberry.field
    async def households(self, info: Info) -> list[Household]:
        _require(info)
        principal = info.context.principal
        assert principal is not None
        async with unit_of_work(info.context.sessionmaker, principal) as session:
            repo = HouseholdRepository(session, principal)
            rows = await repo.get_all(repo.readable().order_by(HouseholdModel.address))
            persons = (await session.execute(repo.readable(
                select(PersonModel).where(PersonModel.household_id.in_([r.id for r in rows])), model=PersonModel,
            ))).scalars().all()
        members: dict[uuid.UUID, list[Person]] = {}
        for p in persons:
            members.setdefault(p.household_id, []).append(Person(
                id=to_global_id("Person", p.id), name=p.name, nik=mask_nik_for(principal, p.nik),
                has_disability=disability_for(principal, p.has_disability)))
        return [Household(id=to_global_id("Household", r.id), address=r.address, village_code=r.village_code,
                          members=members.get(r.id, [])) for r in rows]

    @strawberry.field
    async def household(self, info: Info, id: strawberry.ID) -> Household | None:
        _require(info)
        principal = info.context.principal
        assert principal is not None
        async with unit_of_work(info.context.sessionmaker, principal) as session:
            repo = HouseholdRepository(session, principal)
            row = await repo.get_one_or_none(repo.readable().where(
                HouseholdModel.id == from_global_id(id, "Household")))
        if row is None:
            return None
        return Household(id=to_global_id("Household", row.id), address=row.address,
                         village_code=row.village_code, members=[])


def fake_schema(settings: object = None) -> strawberry.Schema:
    return strawberry.federation.Schema(query=merge_types("Query", (BaseQuery, AuditQuery, FakeQuery)),
                             extensions=[AuditExtension])
