"""NIK, KK and disability fields over HTTP, as each role sees them (issue 5 "Roles and scope").

Manager: no ``see_full_nik`` in ``auth.permissions``, so NIK and KK come back masked; province officer:
neither full NIK nor disability; facilitator: everything. Look-ups still take the full NIK typed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.config import Settings
from hub.db.base import region_codes
from hub.models import Proposal, Sex
from schema.ids import to_global_id
from tests.fixtures.factories import make_household, make_person
from tests.fixtures.read_api import api_client, make_enrolment, make_family, make_programme

VILLAGE = "33.14.01.2001"
NIK = "3314014501900001"
KK = "3314010101200001"
NIK_MASKED = "3314**********01"
KK_MASKED = "3314**********01"

FACILITATOR = Principal("fac", Role.facilitator, RegionScope.of(VILLAGE))
MANAGER = Principal("man", Role.manager, RegionScope.of("33.14"))
PROVINCE = Principal("prov", Role.province_officer, RegionScope.of("33"))

PERSON = """query($nik: String!) { personByNik(nik: $nik) {
  nik hasDisability disabilities family { kkNumber } household { members { nik hasDisability disabilities } } } }"""
FAMILY = """query($kk: String!) { familyByKk(kk: $kk) { kkNumber members { nik } } }"""
PROPOSALS = "{ proposals { nodes { payload previous } } }"


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def recorded(session: AsyncSession) -> None:
    household = await make_household(session, VILLAGE)
    family = await make_family(session, household, kk_number=KK)
    person = await make_person(session, household, nik=NIK, family_id=family.id, has_disability=True,
                               disabilities=["physical"])
    session.add(Proposal(kind="correction", person_id=person.id, household_id=household.id, submitted_by="fac",
                         payload={"nik": NIK, "name": "Siti", "disabilities": ["visual"], "has_disability": True},
                         previous={"nik": "3314014501900002", "kk_number": KK, "disabilities": ["physical"]},
                         **region_codes(VILLAGE)))
    await session.flush()


async def read_as(settings: Settings, connection: AsyncConnection, caller: Principal,
                  query: str, **variables: Any) -> dict[str, Any]:
    async with api_client(settings, connection, caller) as client:
        return await gql(client, query, **variables)


@pytest.mark.usefixtures("recorded")
async def test_facilitator_sees_full_nik_kk_and_disability(settings: Settings, connection: AsyncConnection) -> None:
    body = await read_as(settings, connection, FACILITATOR, PERSON, nik=NIK)
    assert body == {"data": {"personByNik": {
        "nik": NIK, "hasDisability": True, "disabilities": ["physical"], "family": {"kkNumber": KK},
        "household": {"members": [{"nik": NIK, "hasDisability": True, "disabilities": ["physical"]}]}}}}


@pytest.mark.usefixtures("recorded")
async def test_manager_gets_masked_nik_and_kk_but_disability(settings: Settings, connection: AsyncConnection) -> None:
    # The look-up itself still uses the full NIK the caller typed.
    body = await read_as(settings, connection, MANAGER, PERSON, nik=NIK)
    assert body == {"data": {"personByNik": {
        "nik": NIK_MASKED, "hasDisability": True, "disabilities": ["physical"], "family": {"kkNumber": KK_MASKED},
        "household": {"members": [{"nik": NIK_MASKED, "hasDisability": True, "disabilities": ["physical"]}]}}}}
    body = await read_as(settings, connection, MANAGER, FAMILY, kk=KK)
    assert body == {"data": {"familyByKk": {"kkNumber": KK_MASKED, "members": [{"nik": NIK_MASKED}]}}}


@pytest.mark.usefixtures("recorded")
async def test_role_without_see_disability_gets_null(settings: Settings, connection: AsyncConnection) -> None:
    body = await read_as(settings, connection, PROVINCE, PERSON, nik=NIK)
    assert body == {"data": {"personByNik": {
        "nik": NIK_MASKED, "hasDisability": None, "disabilities": None, "family": {"kkNumber": KK_MASKED},
        "household": {"members": [{"nik": NIK_MASKED, "hasDisability": None, "disabilities": None}]}}}}


@pytest.mark.usefixtures("recorded")
async def test_disability_filter_needs_the_right(settings: Settings, connection: AsyncConnection) -> None:
    query = "{ households(filter: {hasDisability: true}) { totalCount } }"
    body = await read_as(settings, connection, PROVINCE, query)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    body = await read_as(settings, connection, MANAGER, query)
    assert body == {"data": {"households": {"totalCount": 1}}}


@pytest.mark.usefixtures("recorded")
async def test_proposal_payload_is_masked_like_the_person(settings: Settings, connection: AsyncConnection) -> None:
    supervisor = Principal("sup", Role.supervisor, RegionScope.of("33.14.01"))
    body = await read_as(settings, connection, supervisor, PROPOSALS)
    assert body == {"data": {"proposals": {"nodes": [{
        "payload": {"nik": NIK, "name": "Siti", "disabilities": ["visual"], "has_disability": True},
        "previous": {"nik": "3314014501900002", "kk_number": KK, "disabilities": ["physical"]}}]}}}
    body = await read_as(settings, connection, MANAGER, PROPOSALS)
    assert body == {"data": {"proposals": {"nodes": [{
        "payload": {"nik": NIK_MASKED, "name": "Siti", "disabilities": ["visual"], "has_disability": True},
        "previous": {"nik": "3314**********02", "kk_number": KK_MASKED, "disabilities": ["physical"]}}]}}}
    body = await read_as(settings, connection, PROVINCE, PROPOSALS)
    assert body == {"data": {"proposals": {"nodes": [{
        "payload": {"nik": NIK_MASKED, "name": "Siti", "disabilities": None, "has_disability": None},
        "previous": {"nik": "3314**********02", "kk_number": KK_MASKED, "disabilities": None}}]}}}


# Programme owners: only the fields a programme needs (docs/authz.md "What a programme owner reads").

OWNED_VILLAGE = "34.01.01.2001"
OWNED_NIK = "3401015507850003"
OWNED_KK = "3401010101200003"
OWNER_PKH = Principal("owner-pkh", Role.programme_owner, RegionScope.national(), programmes=frozenset({"PKH"}))
OWNER_ASPD = Principal("owner-aspd", Role.programme_owner, RegionScope.national(), programmes=frozenset({"ASPD"}))
OWNER_BOTH = Principal("owner-both", Role.programme_owner, RegionScope.national(),
                       programmes=frozenset({"PKH", "ASPD"}))
HOUSEHOLD = """query($id: ID!) { household(id: $id) { registryId address decile villageCode
  families { kkNumber } members { nik name sex birthDate birthYear birthPlace relationshipToHead hasDisability
  disabilities } enrolments { status programme { code } } } }"""


@pytest.fixture
async def enrolled(session: AsyncSession) -> str:
    """A household in PKH and in ASPD (disability assistance), each programme with one enrolment."""
    household = await make_household(session, OWNED_VILLAGE, decile=2, registry_id="DTKS-3", address="Jl. Melati 3")
    family = await make_family(session, household, kk_number=OWNED_KK)
    person = await make_person(session, household, nik=OWNED_NIK, family_id=family.id, name="Wati", sex=Sex.female,
                               birth_date=date(1985, 7, 15), birth_place="Wonosari", has_disability=True,
                               disabilities=["physical"])
    await make_enrolment(session, await make_programme(session, code="PKH"), household)
    await make_enrolment(session, await make_programme(session, code="ASPD"), household, person)
    session.add(Proposal(kind="correction", person_id=person.id, household_id=household.id, submitted_by="fac",
                         payload={"nik": OWNED_NIK, "name": "Wati", "address": "Jl. Mawar 9",
                                  "birth_date": "1985-07-15", "birth_place": "Wonosari", "has_disability": True},
                         **region_codes(OWNED_VILLAGE)))
    await session.flush()
    return str(to_global_id("Household", household.id))


def member(*, nik: str = "3401**********03", details: bool = False, disability: bool = False) -> dict[str, Any]:
    return {"nik": nik, "name": "Wati", "sex": "FEMALE", "birthDate": "1985-07-15" if details else None,
            "birthYear": 1985, "birthPlace": "Wonosari" if details else None, "relationshipToHead": "HEAD",
            "hasDisability": True if disability else None, "disabilities": ["physical"] if disability else None}


async def test_programme_owner_reads_only_the_fields_a_programme_needs(
        settings: Settings, connection: AsyncConnection, enrolled: str) -> None:
    body = await read_as(settings, connection, OWNER_PKH, HOUSEHOLD, id=enrolled)
    assert body == {"data": {"household": {
        "registryId": "DTKS-3", "address": None, "decile": 2, "villageCode": OWNED_VILLAGE,
        "families": [{"kkNumber": "3401**********03"}], "members": [member()],
        "enrolments": [{"status": "ACTIVE", "programme": {"code": "PKH"}}]}}}


async def test_owner_of_a_disability_programme_also_reads_disability(
        settings: Settings, connection: AsyncConnection, enrolled: str) -> None:
    body = await read_as(settings, connection, OWNER_ASPD, HOUSEHOLD, id=enrolled)
    assert body == {"data": {"household": {
        "registryId": "DTKS-3", "address": None, "decile": 2, "villageCode": OWNED_VILLAGE,
        "families": [{"kkNumber": "3401**********03"}], "members": [member(disability=True)],
        "enrolments": [{"status": "ACTIVE", "programme": {"code": "ASPD"}}]}}}
    # The right follows the token's programmes (documented): with ASPD among them, for every household.
    body = await read_as(settings, connection, OWNER_BOTH, HOUSEHOLD, id=enrolled)
    assert body["data"]["household"]["members"] == [member(disability=True)]


async def test_field_roles_still_read_personal_details(
        settings: Settings, connection: AsyncConnection, enrolled: str) -> None:
    facilitator = Principal("fac-34", Role.facilitator, RegionScope.of(OWNED_VILLAGE))
    body = await read_as(settings, connection, facilitator, HOUSEHOLD, id=enrolled)
    household = body["data"]["household"]
    assert household["address"] == "Jl. Melati 3"
    assert household["members"] == [member(nik=OWNED_NIK, details=True, disability=True)]
    assert household["families"] == [{"kkNumber": OWNED_KK}]
    assert sorted(e["programme"]["code"] for e in household["enrolments"]) == ["ASPD", "PKH"]


async def test_programme_owner_proposal_payload_has_no_personal_details(
        settings: Settings, connection: AsyncConnection, enrolled: str) -> None:
    body = await read_as(settings, connection, OWNER_PKH, PROPOSALS)
    assert body == {"data": {"proposals": {"nodes": [{
        "payload": {"nik": "3401**********03", "name": "Wati", "address": None, "birth_date": None,
                    "birth_place": None, "has_disability": None},
        "previous": None}]}}}
