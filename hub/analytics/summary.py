"""The analytics summary: per-village counts behind the dashboard's figures, rebuilt per regency.

At 100,000 households a regency manager's dashboard read every person of the regency two or three
times (~2 s); the summary holds the same figures pre-aggregated by village, decile and programme
set (``hub.models.analytics``), so the dashboard sums a few thousand rows instead. It is rebuilt:

- after every sync run (``hub.sync``), after a seed, and by ``slrt-hub analytics refresh``;
- one regency per transaction, from the very statements the live figures use, run for a manager of
  that regency over every programme of the catalogue; the rows of a regency are swapped in one
  transaction under an exclusive advisory lock, and a reader that cannot take the shared lock at once
  (a refresh is running) computes live instead, so it never sees half a regency;
- with the regency's scope set for row-level security, so it writes nothing outside it.

A reader uses the summary only when its scope is exactly one regency (see ``build_dashboard``):
narrower scopes are fast live, and the links between programme lists and the registry, which the
summary resolved within the regency, must not reach outside a caller's scope.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal, RegionScope, Role
from hub.analytics.repository import SummaryWriter
from hub.analytics.service import name_matches
from hub.db.engine import set_scope
from hub.models import Household, Programme, SummaryRefresh

Progress = Callable[[str], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refreshed:
    regency_code: str
    duration_ms: int


def refresher(regency_code: str) -> Principal:
    """A manager of one regency: the summary is what such a manager's live figures would be."""
    return Principal(f"analytics-refresh:{regency_code}", Role.manager, RegionScope.of(regency_code))


async def regencies(session: AsyncSession) -> list[str]:
    """Regencies that have households (the caller's session needs a scope that sees them)."""
    rows = await session.execute(select(Household.regency_code).distinct().order_by(Household.regency_code))
    return [str(code) for code in rows.scalars()]


async def refresh_regency(session: AsyncSession, regency_code: str, *, as_of: date | None = None,
                          now: datetime | None = None) -> Refreshed:
    """Rebuild one regency's summary inside the caller's transaction, which must commit it. The
    caller's row-level-security scope is set to the regency for the work and restored after."""
    started = time.perf_counter()
    as_of = as_of or date.today()
    now = now or datetime.now().astimezone()
    previous = (await session.execute(text("SELECT current_setting('slrt.scope', true)"))).scalar()
    principal = refresher(regency_code)
    await set_scope(session, principal)
    writer = SummaryWriter(session, principal)
    await writer.lock(regency_code)
    await writer.tune()
    ids = [p.id for p in (await session.execute(select(Programme).order_by(Programme.code))).scalars()]
    matches = await name_matches(writer, ids)
    await writer.write(ids, matches, as_of)
    took = int((time.perf_counter() - started) * 1000)
    parent = regency_code.split(".")[0]
    stmt = insert(SummaryRefresh).values(regency_code=regency_code, province_code=parent, refreshed_at=now,
                                         as_of=as_of, duration_ms=took)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[SummaryRefresh.regency_code],
        set_={"refreshed_at": now, "as_of": as_of, "duration_ms": took}))
    await session.execute(text("SELECT set_config('slrt.scope', :scope, true)"), {"scope": previous or ""})
    return Refreshed(regency_code, took)


async def refresh(sessionmaker: async_sessionmaker[AsyncSession], regency_codes: Sequence[str] | None = None, *,
                  progress: Progress | None = None) -> list[Refreshed]:
    """Rebuild the summary of ``regency_codes`` (default: every regency with households), one
    transaction per regency."""
    if regency_codes is None:
        async with sessionmaker() as session, session.begin():
            await set_scope(session, Principal.system("analytics-refresh"))
            regency_codes = await regencies(session)
    done = []
    for n, code in enumerate(regency_codes, start=1):
        async with sessionmaker() as session, session.begin():
            result = await refresh_regency(session, code)
        done.append(result)
        if progress is not None:
            progress(f"analytics summary {n}/{len(regency_codes)}: regency {code} in {result.duration_ms} ms")
    return done


# Regencies whose summary is missing, from an earlier day (age groups move with the date), or older than
# the last change to their households, persons, enrolments or needs, or to the programme catalogue
# (target bands). Changes made outside a sync (pushed enrolments, recorded needs) are caught here.
STALE = text("""
WITH changed AS (
    SELECT regency_code, max(updated_at) AS at FROM households GROUP BY regency_code
    UNION ALL SELECT regency_code, max(updated_at) FROM persons GROUP BY regency_code
    UNION ALL SELECT regency_code, max(updated_at) FROM enrolments GROUP BY regency_code
    UNION ALL SELECT regency_code, max(updated_at) FROM needs GROUP BY regency_code
)
SELECT c.regency_code FROM changed c
LEFT JOIN analytics_summary_refreshes r ON r.regency_code = c.regency_code
GROUP BY c.regency_code, r.refreshed_at, r.as_of
HAVING r.refreshed_at IS NULL OR r.as_of < :today OR max(c.at) > r.refreshed_at
    OR (SELECT max(updated_at) FROM programmes) > r.refreshed_at
ORDER BY c.regency_code
""")


async def stale_regencies(session: AsyncSession, today: date | None = None) -> list[str]:
    """Regencies whose summary needs a rebuild (see ``STALE``); the session's scope must see them all."""
    rows = await session.execute(STALE, {"today": today or date.today()})
    return [str(row[0]) for row in rows]


def regency_of(region_code: str | None) -> str | None:
    """The regency a region code lies in; ``None`` for a province or the nation (wider than one)."""
    if not region_code or region_code.count(".") < 1:
        return None
    return ".".join(region_code.split(".")[:2])


async def refresh_after_sync(sessionmaker: async_sessionmaker[AsyncSession], region_code: str | None,
                             changed: bool) -> None:
    """The end-of-run hook of a sync run: rebuild the summary of the regions the connector covers
    (its regency, or every regency with households for a wider connector) when the run changed rows.
    A failure is logged, never raised: the run's data is committed and the summary stays as it was
    (its ``refreshedAt`` shows how old)."""
    if not changed:
        return
    regency = regency_of(region_code)
    try:
        if regency is None:
            async with sessionmaker() as session, session.begin():
                await set_scope(session, Principal.system("analytics-refresh"))
                wanted = [code for code in await regencies(session)
                          if not region_code or code.startswith(region_code + ".")]
        else:
            wanted = [regency]
        for result in await refresh(sessionmaker, wanted):
            log.info("analytics summary of %s rebuilt in %d ms", result.regency_code, result.duration_ms)
    except Exception:
        log.exception("analytics summary refresh after sync failed")
