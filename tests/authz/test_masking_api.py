"""NIK, KK and disability fields over HTTP, as each role sees them (issue 5 "Roles and scope").

Manager: no ``see_full_nik`` in ``auth.permissions``, so NIK and KK come back masked; province officer:
neither full NIK nor disability; facilitator: everything. Look-ups still take the full NIK typed.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.config import Settings
from hub.db.base import region_codes
from hub.models import Proposal
from tests.fixtures.factories import make_household, make_person
from tests.fixtures.read_api import api_client, make_family

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
