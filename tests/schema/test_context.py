"""The request's read session always carries the caller's scope."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import schema.context
from hub.config import Settings
from hub.db.engine import make_sessionmaker
from schema.context import Context
from tests.fixtures.read_api import principal


async def test_a_session_whose_scope_could_not_be_set_is_not_kept(
    settings: Settings, connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = Context(request=None, response=None, settings=settings, sessionmaker=make_sessionmaker(connection),
                      principal=principal("33.14.01"))
    real = schema.context.set_scope

    async def failing(session: Any, who: Any) -> None:
        raise ConnectionError("lost the connection while setting the scope")

    monkeypatch.setattr(schema.context, "set_scope", failing)
    with pytest.raises(ConnectionError):
        async with context.read_session():
            pass
    monkeypatch.setattr(schema.context, "set_scope", real)
    async with context.read_session() as session:  # a new session, this time scoped
        scope = (await session.execute(text("SELECT current_setting('slrt.scope', true)"))).scalar()
    await context.close()
    assert scope == "33.14.01"


async def test_no_read_starts_after_the_request_closed_its_reads(
    settings: Settings, connection: AsyncConnection,
) -> None:
    # A DataLoader batch scheduled by a field that was then cancelled (a sibling failed) may still run
    # after the response was made: it gets an error instead of a session nobody would close.
    opened: list[Any] = []
    sessionmaker = make_sessionmaker(connection)

    def counting() -> Any:
        opened.append(sessionmaker())
        return opened[-1]

    context = Context(request=None, response=None, settings=settings, sessionmaker=counting,  # type: ignore[arg-type]
                      principal=principal("33.14.01"))
    async with context.read_session() as session:
        await session.execute(text("SELECT 1"))
    await context.close()
    with pytest.raises(RuntimeError, match="reads have ended"):
        async with context.read_session():
            pass
    assert len(opened) == 1
    assert context._session is None


async def test_a_read_that_was_setting_its_scope_when_the_request_closed_keeps_no_session(
    settings: Settings, app_engine: AsyncEngine,
) -> None:
    sessionmaker = make_sessionmaker(app_engine)
    opened = asyncio.Event()

    def signalling() -> Any:
        opened.set()
        return sessionmaker()

    context = Context(request=None, response=None, settings=settings, sessionmaker=signalling,  # type: ignore[arg-type]
                      principal=principal("33.14.01"))

    async def read() -> None:
        async with context.read_session():
            pass

    task = asyncio.create_task(read())
    await opened.wait()  # the read is inside set_scope: close() sees no session yet
    await context.close()
    with pytest.raises(RuntimeError, match="reads have ended"):
        await task
    assert context._session is None
    assert app_engine.pool.checkedout() == 0
