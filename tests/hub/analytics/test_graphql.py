"""The dashboard over HTTP: authentication, exact figures, protection and the drill-down list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.requests import Request

from auth.principal import Principal, RegionScope, Role
from hub.analytics import summary
from hub.config import Settings
from hub.models import AccessLog
from schema.app import create_app
from schema.ids import to_global_id
from tests.hub.analytics.population import (
    AS_OF,
    NOW,
    PROGRAMME_CODES,
    REGENCY,
    VILLAGE_A,
    Population,
    build_population,
)

PRINCIPALS = {
    "manager": Principal("mgr", Role.manager, RegionScope.of(REGENCY)),
    "facilitator-a": Principal("fac-a", Role.facilitator, RegionScope.of(VILLAGE_A)),
    "national": Principal("nat", Role.national_officer, RegionScope.national()),
    # Holds read_personal_data but not read_aggregates.
    "client": Principal("cli", Role.api_client, RegionScope.of(REGENCY), client_id="c-1"),
    "auditor": Principal("aud", Role.auditor, RegionScope.national()),
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


async def new_entries(session: AsyncSession, before: set[Any]) -> list[AccessLog]:
    # In tests the log writer shares the API's connection, so its rows are visible here at once.
    rows = (await session.execute(select(AccessLog).order_by(AccessLog.logged_at).execution_options(
        populate_existing=True))).scalars().all()
    return [r for r in rows if r.id not in before]


async def logged(session: AsyncSession) -> set[Any]:
    return set((await session.execute(select(AccessLog.id))).scalars().all())


async def test_dashboard_read_is_logged_as_an_aggregate_read(client: httpx.AsyncClient, session: AsyncSession,
                                                             population: Population) -> None:
    before = await logged(session)
    body = await gql(client, DASHBOARD, "manager", codes=["PKH"])
    assert "errors" not in body
    [entry] = await new_entries(session, before)
    assert (entry.kind, entry.outcome, entry.actor, entry.role, entry.operation_name) == (
        "aggregate", "allowed", "mgr", "manager", "Dash")
    assert (entry.person_ids, entry.household_ids, entry.record_ids) == ([], [], [])
    assert {"Query.dashboard", "Dashboard.coverage", "Dashboard.profiles", "ProfileCell.hasDisability"} <= set(
        entry.fields)


async def test_withheld_flag_list_is_an_aggregate_read_and_a_returned_one_is_personal(
        client: httpx.AsyncClient, session: AsyncSession, population: Population) -> None:
    before = await logged(session)
    await gql(client, FLAGS, "facilitator-a", code="PIP", first=10, offset=0)
    [withheld] = await new_entries(session, before)
    assert (withheld.kind, withheld.household_ids) == ("aggregate", [])
    before.add(withheld.id)
    await gql(client, FLAGS, "manager", code="PIP", kind="NOT_IN_REGISTRY", first=10, offset=0)
    [listed] = await new_entries(session, before)
    assert (listed.kind, listed.household_ids) == ("personal", [population.households["L3"].id])


async def test_a_flag_list_read_without_ids_still_records_the_households(
        client: httpx.AsyncClient, session: AsyncSession, population: Population) -> None:
    # Addresses, names and masked NIKs leave without the caller selecting `id`: the entry must still
    # name the households returned, and be a personal read.
    before = await logged(session)
    body = await gql(client, """query($code: String!) { targetingFlags(programmeCode: $code,
                                kind: NOT_IN_REGISTRY, first: 10) { items { address headName } } }""",
                     "manager", code="PIP")
    assert body["data"]["targetingFlags"]["items"] == [
        {"address": population.households["L3"].address, "headName": "Joko Susilo"}]
    [listed] = await new_entries(session, before)
    assert (listed.kind, listed.household_ids, listed.record_ids) == (
        "personal", [population.households["L3"].id], [])


@pytest.mark.parametrize("who", ["client", "auditor"])
async def test_roles_without_read_aggregates_are_forbidden(client: httpx.AsyncClient, session: AsyncSession,
                                                          population: Population, who: str) -> None:
    before = await logged(session)
    for query, field, variables in ((DASHBOARD, "dashboard", {"codes": ["PKH"]}),
                                    (FLAGS, "targetingFlags", {"code": "PIP", "first": 10, "offset": 0})):
        body = await gql(client, query, who, **variables)
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("FORBIDDEN", [field])]
    entries = await new_entries(session, before)
    assert [(e.kind, e.outcome, e.error_codes) for e in entries] == [("aggregate", "denied", ["FORBIDDEN"])] * 2


async def test_profiles_without_see_disability_merge_the_disability_split(client: httpx.AsyncClient,
                                                                         population: Population) -> None:
    # A national officer reads exact counts (read_small_cells) but not disability (see_disability):
    # the manager's seven cells (test_figures) become six, M 18-59 adding (9, 2, 1) and (1, 1, 0).
    body = await gql(client, DASHBOARD, "national", region=REGENCY, codes=PROGRAMME_CODES)
    assert "errors" not in body
    cells = {(p["sex"], p["ageGroup"], p["hasDisability"]): (p["persons"], p["enrolled"], p["withNeed"])
             for p in body["data"]["dashboard"]["profiles"]}
    assert cells == {
        ("F", "18-59", None): (4, 4, 2),
        ("F", "6-17", None): (1, 1, 1),
        ("F", "60+", None): (1, 1, 0),
        ("M", "18-59", None): (10, 3, 1),
        ("M", "6-17", None): (2, 2, 0),
        ("M", "60+", None): (1, 1, 1),
    }
    manager = await gql(client, DASHBOARD, "manager", codes=PROGRAMME_CODES)
    assert {(p["sex"], p["ageGroup"], p["hasDisability"]): (p["persons"], p["enrolled"], p["withNeed"])
            for p in manager["data"]["dashboard"]["profiles"] if p["sex"] == "M" and p["ageGroup"] == "18-59"} == {
        ("M", "18-59", False): (9, 2, 1), ("M", "18-59", True): (1, 1, 0)}


async def test_dashboard_from_the_summary_says_when_it_was_refreshed(
        client: httpx.AsyncClient, session: AsyncSession, population: Population) -> None:
    query = DASHBOARD.replace("region { code name }", "region { code name } refreshedAt")
    live = await gql(client, query, "manager", codes=PROGRAMME_CODES)
    assert live["data"]["dashboard"].pop("refreshedAt") is None
    await summary.refresh_regency(session, REGENCY, as_of=AS_OF, now=NOW)
    body = await gql(client, query, "manager", codes=PROGRAMME_CODES)
    assert "errors" not in body
    assert body["data"]["dashboard"].pop("refreshedAt") == NOW.isoformat()
    assert body == live
