"""Region scope at both layers: the scoped repository and PostgreSQL row-level security underneath."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.db.base import region_codes
from hub.db.engine import set_scope
from hub.db.repository import ScopedRepository
from hub.errors import NotFound
from hub.models import Household
from tests.fixtures.factories import make_household

VILLAGE_A = "33.14.01.2001"
VILLAGE_B = "33.14.02.2001"  # same regency, another district
VILLAGE_C = "33.72.01.1001"  # another regency


class HouseholdRepository(ScopedRepository[Household]):
    model = Household


def principal(role: Role, *codes: str) -> Principal:
    return Principal(subject=f"{role}-1", role=role, scope=RegionScope.of(*codes))


@pytest.fixture
async def three_households(session: AsyncSession) -> dict[str, Household]:
    return {v: await make_household(session, v) for v in (VILLAGE_A, VILLAGE_B, VILLAGE_C)}


@pytest.mark.parametrize(
    ("codes", "visible"),
    [
        ((VILLAGE_A,), {VILLAGE_A}),
        (("33.14.02",), {VILLAGE_B}),
        (("33.14",), {VILLAGE_A, VILLAGE_B}),
        (("33",), {VILLAGE_A, VILLAGE_B, VILLAGE_C}),
        ((VILLAGE_A, "33.72"), {VILLAGE_A, VILLAGE_C}),
        (("*",), {VILLAGE_A, VILLAGE_B, VILLAGE_C}),
        (("35",), set()),
    ],
)
async def test_repository_and_rls_agree_on_every_level(
    session: AsyncSession, three_households: dict[str, Household], codes: tuple[str, ...], visible: set[str]
) -> None:
    who = principal(Role.manager, *codes)
    repo = HouseholdRepository(session, who)
    # Layer 1, with RLS wide open: the repository alone narrows.
    rows = await repo.get_all(repo.readable())
    assert {h.village_code for h in rows} == visible

    # Layer 2, without the repository's filter: RLS alone narrows.
    await set_scope(session, who)
    rows = (await session.execute(select(Household))).scalars().all()
    assert {h.village_code for h in rows} == visible


async def test_out_of_scope_reads_like_not_found(
    session: AsyncSession, three_households: dict[str, Household]
) -> None:
    repo = HouseholdRepository(session, principal(Role.facilitator, VILLAGE_A))
    assert (await repo.get(three_households[VILLAGE_A].id)).village_code == VILLAGE_A
    with pytest.raises(NotFound) as missing_elsewhere:
        await repo.get(three_households[VILLAGE_C].id)

    with pytest.raises(NotFound) as missing_everywhere:
        await repo.get(uuid.uuid4())
    assert str(missing_elsewhere.value) == str(missing_everywhere.value)
    assert missing_elsewhere.value.code == missing_everywhere.value.code == "NOT_FOUND"


async def test_unset_scope_shows_nothing(session: AsyncSession, three_households: dict[str, Household]) -> None:
    await session.execute(text("SELECT set_config('slrt.scope', '', true)"))
    assert await session.scalar(select(func.count()).select_from(Household)) == 0


async def test_rls_refuses_writes_outside_scope(session: AsyncSession) -> None:
    await set_scope(session, principal(Role.facilitator, VILLAGE_A))
    session.add(Household(address="x", decile=1, **region_codes(VILLAGE_C)))
    with pytest.raises(DBAPIError, match="row-level security"):
        await session.flush()


async def test_app_role_is_neither_owner_nor_superuser(session: AsyncSession) -> None:
    row = (await session.execute(text(
        "SELECT r.rolsuper, r.rolbypassrls, current_user "
        "FROM pg_roles r WHERE r.rolname = current_user"
    ))).one()
    assert tuple(row) == (False, False, "slrt_app")
    owned = await session.scalar(text(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
    ))
    assert owned == 0
    forced = await session.scalar(text(
        "SELECT bool_and(relforcerowsecurity AND relrowsecurity) FROM pg_class "
        "WHERE relname IN ('households', 'persons', 'families', 'enrolments')"
    ))
    assert forced is True


async def test_rls_reads_the_scope_once_per_statement(session: AsyncSession) -> None:
    # The policy's scope is a sub-SELECT planned as an InitPlan (run once), not split again per row.
    await set_scope(session, principal(Role.manager, "33.14"))
    plan = "\n".join(row[0] for row in (await session.execute(text(
        "EXPLAIN (COSTS OFF) SELECT count(*) FROM persons"))).all())
    assert "InitPlan" in plan
    assert "hub_scope_allows" not in plan
    assert "current_setting" not in plan
