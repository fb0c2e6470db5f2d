"""The read API over HTTP, with the caller's region scope: out of scope must look exactly like absent."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.principal import Principal, Role
from hub.config import Settings
from hub.household.repository import HouseholdRepository
from hub.models import EnrolmentStatus, Household, Person, Programme
from schema.ids import to_global_id
from tests.fixtures.factories import make_household, make_person
from tests.fixtures.read_api import api_client, make_enrolment, make_family, make_programme, principal

VILLAGE_A = "33.14.01.2001"
VILLAGE_B = "33.14.01.2002"
NIK_A = "3314014501900001"
NIK_B = "3314010101900002"
UNKNOWN_NIK = "3314010101909999"
KK_A = "3314010101200001"
KK_B = "3314010101200002"


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def gid(kind: str, row: Any) -> str:
    return str(to_global_id(kind, row.id))


@dataclass
class World:
    a1: Household
    a2: Household
    b1: Household
    siti: Person
    budi: Person
    anak: Person
    pkh: Programme
    pip: Programme


@pytest.fixture
async def world(session: AsyncSession) -> World:
    a1 = await make_household(session, VILLAGE_A, decile=1, registry_id="A1",
                              updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    a2 = await make_household(session, VILLAGE_A, decile=5, registry_id="A2",
                              updated_at=datetime(2026, 3, 1, tzinfo=UTC))
    b1 = await make_household(session, VILLAGE_B, decile=1, registry_id="B1",
                              updated_at=datetime(2026, 2, 1, tzinfo=UTC))
    family_a = await make_family(session, a1, kk_number=KK_A)
    await make_family(session, b1, kk_number=KK_B)
    siti = await make_person(session, a1, nik=NIK_A, name="Siti", family_id=family_a.id)
    anak = await make_person(session, a1, name="Anak", relationship_to_head="child", has_disability=True,
                             family_id=family_a.id)
    budi = await make_person(session, b1, nik=NIK_B, name="Budi")
    pkh = await make_programme(session, code="PKH", name="Program Keluarga Harapan")
    pip = await make_programme(session, code="PIP", name="Program Indonesia Pintar")
    await make_enrolment(session, pkh, a1)
    await make_enrolment(session, pip, a1, anak, status=EnrolmentStatus.suspended)
    await make_enrolment(session, pkh, b1)
    return World(a1=a1, a2=a2, b1=b1, siti=siti, budi=budi, anak=anak, pkh=pkh, pip=pip)


FACILITATOR_A = principal(VILLAGE_A)


async def as_caller(settings: Settings, connection: AsyncConnection, caller: Principal | None, query: str,
                    **variables: Any) -> dict[str, Any]:
    async with api_client(settings, connection, caller) as client:
        return await gql(client, query, **variables)


HOUSEHOLD_IDS = "{ households(first: 10, orderBy: REGISTRY_ID) { totalCount nodes { registryId } } }"


async def test_facilitator_lists_and_counts_only_their_village(settings: Settings, connection: AsyncConnection,
                                                                world: World) -> None:
    body = await as_caller(settings, connection, FACILITATOR_A, HOUSEHOLD_IDS)
    assert body == {"data": {"households": {"totalCount": 2, "nodes": [{"registryId": "A1"}, {"registryId": "A2"}]}}}


async def test_district_supervisor_sees_both_villages(settings: Settings, connection: AsyncConnection,
                                                      world: World) -> None:
    body = await as_caller(settings, connection, principal("33.14.01", role=Role.supervisor), HOUSEHOLD_IDS)
    assert body["data"]["households"] == {
        "totalCount": 3, "nodes": [{"registryId": "A1"}, {"registryId": "A2"}, {"registryId": "B1"}]}


NODE = "query($id: ID!) { node(id: $id) { id ... on Household { registryId } } household(id: $id) { id } }"


async def test_out_of_scope_node_reads_exactly_like_a_missing_one(settings: Settings, connection: AsyncConnection,
                                                                  world: World) -> None:
    missing = str(to_global_id("Household", uuid.uuid4()))
    out_of_scope = await as_caller(settings, connection, FACILITATOR_A, NODE, id=gid("Household", world.b1))
    absent = await as_caller(settings, connection, FACILITATOR_A, NODE, id=missing)
    assert out_of_scope == absent == {"data": {"node": None, "household": None}}
    mine = await as_caller(settings, connection, FACILITATOR_A, NODE, id=gid("Household", world.a1))
    assert mine == {"data": {"node": {"id": gid("Household", world.a1), "registryId": "A1"},
                             "household": {"id": gid("Household", world.a1)}}}


BY_NIK = "query($nik: String!) { personByNik(nik: $nik) { name household { registryId } } }"


async def test_person_by_nik_in_and_out_of_scope(settings: Settings, connection: AsyncConnection,
                                                 world: World) -> None:
    assert await as_caller(settings, connection, FACILITATOR_A, BY_NIK, nik=NIK_A) == {
        "data": {"personByNik": {"name": "Siti", "household": {"registryId": "A1"}}}}
    out_of_scope = await as_caller(settings, connection, FACILITATOR_A, BY_NIK, nik=NIK_B)
    unknown = await as_caller(settings, connection, FACILITATOR_A, BY_NIK, nik=UNKNOWN_NIK)
    assert out_of_scope == unknown == {"data": {"personByNik": None}}


async def test_malformed_nik_is_invalid_nik(settings: Settings, connection: AsyncConnection, world: World) -> None:
    body = await as_caller(settings, connection, FACILITATOR_A, BY_NIK, nik="33140101019000x1")
    assert body["data"] == {"personByNik": None}
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("INVALID_NIK", ["personByNik"])]


BY_KK = "query($kk: String!) { familyByKk(kk: $kk) { kkNumber household { registryId } members { name } } }"


async def test_family_by_kk_in_and_out_of_scope(settings: Settings, connection: AsyncConnection,
                                                world: World) -> None:
    assert await as_caller(settings, connection, FACILITATOR_A, BY_KK, kk=KK_A) == {"data": {"familyByKk": {
        "kkNumber": KK_A, "household": {"registryId": "A1"}, "members": [{"name": "Siti"}, {"name": "Anak"}]}}}
    assert await as_caller(settings, connection, FACILITATOR_A, BY_KK, kk=KK_B) == {"data": {"familyByKk": None}}
    body = await as_caller(settings, connection, FACILITATOR_A, BY_KK, kk="12")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_KK"]


PROGRAMME_ENROLMENTS = """query($code: String!) { programmeByCode(code: $code) { code
    enrolments(first: 10) { totalCount nodes { status household { registryId } } } } }"""


async def test_programme_enrolments_are_scoped(settings: Settings, connection: AsyncConnection,
                                               world: World) -> None:
    body = await as_caller(settings, connection, FACILITATOR_A, PROGRAMME_ENROLMENTS, code="PKH")
    assert body == {"data": {"programmeByCode": {"code": "PKH", "enrolments": {
        "totalCount": 1, "nodes": [{"status": "ACTIVE", "household": {"registryId": "A1"}}]}}}}
    national = await as_caller(settings, connection, principal(role=Role.national_officer),
                               PROGRAMME_ENROLMENTS, code="PKH")
    assert national["data"]["programmeByCode"]["enrolments"]["totalCount"] == 2


async def test_navigation_both_ways(settings: Settings, connection: AsyncConnection, world: World) -> None:
    query = """query($id: ID!) { household(id: $id) { members { name family { kkNumber }
        enrolments { status programme { code enrolments(first: 5) { nodes { person { name } } } } } }
        enrolments { programme { code } } } }"""
    body = await as_caller(settings, connection, FACILITATOR_A, query, id=gid("Household", world.a1))
    household = body["data"]["household"]
    assert household["members"] == [
        {"name": "Siti", "family": {"kkNumber": KK_A}, "enrolments": []},
        {"name": "Anak", "family": {"kkNumber": KK_A}, "enrolments": [
            {"status": "SUSPENDED", "programme": {"code": "PIP", "enrolments": {"nodes": [
                {"person": {"name": "Anak"}}]}}}]},
    ]
    assert sorted(e["programme"]["code"] for e in household["enrolments"]) == ["PIP", "PKH"]
    assert set(body) == {"data"}


@pytest.mark.parametrize(("filter_", "expected"), [
    ({"regionCode": VILLAGE_B}, []),
    ({"regionCode": "33.14.01"}, ["A1", "A2"]),
    ({"decileMin": 2, "decileMax": 10}, ["A2"]),
    ({"hasDisability": True}, ["A1"]),
    ({"hasDisability": False}, ["A2"]),
    ({"enrolmentStatus": "SUSPENDED"}, ["A1"]),
    ({"enrolmentStatus": "ENDED"}, []),
    ({"updatedSince": "2026-02-01T00:00:00+00:00"}, ["A2"]),
])
async def test_household_filters(settings: Settings, connection: AsyncConnection, world: World,
                                 filter_: dict[str, Any], expected: list[str]) -> None:
    query = """query($f: HouseholdFilterInput) { households(filter: $f, orderBy: REGISTRY_ID) {
        totalCount nodes { registryId } } }"""
    body = await as_caller(settings, connection, FACILITATOR_A, query, f=filter_)
    assert body == {"data": {"households": {"totalCount": len(expected),
                                            "nodes": [{"registryId": r} for r in expected]}}}


async def test_filter_by_programme_id(settings: Settings, connection: AsyncConnection, world: World) -> None:
    query = """query($f: HouseholdFilterInput) { households(filter: $f) { nodes { registryId } } }"""
    body = await as_caller(settings, connection, principal("33"), query, f={"programmeId": gid("Programme", world.pkh)})
    assert sorted(n["registryId"] for n in body["data"]["households"]["nodes"]) == ["A1", "B1"]


@pytest.mark.parametrize(("filter_", "field"), [
    ({"decileMin": 0}, "decileMin"), ({"decileMin": 5, "decileMax": 2}, "decileMin"),
    ({"regionCode": "33.14.1"}, "regionCode"),
])
async def test_bad_filters_are_invalid_input(settings: Settings, connection: AsyncConnection, world: World,
                                             filter_: dict[str, Any], field: str) -> None:
    query = "query($f: HouseholdFilterInput) { households(filter: $f) { totalCount } }"
    body = await as_caller(settings, connection, FACILITATOR_A, query, f=filter_)
    assert body["data"] is None
    assert [e["extensions"] for e in body["errors"]] == [{"code": "INVALID_INPUT", "field": field}]


async def test_pages_follow_cursors(settings: Settings, connection: AsyncConnection, world: World) -> None:
    query = """query($after: String) { households(first: 1, after: $after, orderBy: REGISTRY_ID) {
        nodes { registryId } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    first = (await as_caller(settings, connection, FACILITATOR_A, query))["data"]["households"]
    assert first["nodes"] == [{"registryId": "A1"}]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    second = (await as_caller(settings, connection, FACILITATOR_A, query,
                              after=first["pageInfo"]["endCursor"]))["data"]["households"]
    assert second["nodes"] == [{"registryId": "A2"}]
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True


async def test_page_above_100_is_refused(settings: Settings, connection: AsyncConnection, world: World) -> None:
    body = await as_caller(settings, connection, FACILITATOR_A, "{ households(first: 101) { totalCount } }")
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("PAGE_TOO_LARGE", ["households"])]


async def test_bad_cursor_and_bad_ids(settings: Settings, connection: AsyncConnection, world: World) -> None:
    body = await as_caller(settings, connection, FACILITATOR_A, '{ households(after: "nope") { totalCount } }')
    assert [e["extensions"] for e in body["errors"]] == [{"code": "INVALID_INPUT", "field": "after"}]
    wrong_type = await as_caller(settings, connection, FACILITATOR_A, "query($id: ID!) { household(id: $id) { id } }",
                                 id=gid("Person", world.siti))
    assert [e["extensions"]["code"] for e in wrong_type["errors"]] == ["INVALID_ID"]
    garbage = await as_caller(settings, connection, FACILITATOR_A, '{ node(id: "!!") { id } }')
    assert [e["extensions"]["code"] for e in garbage["errors"]] == ["INVALID_ID"]


async def test_node_resolves_every_type(settings: Settings, connection: AsyncConnection, world: World) -> None:
    query = "query($id: ID!) { node(id: $id) { __typename id } }"
    for kind, row in (("Person", world.siti), ("Programme", world.pkh), ("Household", world.a2)):
        body = await as_caller(settings, connection, FACILITATOR_A, query, id=gid(kind, row))
        assert body == {"data": {"node": {"__typename": kind, "id": gid(kind, row)}}}


async def test_anonymous_callers_get_the_catalogue_but_no_personal_data(
        settings: Settings, connection: AsyncConnection, world: World) -> None:
    body = await as_caller(settings, connection, None, "{ programmes { totalCount nodes { code } } }")
    assert body == {"data": {"programmes": {"totalCount": 2, "nodes": [{"code": "PIP"}, {"code": "PKH"}]}}}
    for query, data in (("{ households { totalCount } }", None),
                        ('{ personByNik(nik: "' + NIK_A + '") { name } }', {"personByNik": None})):
        refused = await as_caller(settings, connection, None, query)
        assert refused["data"] == data
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["UNAUTHENTICATED"]
    nested = await as_caller(settings, connection, None,
                             '{ programmeByCode(code: "PKH") { enrolments { totalCount } } }')
    assert nested["data"] == {"programmeByCode": None}
    assert [(e["extensions"]["code"], e["path"]) for e in nested["errors"]] == [
        ("UNAUTHENTICATED", ["programmeByCode", "enrolments"])]


async def test_unexpected_errors_are_masked_and_logged(settings: Settings, connection: AsyncConnection, world: World,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*args: Any) -> None:
        raise RuntimeError("secret detail: connection string")

    monkeypatch.setattr(HouseholdRepository, "page", broken)
    with caplog.at_level(logging.ERROR, logger="slrt.api"):
        body = await as_caller(settings, connection, FACILITATOR_A, "{ households { totalCount } }")
    [error] = body["errors"]
    assert error["message"] == "Internal error. Quote the error id when reporting it."
    assert error["extensions"]["code"] == "INTERNAL"
    assert "secret" not in str(body)
    assert any(error["extensions"]["errorId"] in r.getMessage() for r in caplog.records)
