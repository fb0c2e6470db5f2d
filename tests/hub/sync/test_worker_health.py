"""``slrt-hub worker-health``: the worker container's healthcheck reads the queue's heartbeats."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.sync.jobs import ensure_queue_schema, libpq_url


def test_healthy_only_while_a_worker_heartbeats(sync_database: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_PROFILE", "test")
    monkeypatch.setenv("SLRT_DATABASE_URL", sync_database["owner"])
    monkeypatch.setenv("SLRT_APP_DATABASE_URL", sync_database["app"])
    asyncio.run(ensure_queue_schema(sync_database["owner"]))
    runner = CliRunner()
    with psycopg.connect(libpq_url(sync_database["owner"]), autocommit=True) as conn:
        conn.execute("DELETE FROM procrastinate_workers")
        assert runner.invoke(app, ["worker-health"]).exit_code == 1

        stale = conn.execute("INSERT INTO procrastinate_workers (last_heartbeat) "
                             "VALUES (now() - interval '5 minutes') RETURNING id").fetchone()
        assert runner.invoke(app, ["worker-health"]).exit_code == 1
        assert runner.invoke(app, ["worker-health", "--within", "600"]).exit_code == 0

        fresh = conn.execute("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id").fetchone()
        result = runner.invoke(app, ["worker-health"])
        assert result.exit_code == 0, result.output
        conn.execute("DELETE FROM procrastinate_workers WHERE id = ANY(%s)", ([stale[0], fresh[0]],))  # type: ignore[index]


def test_unreachable_database_is_unhealthy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_PROFILE", "test")
    monkeypatch.setenv("SLRT_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("SLRT_APP_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert CliRunner().invoke(app, ["worker-health"]).exit_code == 1
