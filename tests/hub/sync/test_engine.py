"""The sync engine against the mock systems over loopback, with a real (committed) database."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hub.analytics import summary
from hub.models import RunStatus
from mocks.faults import FaultConfig
from tests.hub.sync.conftest import Harness, set_faults


def expected_invalid(harness: Harness) -> set[str]:
    faults = harness.mocks.apps["siks-ng"].state.faults
    return {h.household_id for h in harness.mocks.world.households if faults.invalid(h.household_id)}


async def test_full_sync_stores_every_household_and_reconciles(harness: Harness) -> None:
    connector = await harness.connector("siks-ng")
    result = await harness.sync(connector, full=True)
    world = harness.mocks.world
    assert result.status is RunStatus.succeeded
    assert result.reconciliation is not None
    assert result.reconciliation["ok"] is True
    assert result.progress.inserted == len(world.households)
    assert await harness.scalar("SELECT count(*) FROM households WHERE source_system = 'siks-ng'") == len(
        world.households)
    assert await harness.scalar("SELECT count(*) FROM persons WHERE source_system = 'siks-ng'") == sum(
        len(h.members) for h in world.households)
    # Family cards: one row per (household, KK number), every member linked to theirs.
    assert await harness.scalar("SELECT count(*) FROM families") == len(
        {(h.household_id, p.kk_number) for h in world.households for p in h.members})
    assert await harness.scalar("SELECT count(*) FROM persons WHERE family_id IS NULL") == 0
    # Provenance on every synced row.
    assert await harness.scalar(
        "SELECT count(*) FROM persons WHERE source_record_id IS NULL OR source_version IS NULL "
        "OR synced_at IS NULL") == 0

    again = await harness.sync(connector, full=True)
    assert again.status is RunStatus.succeeded
    assert (again.progress.inserted, again.progress.updated) == (0, 0)
    assert again.progress.unchanged == len(world.households)


async def test_incremental_sync_takes_only_what_changed(harness: Harness) -> None:
    connector = await harness.connector("siks-ng")
    await harness.sync(connector)
    touched = harness.mocks.world.touch(5)
    result = await harness.sync(connector)
    assert result.status is RunStatus.succeeded
    assert result.progress.updated == 5
    assert result.progress.fetched < len(harness.mocks.world.households)
    versions = await harness.scalar(
        "SELECT count(DISTINCT household_id) FROM household_deciles WHERE household_id IN "
        "(SELECT id FROM households WHERE source_record_id = ANY(:keys))", keys=touched)
    assert versions == 5


async def test_twenty_percent_faults_still_end_equal_to_the_source(harness: Harness) -> None:
    faults = FaultConfig.uniform(0.2, invalid_record_rate=0.1, retry_after_s=0)
    faults.seed = 8  # draws follow the request sequence, so this seed injects all six kinds on every run
    set_faults(harness.mocks, "siks-ng", faults)
    connector = await harness.connector("siks-ng")
    result = await harness.sync(connector, full=True, page_size=4)
    injected = harness.mocks.apps["siks-ng"].state.faults.injected
    bad = expected_invalid(harness)
    assert result.status is RunStatus.succeeded, result
    assert result.reconciliation is not None
    assert result.reconciliation["ok"] is True
    assert set(injected) == {"error", "rate_limit", "truncate", "malformed", "duplicate_page", "out_of_order"}
    assert result.progress.duplicate_pages + result.progress.out_of_order_pages >= 1
    assert bad
    quarantined = await harness.scalar(
        "SELECT array_agg(natural_key ORDER BY natural_key) FROM quarantine WHERE resolved_at IS NULL")
    assert set(quarantined) == bad
    assert await harness.scalar("SELECT count(*) FROM quarantine WHERE reason = '' OR raw IS NULL") == 0
    stored = await harness.scalar("SELECT count(*) FROM households")
    assert stored == len(harness.mocks.world.households) - len(bad)


async def test_two_workers_one_runs_the_other_skips(harness: Harness) -> None:
    set_faults(harness.mocks, "siks-ng", FaultConfig(latency_ms=30))
    connector = await harness.connector("siks-ng")
    first, second = await asyncio.gather(harness.sync(connector), harness.sync(connector))
    assert sorted([first.status, second.status]) == sorted([RunStatus.succeeded, RunStatus.skipped])
    assert await harness.scalar("SELECT count(*) FROM sync_runs WHERE status = 'skipped'") == 1
    assert await harness.scalar("SELECT count(*) FROM households") == len(harness.mocks.world.households)


async def test_refused_credentials_fail_the_run_without_retrying(harness: Harness,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "not-the-right-key-5f1c"
    connector = await harness.connector("siks-ng", credentials={"api_key": secret})
    result = await harness.sync(connector)
    assert result.status is RunStatus.failed
    assert result.error is not None
    assert result.error.startswith("Rejected:")
    assert "retrying" not in caplog.text
    assert secret not in caplog.text
    assert secret not in (await harness.scalar("SELECT string_agg(coalesce(error, ''), ' ') FROM sync_runs"))
    stored = await harness.scalar("SELECT encode(credentials, 'escape') FROM connectors")
    assert secret not in stored


async def test_a_failed_run_resumes_from_its_checkpoint(harness: Harness) -> None:
    connector = await harness.connector("siks-ng")
    set_faults(harness.mocks, "siks-ng", FaultConfig(error_rate=1.0))
    failed = await harness.sync(connector, full=True)
    assert failed.status is RunStatus.failed
    set_faults(harness.mocks, "siks-ng", FaultConfig())
    resumed = await harness.sync(connector)
    assert resumed.resumed is True
    assert resumed.status is RunStatus.succeeded


async def test_enrolment_lists_link_to_the_registry_and_park_unknown_niks(harness: Harness) -> None:
    await harness.sync(await harness.connector("siks-ng"), full=True)
    for kind in ("education", "health", "baznas"):
        result = await harness.sync(await harness.connector(kind), full=True)
        assert result.status is RunStatus.succeeded, (kind, result)
        assert result.progress.inserted > 0
    world = harness.mocks.world
    registry_niks = {p.nik for h in world.households for p in h.members}
    outsiders = [r for r in world.education + world.health if r.nik not in registry_niks]
    assert outsiders
    unmatched = await harness.scalar("SELECT count(*) FROM quarantine WHERE kind = 'unmatched'")
    assert unmatched == len(outsiders)
    total = len(world.education) + len(world.health) + len(world.mustahik)
    assert await harness.scalar("SELECT count(*) FROM enrolments") == total - len(outsiders)


async def test_reconciliation_notices_a_row_the_hub_lost(harness: Harness) -> None:
    connector = await harness.connector("siks-ng")
    await harness.sync(connector, full=True)
    lost = harness.mocks.world.households[0]
    await harness.scalar("DELETE FROM households WHERE source_record_id = :key RETURNING 1", key=lost.household_id)
    result = await harness.sync(connector)  # incremental: nothing changed at the source, so nothing refetched
    assert result.status is RunStatus.mismatch
    assert result.reconciliation is not None
    district = lost.village_code.rsplit(".", 1)[0]
    figures = result.reconciliation["regions"][district]
    assert figures["match"] is False
    assert figures["source_count"] == figures["hub_count"] + 1
    repaired = await harness.sync(connector, full=True)
    assert repaired.status is RunStatus.succeeded
    assert repaired.progress.inserted == 1


async def test_finished_runs_are_counted_in_the_metrics(harness: Harness) -> None:
    from prometheus_client import REGISTRY

    def sample(name: str, outcome: str) -> float:
        labels = {"connector": "siks-ng", "outcome": outcome}
        return REGISTRY.get_sample_value(name, labels) or 0.0

    runs, inserted = sample("slrt_sync_runs_total", "succeeded"), sample("slrt_sync_records_total", "inserted")
    connector = await harness.connector("siks-ng")
    result = await harness.sync(connector, full=True)
    assert result.status is RunStatus.succeeded
    assert sample("slrt_sync_runs_total", "succeeded") == runs + 1
    assert sample("slrt_sync_records_total", "inserted") == inserted + result.progress.inserted


async def test_a_run_that_changed_rows_rebuilds_the_analytics_summary(harness: Harness) -> None:
    connector = await harness.connector("siks-ng")
    await harness.sync(connector, full=True)
    refreshed = await harness.scalar(
        "SELECT refreshed_at FROM analytics_summary_refreshes WHERE regency_code = '33.14'")
    assert refreshed is not None
    # The summary counts the synced registry households.
    assert await harness.scalar("SELECT sum(households) FROM analytics_summary_units WHERE decile > 0") == \
        await harness.scalar("SELECT count(*) FROM households WHERE decile IS NOT NULL AND status <> 'archived'")
    # Nothing changed: no rebuild. Five households changed: rebuilt.
    await harness.sync(connector, full=True)
    assert await harness.scalar("SELECT refreshed_at FROM analytics_summary_refreshes") == refreshed
    harness.mocks.world.touch(5)
    await harness.sync(connector)
    assert await harness.scalar("SELECT refreshed_at FROM analytics_summary_refreshes") > refreshed


async def test_concurrent_refreshes_of_one_regency_do_not_double_count(harness: Harness) -> None:
    connector = await harness.connector("siks-ng")
    await harness.sync(connector, full=True)
    registry = await harness.scalar(
        "SELECT count(*) FROM households WHERE decile IS NOT NULL AND status <> 'archived'")
    # The second waits for the first's lock, then replaces its rows (it does not add to them).
    await asyncio.gather(*(summary.refresh(harness.sessionmaker, ["33.14"]) for _ in range(3)))
    assert await harness.scalar("SELECT sum(households) FROM analytics_summary_units WHERE decile > 0") == registry
    assert await harness.scalar("SELECT count(*) FROM analytics_summary_refreshes") == 1
