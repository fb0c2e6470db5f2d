"""Read-only repositories return column snapshots: the same rows, values and scope as ORM instances."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import MultipleResultsFound
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from auth.principal import Principal, RegionScope, Role
from hub.db.engine import set_scope
from hub.db.repository import Snapshot
from hub.household.repository import HouseholdRepository
from hub.models import Household, Person
from hub.person.repository import PersonRepository
from tests.fixtures.factories import make_household, make_person

VILLAGE_A = "33.14.01.2001"
VILLAGE_B = "33.72.01.1001"  # another regency


def manager(*codes: str) -> Principal:
    return Principal(subject="manager-1", role=Role.manager, scope=RegionScope.of(*codes))


def columns(row: object) -> dict[str, object]:
    return {k: v for k, v in vars(row).items() if not k.startswith("_")}


async def test_snapshots_hold_the_same_values_as_orm_rows_within_scope(session: AsyncSession) -> None:
    inside = await make_household(session, VILLAGE_A)
    await make_household(session, VILLAGE_B)
    members = [await make_person(session, inside) for _ in range(3)]
    who = manager("33.14")
    await set_scope(session, who)

    orm = PersonRepository(session, who)
    snapshots = PersonRepository(session, who, read_only=True)
    expected = await orm.by_household_ids([inside.id])
    got = await snapshots.by_household_ids([inside.id])
    assert [type(p) for p in got[inside.id]] == [Snapshot] * 3
    assert [columns(p) for p in got[inside.id]] == [columns(p) for p in expected[inside.id]]
    assert {p.id for p in got[inside.id]} == {m.id for m in members}

    households = HouseholdRepository(session, who, read_only=True)
    found = await households.get_all(households.readable())
    assert [h.village_code for h in found] == [VILLAGE_A]  # scope applies exactly as for ORM reads
    assert isinstance(found[0], Snapshot)


async def test_statements_that_need_the_orm_still_get_orm_instances(session: AsyncSession) -> None:
    household = await make_household(session, VILLAGE_A)
    await make_person(session, household)
    who = manager("33.14")
    repository = HouseholdRepository(session, who, read_only=True)
    eager = repository.readable().options(selectinload(Household.members))
    assert isinstance((await repository.get_all(eager))[0], Household)
    joined = repository.readable().join(Person, Person.household_id == Household.id)
    assert isinstance((await repository.get_all(joined))[0], Household)
    other = select(Person.name)
    assert repository._snapshots_apply(other) is False


async def test_one_or_none_refuses_two_rows_like_the_orm(session: AsyncSession) -> None:
    await make_household(session, VILLAGE_A)
    await make_household(session, VILLAGE_A)
    repository = HouseholdRepository(session, manager("33.14"), read_only=True)
    with pytest.raises(MultipleResultsFound):
        await repository.get_one_or_none(repository.readable())
    assert await repository.get_one_or_none(repository.readable().where(Household.village_code == "none")) is None
