"""``_entities`` reads through the region-scoped repository: out of scope reads as absent (null).

Every entity the hub declares (Household, Person, Case by global ID; Programme and Region by code)
is resolved here through the app's own schema, and every one reports exactly its unresolved keys
to the hook the audit trail plugs into.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.config import Settings
from hub.db.base import region_codes
from hub.db.engine import make_sessionmaker
from hub.models.workflow import Case, CaseStatus
from schema.app import build_schema
from schema.context import Context
from schema.federation import add_unresolved_hook
from schema.ids import to_global_id
from tests.fixtures.factories import make_household, make_person
from tests.fixtures.read_api import make_programme

INSIDE_VILLAGE, OUTSIDE_VILLAGE = "33.14.01.2001", "33.14.02.2001"
UNKNOWN_UUID = "00000000-0000-0000-0000-000000000001"

ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  __typename
  ... on Household { id villageCode members { name } }
  ... on Person { id name household { villageCode } }
  ... on Case { id status villageCode }
  ... on Programme { code name }
  ... on Region { code name }
} }"""

schema = build_schema()


def facilitator(*codes: str) -> Principal:
    return Principal(subject="fac-1", role=Role.facilitator, scope=RegionScope.of(*codes))


async def run(connection: AsyncConnection, settings: Settings, principal: Principal | None,
              representations: list[dict[str, Any]]) -> Any:
    # In-process, without an HTTP request to record against: the access log is off here (over HTTP it
    # fails closed instead); these tests are about resolution through the scoped repositories.
    context = Context(request=None, response=None, settings=settings.model_copy(update={"audit_reads": False}),  # type: ignore[arg-type]
                      sessionmaker=make_sessionmaker(connection), principal=principal)
    try:
        return await schema.execute(ENTITIES, variable_values={"r": representations}, context_value=context)
    finally:
        await context.close()


@pytest.fixture
def unresolved() -> Iterator[list[tuple[str, list[Any], Principal | None]]]:
    """What the unresolved-reference hook received: (type, keys, principal) per call."""
    calls: list[tuple[str, list[Any], Principal | None]] = []

    async def hook(context: Context, type_name: str, keys: Sequence[Any]) -> None:
        calls.append((type_name, list(keys), context.principal))

    remove = add_unresolved_hook(hook)
    yield calls
    remove()


@pytest.fixture
async def rows(session: AsyncSession) -> dict[str, str]:
    """One household, person and case inside the facilitator's village and one of each outside."""
    ids: dict[str, str] = {}
    for where, village in (("inside", INSIDE_VILLAGE), ("outside", OUTSIDE_VILLAGE)):
        household = await make_household(session, village)
        person = await make_person(session, household, name=f"Warga {where}")
        case = Case(household_id=household.id, status=CaseStatus.open, **region_codes(village))
        session.add(case)
        await session.flush()
        ids[f"household_{where}"] = to_global_id("Household", household.id)
        ids[f"person_{where}"] = to_global_id("Person", person.id)
        ids[f"case_{where}"] = to_global_id("Case", case.id)
    await make_programme(session, code="FEDPIP", name="Program Indonesia Pintar")
    await session.commit()  # a savepoint inside the test's transaction: visible to the app's sessions
    return ids


def reps(type_name: str, *keys: str, field: str = "id") -> list[dict[str, Any]]:
    return [{"__typename": type_name, field: key} for key in keys]


