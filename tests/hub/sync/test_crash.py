"""Acceptance: a sync process killed with SIGKILL at random points, again and again, then resumed,
ends with nothing lost and nothing duplicated."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from hub.models import RunStatus
from mocks.faults import FaultConfig
from tests.hub.sync.conftest import Harness, set_faults

ROOT = Path(__file__).resolve().parents[3]
KILLS = 20


def start_zygote(harness: Harness, database: dict[str, str]) -> subprocess.Popen[str]:
    env = {**os.environ, "SLRT_PROFILE": "test", "SLRT_DATABASE_URL": database["owner"],
           "SLRT_APP_DATABASE_URL": database["app"], "SLRT_SYNC_PAGE_SIZE": "5", "PYTHONPATH": str(ROOT)}
    worker = [sys.executable, str(Path(__file__).with_name("crash_worker.py"))]  # our own script, no user input
    return subprocess.Popen(worker, cwd=ROOT, env=env,  # noqa: S603
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def read(zygote: subprocess.Popen[str]) -> dict[str, object]:
    assert zygote.stdout is not None
    line = zygote.stdout.readline()
    assert line, "the crash worker died"
    return dict(json.loads(line))


async def test_sigkill_at_random_points_then_resume_loses_and_duplicates_nothing(
        harness: Harness, sync_database: dict[str, str]) -> None:
    rng = random.Random(20261125)
    set_faults(harness.mocks, "siks-ng", FaultConfig(latency_ms=5))
    connector = await harness.connector("siks-ng", name="crash-siks")
    zygote = start_zygote(harness, sync_database)
    assert zygote.stdin is not None
    kills = completed = 0
    started = time.monotonic()
    try:
        while kills < KILLS and time.monotonic() - started < 150:
            zygote.stdin.write(json.dumps({"connector": connector.name}) + "\n")
            zygote.stdin.flush()
            pid = int(read(zygote)["child"])  # type: ignore[call-overload]
            pages_before_kill = rng.randrange(0, 4)
            seen, message = 0, read(zygote)
            while "reaped" not in message and seen < pages_before_kill:
                seen += 1
                message = read(zygote)
            if "reaped" in message:
                completed += 1
                continue
            await asyncio.sleep(rng.uniform(0, 0.03))  # land anywhere: between pages or inside a transaction
            os.kill(pid, signal.SIGKILL)
            while "reaped" not in message:
                message = read(zygote)
            if os.WIFSIGNALED(int(message["status"])):  # type: ignore[call-overload]
                kills += 1
            if rng.random() < 0.3:
                harness.mocks.world.touch(2)  # the source moves on between crashes
        assert kills >= KILLS, (kills, completed)

        zygote.stdin.write(json.dumps({"connector": connector.name}) + "\n")
        zygote.stdin.flush()
        message = read(zygote)
        while "reaped" not in message:
            message = read(zygote)
        status = int(message["status"])  # type: ignore[call-overload]
        assert os.WIFEXITED(status)
        assert os.WEXITSTATUS(status) == 0
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
        assert zygote.stdout is not None
        zygote.stdout.close()
    print(f"{kills} kills, {completed} runs finished before their kill, {time.monotonic() - started:.1f}s")

    world = harness.mocks.world
    assert await harness.scalar("SELECT count(*) FROM households") == len(world.households)
    assert await harness.scalar("SELECT count(DISTINCT source_record_id) FROM households") == len(world.households)
    source_versions = {h.household_id: str(h.version) for h in world.households}
    stored = await harness.scalar("SELECT json_object_agg(source_record_id, source_version) FROM households")
    assert stored == source_versions
    assert await harness.scalar("SELECT count(*) FROM persons WHERE status = 'active'") == sum(
        len(h.members) for h in world.households)
    last = await harness.scalar(
        "SELECT json_build_object('status', status, 'ok', reconciliation->'ok') FROM sync_runs "
        "WHERE status NOT IN ('skipped') ORDER BY started_at DESC LIMIT 1")
    assert last == {"status": RunStatus.succeeded.value, "ok": True}
    assert await harness.scalar("SELECT count(*) FROM sync_runs WHERE status = 'crashed'") >= KILLS - completed - 1
    assert await harness.scalar("SELECT count(*) FROM sync_runs WHERE resumed") >= 1
