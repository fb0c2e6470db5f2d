from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.config import Settings
from tests.authz.world import Caller, World, build_world, caller


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


@pytest.fixture
async def api(settings: Settings, connection: AsyncConnection) -> AsyncIterator[Caller]:
    async with caller(settings, connection) as client:
        yield client
