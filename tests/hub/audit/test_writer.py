from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from hub.audit.repository import AccessLogRepository
from hub.audit.service import Access
from hub.audit.writer import AuditWriter
from hub.db.engine import make_sessionmaker
from hub.models import AccessLog


async def test_concurrent_entries_share_commits(connection: AsyncConnection, session: AsyncSession) -> None:
    before = (await session.execute(select(func.count()).select_from(AccessLog))).scalar_one()
    writer = AuditWriter(make_sessionmaker(connection))
    await asyncio.gather(*(writer.write(Access(principal=None, outcome="denied", operation_name=f"op{n}"))
                           for n in range(40)))
    after = (await session.execute(select(func.count()).select_from(AccessLog))).scalar_one()
    assert after - before == 40
    assert 1 <= writer.batches < 40


async def test_a_failed_batch_fails_every_waiter(connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: AccessLogRepository, rows: list[dict[str, Any]]) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(AccessLogRepository, "insert_many", broken)
    writer = AuditWriter(make_sessionmaker(connection))
    results = await asyncio.gather(*(writer.write(Access(principal=None, outcome="denied")) for _ in range(5)),
                                   return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError] * 5


async def test_entries_are_committed_when_write_returns(app_engine: AsyncEngine, owner_session: AsyncSession) -> None:
    # Bound to an engine (as the app is), each batch is one INSERT in autocommit mode: once write()
    # returns, another connection sees the entries.
    writer = AuditWriter(make_sessionmaker(app_engine))
    names = [f"committed-{n}" for n in range(3)]
    await asyncio.gather(*(writer.write(Access(principal=None, outcome="denied", operation_name=name))
                           for name in names))
    await writer.aclose()
    found = (await owner_session.execute(
        select(AccessLog.operation_name).where(AccessLog.operation_name.in_(names)))).scalars().all()
    assert sorted(found) == names


async def test_a_failed_autocommit_batch_fails_every_waiter_and_commits_none(
        app_engine: AsyncEngine, owner_session: AsyncSession) -> None:
    # One bad row (an operation type longer than its column) fails the whole batch: every waiter gets
    # the error (and withholds its response), and none of the batch's entries is committed.
    writer = AuditWriter(make_sessionmaker(app_engine))
    names = [f"atomic-{n}" for n in range(3)]
    accesses = [Access(principal=None, outcome="denied", operation_name=name) for name in names[:2]]
    accesses.append(Access(principal=None, outcome="denied", operation_name=names[2], operation_type="x" * 40))
    results = await asyncio.gather(*(writer.write(a) for a in accesses), return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results), results
    found = (await owner_session.execute(
        select(func.count()).select_from(AccessLog).where(AccessLog.operation_name.in_(names)))).scalar_one()
    assert found == 0
    # The writer recovers: the next entry is written.
    await writer.write(Access(principal=None, outcome="denied", operation_name="after-failure"))
    await writer.aclose()
    assert (await owner_session.execute(select(func.count()).select_from(AccessLog).where(
        AccessLog.operation_name == "after-failure"))).scalar_one() == 1


async def test_a_stale_kept_connection_is_replaced(app_engine: AsyncEngine, owner_session: AsyncSession) -> None:
    # The writer keeps one connection for its batches; when the server drops it (restart, idle
    # timeout), the next batch is written on a new one instead of failing its requests.
    writer = AuditWriter(make_sessionmaker(app_engine))
    await writer.write(Access(principal=None, outcome="denied", operation_name="before-drop"))
    assert writer._held is not None
    pid = (await writer._held.get_raw_connection()).driver_connection.get_server_pid()
    assert (await owner_session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
    await writer.write(Access(principal=None, outcome="denied", operation_name="after-drop"))
    new_pid = (await writer._held.get_raw_connection()).driver_connection.get_server_pid()
    await writer.aclose()
    assert new_pid != pid
    assert sorted((await owner_session.execute(select(AccessLog.operation_name).where(
        AccessLog.operation_name.in_(["before-drop", "after-drop"])))).scalars().all()) == ["after-drop", "before-drop"]


async def test_a_cancelled_waiter_leaves_its_batch_intact(app_engine: AsyncEngine, owner_session: AsyncSession) -> None:
    # A client that goes away cancels its request while the entry waits for its batch: the others in
    # the batch are still written and answered, and so is the cancelled request's entry (it was read).
    writer = AuditWriter(make_sessionmaker(app_engine))
    names = [f"cancelled-{n}" for n in range(3)]
    waiters = [asyncio.create_task(writer.write(Access(principal=None, outcome="denied", operation_name=name)))
               for name in names]
    await asyncio.sleep(0)  # all three are queued
    waiters[1].cancel()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    await writer.aclose()
    assert [type(r) for r in results] == [type(None), asyncio.CancelledError, type(None)]
    found = (await owner_session.execute(
        select(AccessLog.operation_name).where(AccessLog.operation_name.in_(names)))).scalars().all()
    assert sorted(found) == names


PENDING_PAGES = text("SELECT gin_clean_pending_list('ix_access_logs_person_ids'::regclass)"
                     " + gin_clean_pending_list('ix_access_logs_household_ids'::regclass)")


async def _write_entries_with_ids(writer: AuditWriter, count: int) -> None:
    for n in range(count):
        await writer.write(Access(principal=None, outcome="allowed", operation_name=f"merge-{n}",
                                  person_ids=[uuid.uuid4() for _ in range(150)],
                                  household_ids=[uuid.uuid4() for _ in range(50)]))


async def test_the_writer_merges_the_id_index_pending_lists_in_the_background(
        app_engine: AsyncEngine, owner_session: AsyncSession) -> None:
    # Entries only append to the GIN pending lists (migration 0013); every ``merge_every`` entries the
    # writer merges them on a connection of its own, so no insert ever has to.
    await owner_session.execute(PENDING_PAGES)  # start from empty lists

    unmerged = AuditWriter(make_sessionmaker(app_engine), merge_every=None)
    await _write_entries_with_ids(unmerged, 6)
    await unmerged.aclose()
    assert unmerged.merges == 0
    # Without a merge the entries stay in the pending lists (the owner's merge here empties them again).
    assert (await owner_session.execute(PENDING_PAGES)).scalar_one() > 0

    writer = AuditWriter(make_sessionmaker(app_engine), merge_every=6)
    await _write_entries_with_ids(writer, 6)  # the sixth entry's batch starts a merge of all six
    await writer.aclose()  # waits for a merge that began
    assert writer.merges == 1
    assert (await owner_session.execute(PENDING_PAGES)).scalar_one() == 0


def test_an_entry_lists_its_ids_once_each_in_uuid_order_whichever_way_they_come() -> None:
    from hub.audit.service import SortedIds, entry_row, sorted_record_uuids

    ints = [uuid.uuid4().int for _ in range(300)]
    expected = sorted({uuid.UUID(int=n) for n in ints})
    given = sorted_record_uuids(ints + ints[:50])  # as Seen.ids gives them: taken as they are
    assert type(given) is SortedIds
    assert given == expected
    shuffled = [uuid.UUID(int=n) for n in reversed(ints + ints[:50])]  # any other sequence: sorted here
    for ids in (given, shuffled):
        row = entry_row(Access(principal=None, outcome="allowed", person_ids=ids, household_ids=ids))
        assert list(row[9]) == expected
        assert list(row[10]) == expected
