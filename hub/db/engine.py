"""Engines and sessions. Nothing here connects at import time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from auth.principal import Principal
from hub.config import Settings, app_url_from_owner, to_async_url
from hub.db import driver
from hub.db.embedded import DEFAULT_DATABASE, ensure_database, start_embedded

SET_SCOPE = text("SELECT set_config('slrt.scope', :scope, true)")


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 5) -> AsyncEngine:
    return create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        # Statement caching is per connection in asyncpg; keep it on for the hot read paths.
        connect_args={"server_settings": {"application_name": "slrt-hub"}},
    )


def make_sessionmaker(bind: AsyncEngine | AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # With a connection (tests), sessions join its transaction through savepoints, so the
    # app's commits stay inside the test's transaction and are rolled back with it.
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False,
                              join_transaction_mode="create_savepoint")


async def set_scope(session: AsyncSession, principal: Principal) -> None:
    """Tell row-level security which regions this transaction may touch.

    ``is_local = true``: the setting dies with the transaction, so a pooled connection never
    carries one caller's scope into the next caller's request.
    """
    setting = principal.scope.as_setting()
    literal = _literal(setting)
    if literal is not None and await driver.begin(session, f"SELECT set_config('slrt.scope', {literal}, true)"):
        return  # sent with the transaction's BEGIN, in one round trip
    # Straight on the session's connection, in its transaction: compiled once, counted like any statement.
    global _set_scope_sql
    if _set_scope_sql is None:
        _set_scope_sql = SET_SCOPE.compile(dialect=session.get_bind().dialect).string
    await driver.run(session, _set_scope_sql, [setting])


_set_scope_sql: str | None = None

# Region codes (digits and dots), the nation (``*``): what a scope setting is made of.
_PLAIN = re.compile(r"[0-9A-Za-z.,*_-]*")


def _literal(value: str) -> str | None:
    """``value`` as an SQL string literal, when it is made only of the plain characters of a scope
    (no quote, no backslash: the same text whatever ``standard_conforming_strings`` says); else None,
    and the value is sent as a parameter."""
    return f"'{value}'" if _PLAIN.fullmatch(value) else None


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession], principal: Principal
) -> AsyncIterator[AsyncSession]:
    """One transaction for one operation: commit on success, roll back on any error."""
    async with sessionmaker() as session, session.begin():
        await set_scope(session, principal)
        yield session


@dataclass(frozen=True, slots=True)
class DatabaseUrls:
    owner: str
    app: str


async def resolve_urls(settings: Settings) -> DatabaseUrls:
    """The owner URL (migrations) and the app URL (API), starting the embedded server if needed."""
    owner = settings.database_url
    if owner is None:
        server = start_embedded(settings.embedded_pgdata)
        owner = await ensure_database(server, DEFAULT_DATABASE)
    owner = to_async_url(owner)
    if settings.app_database_url:
        app = to_async_url(settings.app_database_url)
    else:
        password = settings.app_db_password.get_secret_value() if settings.app_db_password else None
        app = app_url_from_owner(owner, password)
    return DatabaseUrls(owner=owner, app=app)
