"""The authorisation matrix's world: five villages in three regencies and two provinces, one caller per
(role, region), an HTTP client that picks the caller per request, and the independent SQL oracle.

The oracle is plain SQL text over the region columns, run with national scope on the test connection
(so RLS shows every row); it never goes through ``ScopedRepository`` or ``RegionScope``, and derives the
level of a scope code by counting its dots. Which roles read personal data comes from ``auth.permissions``
(the one permission table the issue asks for); everything else is recomputed here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.requests import Request

from auth.permissions import Permission, can
from auth.principal import Principal, RegionScope, Role
from hub.clients import service as client_service
from hub.config import Settings
from hub.db.base import region_codes
from hub.db.engine import set_scope
from hub.models import Case, Complaint, Connector, Need, Proposal
from schema.app import create_app
from schema.ids import to_global_id
from tests.fixtures.factories import make_household, make_person
from tests.fixtures.read_api import make_enrolment, make_family, make_programme

V1 = "33.14.01.2001"
V2 = "33.14.01.2002"
V3 = "33.14.02.2001"
V4 = "33.15.01.2001"
V5 = "34.01.01.2001"
VILLAGES = (V1, V2, V3, V4, V5)

PRINCIPALS: dict[str, Principal] = {
    "fac_v1": Principal("fac-v1", Role.facilitator, RegionScope.of(V1)),
    "fac_v4": Principal("fac-v4", Role.facilitator, RegionScope.of(V4)),
    "sup_3314_01": Principal("sup-1", Role.supervisor, RegionScope.of("33.14.01")),
    "sup_3315_01": Principal("sup-2", Role.supervisor, RegionScope.of("33.15.01")),
    "man_3314": Principal("man-1", Role.manager, RegionScope.of("33.14")),
    "man_3315": Principal("man-2", Role.manager, RegionScope.of("33.15")),
    "prov_33": Principal("prov-1", Role.province_officer, RegionScope.of("33")),
    "prov_34": Principal("prov-2", Role.province_officer, RegionScope.of("34")),
    "national": Principal("nat", Role.national_officer, RegionScope.national()),
    "owner_bpnt": Principal("owner", Role.programme_owner, RegionScope.national(),
                            programmes=frozenset({"BPNT"})),
    "owner_pkh": Principal("owner-2", Role.programme_owner, RegionScope.national(),
                           programmes=frozenset({"PKH"})),
    "it_3314": Principal("it", Role.district_it_admin, RegionScope.of("33.14")),
    "auditor": Principal("aud", Role.auditor, RegionScope.national()),
    "client_3314_02": Principal("client", Role.api_client, RegionScope.of("33.14.02"), client_id="c-1"),
    "client_34": Principal("client-2", Role.api_client, RegionScope.of("34"), client_id="c-2"),
    # An app registered for one programme (e.g. a PKH facilitators' app): that programme's households only.
    "client_pkh_3314": Principal("client-3", Role.api_client, RegionScope.of("33.14"), programmes=frozenset({"PKH"}),
                                 client_id="c-3"),
    "ministry_pkh": Principal("kemensos", Role.ministry_system, RegionScope.national(),
                              programmes=frozenset({"PKH"}), client_id="kemensos"),
    "ministry_bpnt_33": Principal("bpnt-jateng", Role.ministry_system, RegionScope.of("33"),
                                  programmes=frozenset({"BPNT"}), client_id="bpnt-jateng"),
}

# Roles that read only what concerns their own programmes (their tokens name them).
PROGRAMME_ROLES = {Role.programme_owner, Role.ministry_system}

SCOPED_TABLES = ("households", "persons", "families", "enrolments", "needs", "complaints", "proposals", "cases")


def gid(kind: str, id_: uuid.UUID) -> str:
    return str(to_global_id(kind, id_))


@dataclass
class World:
    households: dict[str, uuid.UUID] = field(default_factory=dict)  # village -> id
    persons: dict[str, uuid.UUID] = field(default_factory=dict)
    families: dict[str, uuid.UUID] = field(default_factory=dict)
    niks: dict[str, str] = field(default_factory=dict)
    kks: dict[str, str] = field(default_factory=dict)
    programmes: dict[str, uuid.UUID] = field(default_factory=dict)  # code -> id
    ids: dict[str, list[uuid.UUID]] = field(default_factory=dict)  # table -> every id in it


async def build_world(session: AsyncSession) -> World:
    world = World()
    pkh = await make_programme(session, code="PKH", decile_min=1, decile_max=4)
    bpnt = await make_programme(session, code="BPNT", decile_min=1, decile_max=4)
    world.programmes = {"PKH": pkh.id, "BPNT": bpnt.id}
    for i, village in enumerate(VILLAGES, start=1):
        household = await make_household(session, village, decile=1, registry_id=f"R{i}")
        nik, kk = f"331401450190{i:04d}", f"331401010120{i:04d}"
        family = await make_family(session, household, kk_number=kk)
        person = await make_person(session, household, nik=nik, family_id=family.id)
        world.households[village], world.persons[village], world.families[village] = (
            household.id, person.id, family.id)
        world.niks[village], world.kks[village] = nik, kk
        # V5 is in no PKH enrolment (a PKH exclusion) but its case is referred to PKH; V1, V4, V5 are in
        # BPNT; only V4's case goes to BPNT.
        if village != V5:
            await make_enrolment(session, pkh, household, person)
        if village in (V1, V4, V5):
            await make_enrolment(session, bpnt, household)
        codes = region_codes(village)
        need = Need(household_id=household.id, category="health", recorded_by="fac", **codes)
        complaint = Complaint(household_id=household.id, category="service", recorded_by="fac", **codes)
        proposal = Proposal(kind="correction", household_id=household.id, person_id=person.id,
                            payload={"name": "x"}, submitted_by="fac", **codes)
        session.add_all([need, complaint, proposal])
        await session.flush()
        session.add(Case(household_id=household.id, need_id=need.id,
                         programme_id=(bpnt if village == V4 else pkh).id, **codes))
    session.add_all([Connector(name="siks-sragen", kind="siks-ng", base_url="http://siks.test", region_code="33.14"),
                     Connector(name="siks-grobogan", kind="siks-ng", base_url="http://siks.test",
                               region_code="33.15")])
    await session.flush()
    await client_service.create(session, client_id="c-registered", name="Dinsos app", role=Role.api_client,
                                regions=["33.14"], programmes=[], purpose="referrals")
    for table in SCOPED_TABLES:
        world.ids[table] = list((await session.execute(text(f"SELECT id FROM {table}"))).scalars())
    world.ids["connectors"] = list((await session.execute(text("SELECT id FROM connectors"))).scalars())
    return world


# ---------------------------------------------------------------------------------------------------------
# The oracle

def _region_sql(principal: Principal) -> tuple[str, dict[str, Any]]:
    codes = sorted(principal.scope.codes)
    if "*" in codes:
        return "TRUE", {}
    by_level: dict[str, list[str]] = {"province_code": [], "regency_code": [], "district_code": [],
                                      "village_code": []}
    columns = list(by_level)
    for code in codes:
        by_level[columns[code.count(".")]].append(code)
    parts = [f"{column} = ANY(:{column})" for column, values in by_level.items() if values]
    return "(" + " OR ".join(parts) + ")", {c: v for c, v in by_level.items() if v}


async def oracle_rows(session: AsyncSession, table: str, principal: Principal, columns: str = "id",
                      *, aggregate: bool = False) -> list[tuple[Any, ...]]:
    """Rows of ``table`` that ``principal`` may read, by plain SQL over the region columns.

    ``aggregate``: the rows counted in aggregates, which are by region only (a programme owner's
    dashboard counts the registry, under small-cell protection)."""
    if not can(principal, Permission.read_personal_data) and not (
            table == "enrolments" and can(principal, Permission.read_programme_enrolments) and not aggregate):
        return []
    await set_scope(session, Principal.system("oracle"))
    where, params = _region_sql(principal)
    sql = f"SELECT {columns} FROM {table} WHERE {where}"
    if (principal.role in PROGRAMME_ROLES or (principal.role is Role.api_client and principal.programmes)) \
            and not aggregate:
        # Their programmes: enrolments in them and cases referred to them; otherwise rows of households
        # enrolled in or referred to one of them.
        params["progs"] = sorted(principal.programmes)
        mine = "(SELECT id FROM programmes WHERE code = ANY(:progs))"
        if table in ("cases", "enrolments"):
            sql += f" AND programme_id IN {mine}"
        else:
            household = "id" if table == "households" else "household_id"
            sql += (f" AND ({household} IN (SELECT household_id FROM enrolments WHERE programme_id IN {mine})"
                    f" OR {household} IN (SELECT household_id FROM cases WHERE programme_id IN {mine}))")
    return [tuple(r) for r in (await session.execute(text(sql), params)).all()]


async def oracle(session: AsyncSession, table: str, principal: Principal, *,
                 aggregate: bool = False) -> set[uuid.UUID]:
    return {r[0] for r in await oracle_rows(session, table, principal, aggregate=aggregate)}


async def oracle_connectors(session: AsyncSession, principal: Principal) -> set[uuid.UUID] | None:
    """None: the caller may not list connectors at all."""
    if not can(principal, Permission.manage_connectors):
        return None
    codes = [c for c in principal.scope.codes if c != "*"]
    rows = await session.execute(text(
        "SELECT id FROM connectors WHERE region_code = ANY(:codes) "
        "OR EXISTS (SELECT 1 FROM unnest(CAST(:codes AS text[])) c WHERE region_code LIKE c || '.%')"),
        {"codes": codes})
    return set(rows.scalars())


# ---------------------------------------------------------------------------------------------------------
# HTTP

class Caller:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables},
                                          headers={"x-test-caller": who})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@asynccontextmanager
async def caller(settings: Settings, connection: AsyncConnection) -> AsyncIterator[Caller]:
    async def authenticate(request: Request) -> Principal | None:
        return PRINCIPALS[request.headers["x-test-caller"]]

    app = create_app(settings, bind=connection, authenticate=authenticate)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield Caller(client)


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
