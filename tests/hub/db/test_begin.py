"""The scope goes with the transaction's BEGIN (one round trip), and the transaction still ends as
SQLAlchemy ends any other: commit, rollback, the pool's reset on return.

``hub.db.driver.begin`` hands SQLAlchemy's asyncpg adapter a transaction it did not begin itself. These
tests run on an engine of their own (one pooled connection, no test transaction around it), where that
path is taken, and fail if an upgrade of SQLAlchemy or asyncpg changes how the adapter tracks it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from auth.principal import Principal, RegionScope, Role
from hub.db import driver
from hub.db.engine import make_sessionmaker, set_scope
from tests.fixtures.statements import sent


def manager(*codes: str) -> Principal:
    return Principal(subject="manager-1", role=Role.manager, scope=RegionScope.of(*codes))


@pytest.fixture
async def engine(database_urls: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    # One connection: every session below gets the connection the one before it gave back.
    engine = create_async_engine(database_urls["app"], pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def given_back_clean(engine: AsyncEngine) -> bool:
    """The pooled connection is outside any transaction and carries no scope."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        idle = not raw.driver_connection.is_in_transaction()  # type: ignore[union-attr]
        setting = (await conn.execute(text("SELECT current_setting('slrt.scope', true)"))).scalar()
    return idle and setting in (None, "")


async def test_the_scope_goes_with_begin_and_dies_with_the_transaction(
        engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    async def not_here(self: AsyncSession) -> None:
        raise AssertionError("driver.close ends a transaction begin began without AsyncSession.close")

    monkeypatch.setattr(AsyncSession, "close", not_here)
    session = make_sessionmaker(engine)()
    with sent(engine) as statements:
        await set_scope(session, manager("33.14", "35"))
        # SQLAlchemy's own statements run in that transaction (asyncpg would refuse to begin another).
        scope = (await session.execute(text("SELECT current_setting('slrt.scope', true)"))).scalar()
        rows = await driver.run(session, "SELECT current_setting('slrt.scope', true)", [])
    assert statements[0][0] == "BEGIN; SELECT set_config('slrt.scope', '33.14,35', true)"
    assert len(statements) == 3
    assert scope == "33.14,35"
    assert rows[0][0] == "33.14,35"
    await driver.close(session)  # the ROLLBACK on asyncpg, then SQLAlchemy's close with nothing to await
    assert session.sync_session._transaction is None
    assert await given_back_clean(engine)
    # The session is closed as session.close() closes it: usable again, with a new transaction.
    await set_scope(session, manager("33"))
    assert (await session.execute(text("SELECT current_setting('slrt.scope', true)"))).scalar() == "33"
    await driver.close(session)
    assert await given_back_clean(engine)


async def test_a_transaction_the_adapter_began_is_closed_by_sqlalchemy(engine: AsyncEngine) -> None:
    session = make_sessionmaker(engine)()
    await driver.run(session, "SELECT set_config('slrt.scope', '33', true)", [])  # no scope: the adapter's BEGIN
    await driver.close(session)
    assert await given_back_clean(engine)


@pytest.mark.parametrize("end", ["commit", "rollback"])
async def test_the_transaction_ends_as_sqlalchemy_ends_it(engine: AsyncEngine, end: str) -> None:
    async with make_sessionmaker(engine)() as session, session.begin() as transaction:
        await set_scope(session, manager("33"))
        await session.execute(text("CREATE TEMP TABLE begun (x int)"))  # lives on if committed
        if end == "rollback":
            await transaction.rollback()
    async with engine.connect() as conn:
        table = (await conn.execute(text("SELECT to_regclass('pg_temp.begun')"))).scalar()
        await conn.rollback()
    assert (table is not None) == (end == "commit")
    assert await given_back_clean(engine)


async def test_a_failed_first_statement_is_rolled_back_on_close(engine: AsyncEngine) -> None:
    session = make_sessionmaker(engine)()
    with pytest.raises(Exception, match="division by zero"):  # the adapter's error, as from ``driver.run``
        await driver.begin(session, "SELECT 1/0")
    await driver.close(session)
    assert await given_back_clean(engine)


async def test_a_scope_of_other_characters_is_sent_as_a_parameter(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session:
        with sent(engine) as statements:
            await set_scope(session, manager("33'14\\"))
        scope = (await session.execute(text("SELECT current_setting('slrt.scope', true)"))).scalar()
    assert [statement for statement, _ in statements] == ["SELECT set_config('slrt.scope', $1, true)"]
    assert scope == "33'14\\"
    assert await given_back_clean(engine)


async def test_a_transaction_already_begun_gets_the_statement_on_its_own(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session:
        await session.execute(text("SELECT 1"))
        with sent(engine) as statements:
            await set_scope(session, manager("33"))
        scope = (await session.execute(text("SELECT current_setting('slrt.scope', true)"))).scalar()
    assert [statement for statement, _ in statements] == ["SELECT set_config('slrt.scope', $1, true)"]
    assert scope == "33"


async def _begun(session: AsyncSession) -> None:
    """Until the session's transaction is one ``begin`` began (its BEGIN is on its way)."""
    for _ in range(10_000):
        cached = session.sync_session.info.get(driver._DRIVER)
        if cached is not None and type(cached[2]._transaction) is driver._Begun:
            return
        await asyncio.sleep(0)
    raise AssertionError("begin never began the transaction")


@pytest.mark.parametrize("turns", [0, 1, 2, 3, 4, 6, 10])
async def test_a_begin_cancelled_at_any_point_leaves_no_transaction_or_scope_behind(
        engine: AsyncEngine, turns: int) -> None:
    # A request cancelled (the client went away) while BEGIN and its scope are on the wire: the server
    # may have run them, and the connection must not go back to the pool inside that transaction,
    # where the next checkout (the access-log writer, a caller without a scope) would run in it.
    session = make_sessionmaker(engine)()

    async def enter() -> None:  # as schema.context's read session does
        try:
            await set_scope(session, manager("33"))
        except BaseException:
            await session.close()
            raise

    task = asyncio.create_task(enter())
    await _begun(session)
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:  # it finished before the cancellation reached it
        await driver.close(session)
    assert engine.pool.checkedout() == 0
    assert await given_back_clean(engine)


@pytest.mark.parametrize("turns", [1, 2, 3, 4, 5, 6, 8])
async def test_a_close_cancelled_at_any_point_gives_the_connection_back_clean(
        engine: AsyncEngine, turns: int) -> None:
    session = make_sessionmaker(engine)()
    await set_scope(session, manager("33"))
    task = asyncio.create_task(driver.close(session))
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert engine.pool.checkedout() == 0
    assert await given_back_clean(engine)
