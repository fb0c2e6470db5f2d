"""The demo's first sync: a connector per source configured against the mocks, data from each."""

from __future__ import annotations

from hub.sync.demo import configure_and_sync
from tests.hub.sync.conftest import Harness


async def test_demo_configures_every_source_and_data_arrives_from_each(harness: Harness) -> None:
    lines: list[str] = []
    await configure_and_sync(harness.sessionmaker, harness.settings, harness.mocks.urls,
                             harness.mocks.config.client_credentials, say=lines.append)
    assert await harness.scalar("SELECT count(*) FROM connectors") == 5
    assert await harness.scalar("SELECT count(*) FROM households") == len(harness.mocks.world.households)
    assert await harness.scalar("SELECT count(DISTINCT source_system) FROM enrolments") == 3
    assert await harness.scalar("SELECT count(*) FROM nik_checks") == 20
    assert len(lines) == 5
    # Run again (a second `slrt-hub demo`): nothing is configured twice, nothing new arrives.
    await configure_and_sync(harness.sessionmaker, harness.settings, harness.mocks.urls,
                             harness.mocks.config.client_credentials, say=lines.append)
    assert await harness.scalar("SELECT count(*) FROM connectors") == 5
    assert "0 new" in lines[5]