async def test_out_of_scope_and_unknown_references_resolve_to_null(
    connection: AsyncConnection, settings: Settings, rows: dict[str, str],
    unresolved: list[tuple[str, list[Any], Principal | None]],
) -> None:
    unknown = {t: to_global_id(t, UNKNOWN_UUID) for t in ("Household", "Person", "Case")}
    wrong_type = rows["person_inside"]  # a real, readable ID, but of a Person: not a Household
    representations = [
        *reps("Household", rows["household_inside"], rows["household_outside"], unknown["Household"], "not-an-id",
              wrong_type),
        *reps("Person", rows["person_inside"], rows["person_outside"], unknown["Person"]),
        *reps("Case", rows["case_inside"], rows["case_outside"], unknown["Case"]),
        *reps("Programme", "FEDPIP", "NO-SUCH", field="code"),
        *reps("Region", "33.14", "99.99", field="code"),
    ]
    principal = facilitator("33.14.01")

    result = await run(connection, settings, principal, representations)

    assert result.errors is None
    assert result.data == {"_entities": [
        {"__typename": "Household", "id": rows["household_inside"], "villageCode": INSIDE_VILLAGE,
         "members": [{"name": "Warga inside"}]},
        None, None, None, None,
        {"__typename": "Person", "id": rows["person_inside"], "name": "Warga inside",
         "household": {"villageCode": INSIDE_VILLAGE}},
        None, None,
        {"__typename": "Case", "id": rows["case_inside"], "status": "OPEN", "villageCode": INSIDE_VILLAGE},
        None, None,
        {"__typename": "Programme", "code": "FEDPIP", "name": "Program Indonesia Pintar"},
        None,
        {"__typename": "Region", "code": "33.14", "name": "Kabupaten Sragen"},
        None,
    ]}
    # One call per entity type, with exactly the keys that resolved to nothing, in request order.
    assert sorted(unresolved, key=lambda c: c[0]) == [
        ("Case", [rows["case_outside"], unknown["Case"]], principal),
        ("Household", [rows["household_outside"], unknown["Household"], "not-an-id", wrong_type], principal),
        ("Person", [rows["person_outside"], unknown["Person"]], principal),
        ("Programme", ["NO-SUCH"], principal),
        ("Region", ["99.99"], principal),
    ]


async def test_anonymous_caller_resolves_no_personal_entity(
    connection: AsyncConnection, settings: Settings, rows: dict[str, str],
    unresolved: list[tuple[str, list[Any], Principal | None]],
) -> None:
    representations = [*reps("Household", rows["household_inside"]), *reps("Person", rows["person_inside"]),
                       *reps("Case", rows["case_inside"]), *reps("Programme", "FEDPIP", field="code")]
    result = await run(connection, settings, None, representations)
    assert result.errors is None
    # The catalogue is public; the registry and cases are not.
    assert result.data == {"_entities": [None, None, None,
                                         {"__typename": "Programme", "code": "FEDPIP",
                                          "name": "Program Indonesia Pintar"}]}
    assert sorted(unresolved, key=lambda c: c[0]) == [
        ("Case", [rows["case_inside"]], None),
        ("Household", [rows["household_inside"]], None),
        ("Person", [rows["person_inside"]], None),
    ]


async def test_national_scope_reads_both(
    connection: AsyncConnection, settings: Settings, rows: dict[str, str],
    unresolved: list[tuple[str, list[Any], Principal | None]],
) -> None:
    principal = Principal(subject="nat", role=Role.national_officer, scope=RegionScope.national())
    representations = [*reps("Household", rows["household_inside"], rows["household_outside"]),
                       *reps("Person", rows["person_inside"], rows["person_outside"])]
    result = await run(connection, settings, principal, representations)
    assert result.errors is None
    assert [e["id"] for e in result.data["_entities"]] == [
        rows["household_inside"], rows["household_outside"], rows["person_inside"], rows["person_outside"]]
    assert unresolved == []


async def test_programme_owner_resolves_only_cases_of_their_programmes(
    connection: AsyncConnection, settings: Settings, rows: dict[str, str],
    unresolved: list[tuple[str, list[Any], Principal | None]],
) -> None:
    # Region scope alone would let this owner read the case; programme scope (CaseRepository) does not.
    owner = Principal(subject="owner", role=Role.programme_owner, scope=RegionScope.national(),
                      programmes=frozenset({"FEDPIP"}))
    result = await run(connection, settings, owner, reps("Case", rows["case_inside"]))
    assert result.errors is None
    assert result.data == {"_entities": [None]}
    assert unresolved == [("Case", [rows["case_inside"]], owner)]


async def test_a_failing_hook_fails_the_references_closed(
    connection: AsyncConnection, settings: Settings, rows: dict[str, str],
) -> None:
    async def broken(context: Context, type_name: str, keys: Sequence[Any]) -> None:
        raise RuntimeError("audit store unavailable")

    remove = add_unresolved_hook(broken)
    try:
        result = await run(connection, settings, facilitator("33.14.01"),
                           reps("Person", rows["person_inside"], rows["person_outside"]))
    finally:
        remove()
    assert result.data == {"_entities": [None, None]}
    assert result.errors is not None
    assert len(result.errors) == 2
