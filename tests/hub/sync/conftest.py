"""Sync tests commit (a crash test cannot run inside a rolled-back transaction), so they get their own
database, migrated once, emptied before each test, dropped at the end; and the mock systems on loopback.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from auth.principal import Principal
from connectors.http import ClientOptions
from connectors.retry import RetryPolicy
from hub.config import Profile, Settings, app_url_from_owner
from hub.db.embedded import ensure_database
from hub.db.engine import make_sessionmaker, set_scope
from hub.db.migrate import upgrade
from hub.models import Connector
from hub.sync import service
from hub.sync.wiring import build_source
from mocks.faults import FaultConfig
from mocks.server import SYSTEMS, MockConfig, MockSystems
from tests.conftest import _drop_database, _server_url

FAST = ClientOptions(timeout=5, retry=RetryPolicy(attempts=40, deadline=60, initial=0.005, maximum=0.05,
                                                  jitter=0.005, max_retry_after=2))
SYNCED_TABLES = ("enrolments", "household_deciles", "persons", "families", "households", "quarantine",
                 "sync_conflicts", "nik_checks", "outbox", "sync_checkpoints", "sync_runs", "connectors",
                 "programmes", "analytics_summary_units", "analytics_summary_enrolled", "analytics_summary_persons",
                 "analytics_summary_name_matches", "analytics_summary_refreshes")


@pytest.fixture(scope="session")
async def sync_database() -> AsyncIterator[dict[str, str]]:
    server = _server_url()
    name = f"slrt_sync_{os.getpid()}_{secrets.token_hex(3)}"
    owner = await ensure_database(server, name)
    await asyncio.to_thread(upgrade, owner)
    yield {"owner": owner, "app": app_url_from_owner(owner, None), "name": name}
    await _drop_database(server, name)


@pytest.fixture(scope="session")
async def sync_owner_engine(sync_database: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(sync_database["owner"], pool_size=2, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sync_engine(sync_database: dict[str, str], sync_owner_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    async with sync_owner_engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(SYNCED_TABLES)} CASCADE"))
    engine = create_async_engine(sync_database["app"], pool_size=4, max_overflow=2)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(sync_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(sync_engine)


@pytest.fixture(scope="session")
def mocks() -> Iterator[MockSystems]:
    systems = MockSystems(MockConfig(ports=dict.fromkeys(SYSTEMS, 0), size=120, seed=11))
    with systems.running():
        yield systems


@pytest.fixture(autouse=True)
def calm_mocks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with no faults injected, whatever the previous one set."""
    yield
    if "mocks" in request.fixturenames:
        systems: MockSystems = request.getfixturevalue("mocks")
        for app in systems.apps.values():
            app.state.faults.config = FaultConfig()


def set_faults(systems: MockSystems, system: str, config: FaultConfig) -> None:
    faults = systems.apps[system].state.faults
    faults.config = config
    faults.rng.seed(config.seed)
    faults.injected.clear()


@dataclass
class Harness:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    mocks: MockSystems

    async def connector(self, kind: str, *, region: str | None = "33.14", name: str | None = None,
                        credentials: dict[str, str] | None = None, schedule: str | None = None,
                        **options: Any) -> Connector:
        data = service.ConnectorInput(
            name=name or f"{kind}-test", kind=kind, base_url=self.mocks.urls[kind], region_code=region,
            credentials=credentials or self.mocks.config.client_credentials(kind), options=options,
            schedule=schedule)
        async with self.sessionmaker() as session, session.begin():
            await set_scope(session, Principal.system("tests"))
            return await service.create_connector(session, Principal.system("tests"), self.settings, data)

    async def sync(self, connector: Connector, *, full: bool = False, page_size: int = 10) -> service.RunResult:
        source: Any = build_source(connector, self.settings, options=FAST)
        try:
            return await service.run_sync(self.sessionmaker, connector, source, full=full, page_size=page_size)
        finally:
            await source.aclose()

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.sessionmaker() as session, session.begin():
            await set_scope(session, Principal.system("tests"))
            return await session.scalar(text(sql), params)


@pytest.fixture
def harness(tmp_path: Any, sessionmaker: async_sessionmaker[AsyncSession], mocks: MockSystems) -> Harness:
    settings = Settings(profile=Profile.test, data_dir=tmp_path, database_url="postgresql://unused/unused")
    return Harness(settings, sessionmaker, mocks)
