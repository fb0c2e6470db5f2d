"""The summary path: after a refresh, a regency's figures come from the per-village summary and are
identical to the live ones (exact, protected, disability merged); narrower scopes stay live; a refresh
is region-scoped, replaces the regency's rows, and the figures show its time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.analytics import service as analytics
from hub.analytics import summary
from hub.analytics.repository import SummaryReader, SummaryWriter
from hub.analytics.service import Dashboard
from hub.db.engine import make_sessionmaker, set_scope
from hub.db.repository import ScopedRepository
from hub.models import Enrolment, EnrolmentStatus, SummaryRefresh, SummaryUnit
from tests.hub.analytics.population import (
    AS_OF,
    NOW,
    PROGRAMME_CODES,
    REGENCY,
    VILLAGE_A,
    Population,
    build_population,
)

MANAGER = Principal("mgr", Role.manager, RegionScope.of(REGENCY))
SUPERVISOR = Principal("sup", Role.supervisor, RegionScope.of(REGENCY))
OWNER = Principal("own", Role.programme_owner, RegionScope.national(), programmes=frozenset({"PKH"}))
FACILITATOR_A = Principal("fac-a", Role.facilitator, RegionScope.of(VILLAGE_A))


@pytest.fixture
async def population(session: AsyncSession) -> Population:
    return await build_population(session)


async def dashboard(session: AsyncSession, principal: Principal, *, region: str | None = None,
                    use_summary: bool = True, codes: list[str] | None = PROGRAMME_CODES) -> Dashboard:
    return await analytics.build_dashboard(session, principal, threshold=5, region_code=region,
                                           programme_codes=codes, as_of=AS_OF, now=NOW, use_summary=use_summary)


def figures(d: Dashboard) -> tuple[Any, ...]:
    return d.name_matches, d.coverage, d.overlap, d.targeting, d.profiles, d.workflow


@pytest.mark.parametrize(("principal", "region"), [
    (MANAGER, None), (SUPERVISOR, None), (OWNER, REGENCY), (MANAGER, REGENCY)])
@pytest.mark.parametrize("codes", [PROGRAMME_CODES, ["PIP", "PKH"], ["BAZNAS"]])
async def test_summary_gives_the_live_figures(session: AsyncSession, population: Population, principal: Principal,
                                              region: str | None, codes: list[str]) -> None:
    live = await dashboard(session, principal, region=region, use_summary=False, codes=codes)
    assert live.refreshed_at is None
    done = await summary.refresh_regency(session, REGENCY, as_of=AS_OF, now=NOW)
    assert done.regency_code == REGENCY
    from_summary = await dashboard(session, principal, region=region, codes=codes)
    assert from_summary.refreshed_at == NOW
    assert figures(from_summary) == figures(live)
    assert from_summary.protection == live.protection


async def test_summary_exact_numbers_match_the_hand_worked_ones(session: AsyncSession,
                                                                population: Population) -> None:
    await summary.refresh_regency(session, REGENCY, as_of=AS_OF, now=NOW)
    d = await dashboard(session, MANAGER)
    assert d.refreshed_at == NOW
    assert d.name_matches == 1
    rows = {t.programme_code: (t.exclusion, t.enrolled_households, t.inclusion_outside_band,
                               t.inclusion_not_in_registry, t.matched_in_registry, t.matched_by_nik,
                               t.matched_by_name) for t in d.targeting}
    assert rows["PIP"] == (10, 4, 0, 1, 1, 1, 1)  # as in test_figures.test_targeting_errors
    assert d.overlap is not None
    assert d.overlap.set_sizes == {"BAZNAS": 1, "BPNT": 4, "PIP": 4, "PKH": 5}


async def test_narrower_scopes_national_scope_and_other_days_stay_live(session: AsyncSession,
                                                                       population: Population) -> None:
    await summary.refresh_regency(session, REGENCY, as_of=AS_OF, now=NOW)
    assert (await dashboard(session, FACILITATOR_A)).refreshed_at is None
    assert (await dashboard(session, MANAGER, region=VILLAGE_A)).refreshed_at is None
    assert (await dashboard(session, OWNER)).refreshed_at is None
    other_day = await analytics.build_dashboard(session, MANAGER, threshold=5, programme_codes=PROGRAMME_CODES,
                                                as_of=AS_OF.replace(day=2), now=NOW)
    assert other_day.refreshed_at is None
    # Without an as_of, the summary's day is used.
    default_day = await analytics.build_dashboard(session, MANAGER, threshold=5, programme_codes=PROGRAMME_CODES,
                                                  now=NOW)
    assert default_day.refreshed_at == NOW
    assert default_day.profiles == (await dashboard(session, MANAGER, use_summary=False)).profiles


async def test_summary_is_stale_until_refreshed_and_says_so(session: AsyncSession, population: Population) -> None:
    await summary.refresh_regency(session, REGENCY, as_of=AS_OF, now=NOW)
    before = await dashboard(session, MANAGER)
    # A2's PKH enrolment ended; reactivate it: the live figure moves at once, the summary at the refresh.
    await session.execute(Enrolment.__table__.update().where(Enrolment.status == EnrolmentStatus.ended)
                          .values(status=EnrolmentStatus.active))
    stale = await dashboard(session, MANAGER)
    live = await dashboard(session, MANAGER, use_summary=False)
    assert figures(stale) == figures(before)
    assert figures(live) != figures(before)
    later = NOW.replace(hour=5)
    await summary.refresh_regency(session, REGENCY, as_of=AS_OF, now=later)
    fresh = await dashboard(session, MANAGER)
    assert fresh.refreshed_at == later
    assert figures(fresh) == figures(live)
    # Refreshing replaced the regency's rows, it did not add to them.
    units = (await session.execute(select(func.sum(SummaryUnit.households)))).scalar_one()
    assert units == sum(n for n in (await summary_units(session, MANAGER)))


async def summary_units(session: AsyncSession, principal: Principal) -> list[int]:
    repo = ScopedRepository[SummaryUnit](session, principal)
    repo.model = SummaryUnit
    rows = (await session.execute(repo.readable(select(SummaryUnit)))).scalars().all()
    return [r.households for r in rows]


async def test_summary_rows_are_region_scoped(session: AsyncSession, population: Population) -> None:
    await summary.refresh_regency(session, REGENCY, as_of=AS_OF, now=NOW)
    # Row-level security: village A's facilitator's scope reads village A's rows only.
    await set_scope(session, FACILITATOR_A)
    villages = set((await session.execute(select(SummaryUnit.village_code))).scalars())
    assert villages == {VILLAGE_A}
    assert (await session.execute(select(SummaryRefresh))).scalars().all() == []
    await set_scope(session, Principal("other", Role.manager, RegionScope.of("33.15")))
    assert (await session.execute(select(func.count()).select_from(SummaryUnit))).scalar_one() == 0
    await set_scope(session, Principal.system("tests"))
    # The refresh restored the caller's scope.
    assert (await session.execute(select(func.count()).select_from(SummaryRefresh))).scalar_one() == 1


async def test_reader_computes_live_while_a_refresh_runs(app_engine: AsyncEngine, session: AsyncSession,
                                                         population: Population) -> None:
    # A summary for the regency exists (its refresh row), and another connection is refreshing it:
    # that refresh holds the regency's exclusive lock, so the reader does not wait and reads live.
    await session.execute(insert(SummaryRefresh).values(regency_code=REGENCY, province_code="33", refreshed_at=NOW,
                                                        as_of=AS_OF, duration_ms=1))
    async with app_engine.connect() as other, make_sessionmaker(other)() as refreshing:
        async with refreshing.begin():
            await set_scope(refreshing, MANAGER)
            await SummaryWriter(refreshing, MANAGER).lock(REGENCY)
            assert await SummaryReader(session, MANAGER).state() is None
        # The refresh committed: the lock is free and the summary is read again.
        state = await SummaryReader(session, MANAGER).state()
    assert state is not None
    assert state.refreshed_at == NOW


async def test_refresh_all_regencies_reports_progress(app_engine: AsyncEngine) -> None:
    lines: list[str] = []
    async with app_engine.connect() as conn:
        done = await summary.refresh(make_sessionmaker(conn), progress=lines.append)
        await conn.rollback()
    assert len(done) == len(lines)
    assert all("analytics summary" in line for line in lines)


async def test_stale_regencies_are_those_changed_since_their_rebuild(session: AsyncSession,
                                                                     population: Population) -> None:
    # The worker's periodic job rebuilds these; changes made outside a sync (a pushed enrolment, a
    # recorded need) are caught here.
    await set_scope(session, Principal.system("test"))
    today = date(2026, 3, 1)
    assert REGENCY in await summary.stale_regencies(session, today)  # no summary yet
    # Rows written in this transaction carry its start time; a rebuild after that is fresh.
    later = datetime.now(UTC) + timedelta(hours=1)
    await summary.refresh_regency(session, REGENCY, as_of=today, now=later)
    await set_scope(session, Principal.system("test"))
    assert REGENCY not in await summary.stale_regencies(session, today)
    # The next day the ages move: stale again.
    assert REGENCY in await summary.stale_regencies(session, today + timedelta(days=1))
    # An enrolment changed after the rebuild: stale again.
    await session.execute(Enrolment.__table__.update().where(Enrolment.regency_code == REGENCY)
                          .values(updated_at=later + timedelta(minutes=1)))
    assert REGENCY in await summary.stale_regencies(session, today)
