"""The scheduler and worker on procrastinate: due connectors are queued once and synced by a worker."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from hub.models import RunStatus
from hub.sync.jobs import ensure_queue_schema, is_due, make_app, refresh_stale_summaries, schedule_due
from tests.hub.sync.conftest import Harness


def test_is_due_follows_the_cron_schedule() -> None:
    now = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
    assert is_due("0 2 * * *", None, now) is True
    assert is_due("0 2 * * *", datetime(2026, 11, 25, 1, 59, tzinfo=UTC), now) is True
    assert is_due("0 2 * * *", datetime(2026, 11, 25, 2, 0, 5, tzinfo=UTC), now) is False


async def test_a_due_connector_is_queued_once_and_synced_by_a_worker(
        harness: Harness, sync_database: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_PROFILE", "test")
    monkeypatch.setenv("SLRT_DATABASE_URL", sync_database["owner"])
    monkeypatch.setenv("SLRT_APP_DATABASE_URL", sync_database["app"])
    await ensure_queue_schema(sync_database["owner"])
    scheduled = await harness.connector("siks-ng", name="nightly", schedule="*/5 * * * *")
    await harness.connector("baznas", name="manual-only")  # no schedule: never queued
    app = make_app(sync_database["app"])
    async with app.open_async():
        assert await schedule_due(int(time.time())) == 1
        assert await schedule_due(int(time.time())) == 0  # already waiting: the queueing lock holds it back
        await app.run_worker_async(queues=["sync"], wait=False, install_signal_handlers=False)
    status = await harness.scalar("SELECT status FROM sync_runs WHERE connector_id = :id", id=scheduled.id)
    assert status == RunStatus.succeeded.value
    assert await harness.scalar("SELECT count(*) FROM households") == len(harness.mocks.world.households)


async def test_the_periodic_job_rebuilds_summaries_changed_outside_a_sync(
        harness: Harness, sync_database: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_PROFILE", "test")
    monkeypatch.setenv("SLRT_DATABASE_URL", sync_database["owner"])
    monkeypatch.setenv("SLRT_APP_DATABASE_URL", sync_database["app"])
    await harness.sync(await harness.connector("siks-ng"), full=True)  # the run rebuilds 33.14 itself
    assert await refresh_stale_summaries(int(time.time())) == 0
    # A change made outside a sync (a household edited after the rebuild): the job catches it, once.
    assert await harness.scalar(
        "WITH u AS (UPDATE households SET updated_at = now() "
        "WHERE id = (SELECT id FROM households ORDER BY id LIMIT 1) RETURNING 1) SELECT count(*) FROM u") == 1
    before = await harness.scalar("SELECT refreshed_at FROM analytics_summary_refreshes WHERE regency_code = '33.14'")
    assert await refresh_stale_summaries(int(time.time())) == 1
    assert await harness.scalar(
        "SELECT refreshed_at FROM analytics_summary_refreshes WHERE regency_code = '33.14'") > before
    assert await refresh_stale_summaries(int(time.time())) == 0
