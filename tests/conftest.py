"""Test database: a real PostgreSQL, migrated once per session; each test in a rolled-back transaction.

``TEST_DATABASE_URL`` names a server to use (a fresh database is created on it and dropped at the
end); without it an embedded PostgreSQL is started in a temporary directory. Tests talk to the
database as ``slrt_app``, the same non-owner role the API uses, so row-level security is in force.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from auth.principal import Principal
from hub.config import Profile, Settings, app_url_from_owner, to_async_url
from hub.db.embedded import ensure_database, start_embedded
from hub.db.engine import make_sessionmaker, set_scope
from hub.db.migrate import upgrade
from hub.regions.loader import load_regions

pytest_plugins = ["tests.fixtures.factories", "tests.fixtures.statements"]


def _server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return to_async_url(url)
    pgdata = Path(tempfile.mkdtemp(prefix="slrt-test-pg-")) / "pgdata"
    return to_async_url(start_embedded(pgdata, delete_on_exit=True))


async def _drop_database(server_url: str, name: str) -> None:
    admin = create_async_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def database_urls() -> AsyncIterator[dict[str, str]]:
    server = _server_url()
    name = f"slrt_test_{os.getpid()}_{secrets.token_hex(3)}"
    owner = await ensure_database(server, name)
    await asyncio.to_thread(upgrade, owner)
    engine = create_async_engine(owner)
    async with engine.begin() as conn:
        await load_regions(conn)
    await engine.dispose()
    yield {"server": server, "owner": owner, "app": app_url_from_owner(owner, None), "name": name}
    await _drop_database(server, name)


@pytest.fixture(scope="session")
async def app_engine(database_urls: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_urls["app"], pool_size=5, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(app_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with app_engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session as the app role with national scope, for arranging data and checking results."""
    async with make_sessionmaker(connection)() as s:
        await set_scope(s, Principal.system("tests"))
        yield s


@pytest.fixture(scope="session")
async def owner_engine(database_urls: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_urls["owner"], pool_size=2, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
async def owner_session(owner_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """The migration owner, for what only the CLI may do (loading regions); rolled back."""
    async with owner_engine.connect() as conn:
        transaction = await conn.begin()
        async with make_sessionmaker(conn)() as s:
            await set_scope(s, Principal.system("tests"))
            yield s
        await transaction.rollback()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(profile=Profile.test, data_dir=tmp_path, database_url="postgresql://unused/unused")
