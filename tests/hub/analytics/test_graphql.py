"""The dashboard over HTTP: authentication, exact figures, protection and the drill-down list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.requests import Request

from auth.principal import Principal, RegionScope, Role
from hub.config import Settings
from schema.app import create_app
from schema.ids import to_global_id
from tests.hub.analytics.population import REGENCY, VILLAGE_A, Population, build_population

PRINCIPALS = {
    "manager": Principal("mgr", Role.manager, RegionScope.of(REGENCY)),
    "facilitator-a": Principal("fac-a", Role.facilitator, RegionScope.of(VILLAGE_A)),
}

DASHBOARD = """
query Dash($region: String, $codes: [String!]) {
  dashboard(regionCode: $region, programmeCodes: $codes, asOf: "2026-01-01") {
    region { code name }
    protection { applied threshold }
    programmes { code decileMin decileMax }
    coverage { programmeCode decile inBand registryHouseholds eligibleHouseholds enrolledHouseholds coverageRate }
    overlap { programmes setSizes { programmeCode households } cells { programmes households } }
    targeting { programmeCode exclusion inclusionOutsideBand inclusionNotInRegistry matchedByNik matchedByName }
    ...Profiles
  }
}
fragment Profiles on Dashboard { profiles { sex ageGroup hasDisability persons enrolled withNeed } }
"""


async def authenticate(request: Request) -> Principal | None:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    return PRINCIPALS.get(token)


@pytest.fixture
async def client(settings: Settings, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, bind=connection, authenticate=authenticate)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield client


@pytest.fixture
async def population(session: AsyncSession) -> Population:
    return await build_population(session)


async def gql(client: httpx.AsyncClient, query: str, token: str | None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_requires_a_principal(client: httpx.AsyncClient, population: Population) -> None:
    body = await gql(client, DASHBOARD, None, codes=["PKH"])
    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("authentication required", "UNAUTHENTICATED", ["dashboard"])]


async def test_manager_sees_exact_figures(client: httpx.AsyncClient, population: Population) -> None:
    body = await gql(client, DASHBOARD, "manager", codes=["PKH", "PIP"])
    assert "errors" not in body
    d = body["data"]["dashboard"]
    assert d["region"] is None
    assert d["protection"] == {"applied": False, "threshold": 5}
    assert d["programmes"] == [{"code": "PIP", "decileMin": 1, "decileMax": 4},
                               {"code": "PKH", "decileMin": 1, "decileMax": 2}]
    pkh1 = next(c for c in d["coverage"] if c["programmeCode"] == "PKH" and c["decile"] == 1)
    assert pkh1 == {"programmeCode": "PKH", "decile": 1, "inBand": True, "registryHouseholds": 10,
                    "eligibleHouseholds": 10, "enrolledHouseholds": 3, "coverageRate": 0.3}
    cells = {tuple(c["programmes"]): c["households"] for c in d["overlap"]["cells"]}
    # Over PIP and PKH only: A1 both; A2, A4, L3 PIP only; A3, A6, B1, C1 PKH only; none 15 - 7 = 8.
    assert cells == {(): 8, ("PIP",): 3, ("PKH",): 4, ("PIP", "PKH"): 1}
    assert d["overlap"]["setSizes"] == [{"programmeCode": "PIP", "households": 4},
                                        {"programmeCode": "PKH", "households": 5}]
    assert d["targeting"] == [
        {"programmeCode": "PIP", "exclusion": 10, "inclusionOutsideBand": 0, "inclusionNotInRegistry": 1,
         "matchedByNik": 1, "matchedByName": 1},
        {"programmeCode": "PKH", "exclusion": 8, "inclusionOutsideBand": 1, "inclusionNotInRegistry": 0,
         "matchedByNik": 0, "matchedByName": 0},
    ]
    assert sum(p["persons"] for p in d["profiles"]) == 19


async def test_facilitator_gets_protected_figures_of_own_village(client: httpx.AsyncClient,
                                                                 population: Population) -> None:
    body = await gql(client, DASHBOARD, "facilitator-a", region=REGENCY, codes=["PKH"])
    d = body["data"]["dashboard"]
    assert d["protection"] == {"applied": True, "threshold": 5}
    assert {c["decile"]: c["registryHouseholds"] for c in d["coverage"]} == {
        0: 0, 1: 10, 2: None, 3: None, 4: 0, 5: None, 6: 0, 7: None, 8: 0, 9: 0, 10: 0}
    assert {tuple(c["programmes"]): c["households"] for c in d["overlap"]["cells"]} == {(): 10, ("PKH",): None}


FLAGS = """
query Flags($code: String!, $kind: FlagKind, $first: Int!, $offset: Int!) {
  targetingFlags(programmeCode: $code, kind: $kind, first: $first, offset: $offset) {
    total withheld items { id kind decile matchMethod headName }
  }
}
"""


async def test_targeting_flags_drill_down(client: httpx.AsyncClient, population: Population) -> None:
    body = await gql(client, FLAGS, "manager", code="PIP", kind="NOT_IN_REGISTRY", first=10, offset=0)
    assert body["data"]["targetingFlags"] == {"total": 1, "withheld": False, "items": [
        {"id": to_global_id("Household", population.households["L3"].id), "kind": "NOT_IN_REGISTRY",
         "decile": None, "matchMethod": None, "headName": "Joko Susilo"}]}
    withheld = await gql(client, FLAGS, "facilitator-a", code="PIP", first=10, offset=0)
    assert withheld["data"]["targetingFlags"] == {"total": 0, "withheld": True, "items": []}
    too_many = await gql(client, FLAGS, "manager", code="PIP", first=1000, offset=0)
    assert too_many["errors"][0]["extensions"]["code"] == "PAGE_TOO_LARGE"


async def test_bad_input_is_reported(client: httpx.AsyncClient, population: Population) -> None:
    body = await gql(client, DASHBOARD, "manager", codes=["PKH", "NOPE"])
    assert [(e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
        ("INVALID_INPUT", "unknown programme code(s): NOPE")]
