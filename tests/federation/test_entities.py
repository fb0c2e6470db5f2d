"""``_entities`` reads through the region-scoped repository: out of scope reads as absent (null)."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.config import Settings
from hub.db.engine import make_sessionmaker
from hub.db.repository import ScopedRepository
from hub.models import Household as HouseholdModel
from schema.app import build_schema
from schema.context import Context, Info
from schema.federation import by_global_id, resolve_entity
from schema.ids import to_global_id
from tests.fixtures.factories import make_household


class HouseholdRepository(ScopedRepository[HouseholdModel]):
    model = HouseholdModel


unresolved_calls: list[tuple[str, list[Any]]] = []


async def record_unresolved(session: AsyncSession, principal: Principal, type_name: str, keys: Any) -> None:
    unresolved_calls.append((type_name, list(keys)))


# The shape a real entity takes (schema/federation.py documents it); declared here so the helper
# is proven on a scoped table before the API's own Household type exists.
@strawberry.federation.type(keys=["id"])
class Household:
    id: strawberry.ID
    village_code: str

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Household | None:
        row = await resolve_entity(info, "Household", id, by_global_id("Household", HouseholdRepository),
                                   on_unresolved=record_unresolved)
        return cls(id=to_global_id("Household", row.id), village_code=row.village_code) if row else None


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> bool:
        return True


entity_schema = strawberry.federation.Schema(query=Query, types=[Household], federation_version="2.7")

ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Household { id villageCode } } }"""


def facilitator(*codes: str) -> Principal:
    return Principal(subject="fac-1", role=Role.facilitator, scope=RegionScope.of(*codes))


async def run(connection: AsyncConnection, settings: Settings, principal: Principal | None,
              representations: list[dict[str, Any]]) -> Any:
    context = Context(request=None, response=None, settings=settings,  # type: ignore[arg-type]
                      sessionmaker=make_sessionmaker(connection), principal=principal)
    return await entity_schema.execute(ENTITIES, variable_values={"r": representations}, context_value=context)


@pytest.fixture
async def two_households(session: AsyncSession) -> tuple[str, str]:
    inside = await make_household(session, "33.14.01.2001")
    outside = await make_household(session, "33.14.02.2001")
    await session.commit()  # a savepoint inside the test's transaction: visible to the app's sessions
    return to_global_id("Household", inside.id), to_global_id("Household", outside.id)


async def test_out_of_scope_and_unknown_references_resolve_to_null(
    connection: AsyncConnection, settings: Settings, two_households: tuple[str, str]
) -> None:
    inside, outside = two_households
    unknown = to_global_id("Household", "00000000-0000-0000-0000-000000000001")
    unresolved_calls.clear()
    reps = [{"__typename": "Household", "id": gid} for gid in (inside, outside, unknown, "not-an-id")]

    result = await run(connection, settings, facilitator("33.14.01"), reps)

    assert result.errors is None
    assert result.data == {"_entities": [{"id": inside, "villageCode": "33.14.01.2001"}, None, None, None]}
    # One batch, one call to the audit hook, with exactly the keys that resolved to nothing.
    assert unresolved_calls == [("Household", [outside, unknown, "not-an-id"])]


async def test_anonymous_caller_resolves_nothing(
    connection: AsyncConnection, settings: Settings, two_households: tuple[str, str]
) -> None:
    inside, _ = two_households
    result = await run(connection, settings, None, [{"__typename": "Household", "id": inside}])
    assert result.errors is None
    assert result.data == {"_entities": [None]}


async def test_national_scope_reads_both(
    connection: AsyncConnection, settings: Settings, two_households: tuple[str, str]
) -> None:
    inside, outside = two_households
    principal = Principal(subject="nat", role=Role.national_officer, scope=RegionScope.national())
    result = await run(connection, settings, principal, [{"__typename": "Household", "id": g} for g in two_households])
    assert result.errors is None
    assert [e["id"] for e in result.data["_entities"]] == [inside, outside]


async def test_hub_region_is_an_entity(connection: AsyncConnection, settings: Settings) -> None:
    context = Context(request=None, response=None, settings=settings,  # type: ignore[arg-type]
                      sessionmaker=make_sessionmaker(connection), principal=None)
    result = await build_schema().execute(
        'query { _entities(representations: [{__typename: "Region", code: "33.14"}, '
        '{__typename: "Region", code: "99.99"}]) { ... on Region { code name level } } }',
        context_value=context,
    )
    assert result.errors is None
    assert result.data == {"_entities": [{"code": "33.14", "name": "Kabupaten Sragen", "level": 2}, None]}
