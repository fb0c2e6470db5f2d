"""Households deleted at the source (SIKS-NG tombstones) are archived and stamped in the hub, never deleted,
counted once in the run history, also across a crash and resume."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.ports import RegistrySource
from hub.sync import service
from hub.sync.wiring import build_source
from tests.hub.sync.conftest import FAST, Harness


@pytest.fixture(autouse=True)
def restore(harness: Harness) -> Iterator[None]:
    """The mock world is shared by the session: bring the deleted households back for the next tests."""
    yield
    for household in harness.mocks.world.households:
        household.deleted = False
    harness.mocks.world.reindex()


class Crash(Exception):
    """Stands for the process dying between two pages (the SIGKILL test covers real kills)."""


class CrashingSource:
    """The SIKS-NG client, dying when asked for page ``crash_at`` (the pages before it are committed)."""

    system = "siks-ng"

    def __init__(self, inner: Any, crash_at: int) -> None:
        self.inner, self.crash_at, self.calls = inner, crash_at, 0

    async def households(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.crash_at:
            raise Crash
        return await self.inner.households(**kwargs)

    async def tallies(self, **kwargs: Any) -> Any:
        return await self.inner.tallies(**kwargs)

    async def ping(self) -> None:
        await self.inner.ping()


async def removed_rows(harness: Harness) -> dict[str, Any]:
    return dict(await harness.scalar("""
        SELECT json_build_object(
            'households', (SELECT count(*) FROM households WHERE removed_at_source IS NOT NULL AND status = 'archived'),
            'all', (SELECT count(*) FROM households),
            'persons_left_active', (SELECT count(*) FROM persons p JOIN households h ON h.id = p.household_id
                                    WHERE h.removed_at_source IS NOT NULL AND p.status <> 'archived'),
            'run_total', (SELECT coalesce(sum(removed), 0) FROM sync_runs))"""))


async def test_a_deleted_household_is_archived_counted_once_and_reconciles(harness: Harness) -> None:
    connector = await harness.connector("siks-ng", region=None)
    first = await harness.sync(connector, full=True)
    total = len(harness.mocks.world.households)
    assert first.progress.inserted == total
    gone = harness.mocks.world.delete(7)

    later = await harness.sync(connector)
    assert later.progress.removed == 7
    assert later.status.value == "succeeded"  # the tallies leave deleted households out on both sides
    assert later.reconciliation is not None
    assert later.reconciliation["ok"] is True
    assert await removed_rows(harness) == {"households": 7, "all": total, "persons_left_active": 0, "run_total": 7}
    assert sorted(await harness.scalar(
        "SELECT json_agg(source_record_id) FROM households WHERE removed_at_source IS NOT NULL")) == sorted(gone)
    # The dashboard's summary is rebuilt by the run: archived households drop out of its figures at once.
    assert await harness.scalar("SELECT sum(households) FROM analytics_summary_units WHERE decile > 0") == \
        await harness.scalar("SELECT count(*) FROM households WHERE decile IS NOT NULL AND status <> 'archived'")
    # Provenance stays: the row keeps its source, key and the version that deleted it.
    assert await harness.scalar("SELECT count(*) FROM households WHERE removed_at_source IS NOT NULL "
                                "AND source_system = 'siks-ng' AND source_version IS NOT NULL") == 7

    # Seeing the same tombstones again, incrementally or in a full pull, counts nothing more.
    assert (await harness.sync(connector)).progress.removed == 0
    again = await harness.sync(connector, full=True)
    assert again.progress.removed == 0
    assert again.status.value == "succeeded"
    assert (await removed_rows(harness))["run_total"] == 7


@pytest.mark.parametrize("crash_at", [2, 3])
async def test_a_crash_between_tombstone_pages_does_not_double_count(harness: Harness, crash_at: int) -> None:
    connector = await harness.connector("siks-ng", region=None)
    await harness.sync(connector, full=True)
    stored = await harness.scalar("SELECT count(*) FROM households")
    harness.mocks.world.delete(11)  # incremental pull: 11 tombstones (and the watermark's record) in pages of 4

    source: Any = build_source(connector, harness.settings, options=FAST)
    crashing = CrashingSource(source, crash_at)
    assert isinstance(crashing, RegistrySource)
    with pytest.raises(Crash):
        await service.run_sync(harness.sessionmaker, connector, crashing, page_size=4)
    partial = (await removed_rows(harness))["run_total"]
    assert 0 < partial < 11  # the pages committed before the crash, counted in the crashed run

    resumed = await harness.sync(connector, page_size=4)
    await source.aclose()
    assert resumed.resumed is True
    assert resumed.progress.removed == 11 - partial
    assert await removed_rows(harness) == {"households": 11, "all": stored,
                                           "persons_left_active": 0, "run_total": 11}
    assert resumed.status.value == "succeeded"
