"""Two deliveries of one push at the same time: the second waits for the first and returns its response.

These tests commit (concurrency needs two real transactions), so they use their own programme code
and delete what they wrote.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.principal import Principal, RegionScope, Role
from hub.db.engine import make_sessionmaker, set_scope
from hub.models import IdempotencyKey, Programme, ProgrammeLevel, TargetUnit
from hub.push import service as push_service
from hub.push.schemas import EnrolmentPushResult

ITEMS = [{"source_record_id": "r1", "nik": "not-a-nik"}]


@pytest.fixture
async def pusher(app_engine: AsyncEngine) -> AsyncIterator[tuple[Principal, async_sessionmaker[AsyncSession]]]:
    code = f"T{secrets.token_hex(4)}"
    principal = Principal("conc", Role.ministry_system, RegionScope.national(), programmes=frozenset({code}),
                          client_id=f"conc-{code}")
    sessions = make_sessionmaker(app_engine)
    async with sessions() as s, s.begin():
        s.add(Programme(code=code, name=code, owner_agency="test", level=ProgrammeLevel.central,
                        target_unit=TargetUnit.household))
    yield principal, sessions
    async with sessions() as s, s.begin():
        await s.execute(delete(IdempotencyKey).where(IdempotencyKey.principal == principal.client_id))
        await s.execute(delete(Programme).where(Programme.code == next(iter(principal.programmes))))


async def _push(sessions: async_sessionmaker[AsyncSession], principal: Principal) -> EnrolmentPushResult:
    async with sessions() as s, s.begin():
        await set_scope(s, principal)
        return await push_service.upsert_enrolments(s, principal, next(iter(principal.programmes)), ITEMS, "same")


async def _first_uncommitted(sessions: async_sessionmaker[AsyncSession],
                             principal: Principal) -> tuple[AsyncSession, EnrolmentPushResult]:
    first = sessions()
    await first.begin()
    await set_scope(first, principal)
    result = await push_service.upsert_enrolments(first, principal, next(iter(principal.programmes)), ITEMS, "same")
    return first, result


async def test_a_concurrent_retry_waits_and_gets_the_first_response(
        pusher: tuple[Principal, async_sessionmaker[AsyncSession]]) -> None:
    principal, sessions = pusher
    first, first_result = await _first_uncommitted(sessions, principal)
    retry = asyncio.create_task(_push(sessions, principal))
    await asyncio.sleep(0.3)
    assert not retry.done()  # blocked on the primary key held by the first transaction
    await first.commit()
    await first.close()
    second = await asyncio.wait_for(retry, timeout=30)
    assert (first_result.replayed, second.replayed) == (False, True)
    assert second.results == first_result.results
    assert [r.error_code for r in second.results] == ["INVALID_NIK"]


async def test_when_the_first_delivery_fails_the_retry_does_the_work(
        pusher: tuple[Principal, async_sessionmaker[AsyncSession]]) -> None:
    principal, sessions = pusher
    first, _ = await _first_uncommitted(sessions, principal)
    retry = asyncio.create_task(_push(sessions, principal))
    await asyncio.sleep(0.3)
    assert not retry.done()
    await first.rollback()
    await first.close()
    second = await asyncio.wait_for(retry, timeout=30)
    assert second.replayed is False
    assert [r.error_code for r in second.results] == ["INVALID_NIK"]
