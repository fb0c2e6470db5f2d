"""A finished request leaves no cycles holding what it read: the rows go when the request does,
without waiting for a garbage collection (under load those collections stalled every request)."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.config import Settings
from tests.fixtures.read_api import api_client, principal


@pytest.fixture
def cyclic_garbage() -> Iterator[list[Any]]:
    """Everything the garbage collector finds unreachable while the test runs, kept for inspection."""
    gc.collect()
    flags = gc.get_debug()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
        gc.enable()


async def test_rows_read_by_a_request_are_not_left_in_cycles(
    settings: Settings, connection: AsyncConnection, session: AsyncSession, factories: Any,
    cyclic_garbage: list[Any],
) -> None:
    for _ in range(3):
        home = await factories.make_household(session, "33.14.01.2001")
        for _member in range(2):
            await factories.make_person(session, home)
    async with api_client(settings, connection, principal("33.14.01")) as client:
        gc.collect()
        cyclic_garbage.clear()
        response = await client.post("/graphql", json={
            "query": "{ households { nodes { id members { name household { id } } } } }"})
        nodes = response.json()["data"]["households"]["nodes"]
        assert len(nodes) == 3
        assert all(len(n["members"]) == 2 for n in nodes)
        gc.collect()
        kinds = Counter(type(o).__qualname__ for o in cyclic_garbage)
    assert kinds["Snapshot"] == 0
    assert kinds["LoaderTask"] == 0
