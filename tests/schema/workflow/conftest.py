"""Callers, data and an HTTP client for the workflow tests.

``api(principal, query, variables)`` posts to /graphql as that principal (the authenticate hook
returns it) and returns the JSON body. After a request the shared test connection carries that
caller's scope (the request's transaction is a savepoint of the test's), so ``reset_scope`` puts
the national scope back before the test inspects rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.requests import Request

from auth.principal import Principal, RegionScope, Role
from hub.config import Settings
from hub.db.engine import set_scope
from hub.models import Household, Partner, Person, Programme, ProgrammeLevel, TargetUnit
from schema.app import create_app
from tests.fixtures.factories import make_household, make_person

M = TypeVar("M")

VILLAGE = "33.14.01.2001"
OTHER_VILLAGE = "33.14.01.2002"  # same district
OTHER_DISTRICT_VILLAGE = "33.14.02.2001"  # same regency

FACILITATOR = Principal("fac-keden", Role.facilitator, RegionScope.of(VILLAGE))
FACILITATOR_2 = Principal("fac-keden-2", Role.facilitator, RegionScope.of(VILLAGE))
FACILITATOR_ELSEWHERE = Principal("fac-trobayan", Role.facilitator, RegionScope.of(OTHER_VILLAGE))
SUPERVISOR = Principal("sup-kalijambe", Role.supervisor, RegionScope.of("33.14.01"))
SUPERVISOR_ELSEWHERE = Principal("sup-plupuh", Role.supervisor, RegionScope.of("33.14.02"))
MANAGER = Principal("man-sragen", Role.manager, RegionScope.of("33.14"))
MANAGER_ELSEWHERE = Principal("man-grobogan", Role.manager, RegionScope.of("33.15"))
OWNER_PKH = Principal("owner-pkh", Role.programme_owner, RegionScope.national(), programmes=frozenset({"PKH"}))
OWNER_BPNT = Principal("owner-bpnt", Role.programme_owner, RegionScope.national(), programmes=frozenset({"BPNT"}))
OWNER_BAZNAS = Principal("owner-baznas", Role.programme_owner, RegionScope.national(),
                         programmes=frozenset({"BAZNAS-SRAGEN"}))
MINISTRY = Principal("kemensos", Role.ministry_system, RegionScope.national(), programmes=frozenset({"PKH"}),
                     client_id="kemensos-pkh")

Api = Callable[..., Awaitable[dict[str, Any]]]
USER_ERROR = "... on UserError { code field message }"


def q(document: str) -> str:
    """A GraphQL document with ``ERROR`` standing for the UserError selection."""
    return document.replace("ERROR", USER_ERROR)


@dataclass
class World:
    household: Household
    head: Person
    other_household: Household  # another village of the same district
    far_household: Household  # another district
    pkh: Programme
    bpnt: Programme
    partner: Partner


async def reset_scope(session: AsyncSession) -> None:
    await set_scope(session, Principal.system("tests"))


async def reload(session: AsyncSession, model: type[M], id_: Any) -> M:
    await reset_scope(session)
    row = await session.get(model, id_, populate_existing=True)
    assert row is not None
    return row


async def count(session: AsyncSession, model: type[Any], *where: Any) -> int:
    await reset_scope(session)
    return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


@pytest.fixture
async def world(session: AsyncSession) -> World:
    household = await make_household(session, VILLAGE)
    head = await make_person(session, household)
    other = await make_household(session, OTHER_VILLAGE)
    far = await make_household(session, OTHER_DISTRICT_VILLAGE)
    partner = Partner(code="BAZNAS-SRAGEN", name="Baznas Kabupaten Sragen", kind="baznas", region_code="33.14")
    pkh = Programme(code="PKH", name="Program Keluarga Harapan", owner_agency="Kemensos",
                    level=ProgrammeLevel.central, target_unit=TargetUnit.household)
    bpnt = Programme(code="BPNT", name="Bantuan Pangan Non Tunai", owner_agency="Kemensos",
                     level=ProgrammeLevel.central, target_unit=TargetUnit.family)
    session.add_all([partner, pkh, bpnt])
    await session.flush()
    return World(household, head, other, far, pkh, bpnt, partner)


@pytest.fixture
async def api(settings: Settings, connection: AsyncConnection) -> AsyncIterator[Api]:
    caller: dict[str, Principal | None] = {"principal": None}

    async def authenticate(request: Request) -> Principal | None:
        return caller["principal"]

    app = create_app(settings, bind=connection, authenticate=authenticate)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        async def call(principal: Principal | None, query: str, **variables: Any) -> dict[str, Any]:
            caller["principal"] = principal
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        yield call


