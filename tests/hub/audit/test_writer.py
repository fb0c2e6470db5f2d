from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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
