"""``apiClients`` as a Relay connection: pages, totalCount and filters, checked against SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Role
from hub.models import ApiClient

CLIENTS = """query($first: Int, $after: String, $filter: ApiClientFilterInput) {
  apiClients(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { clientId active role }
  }
}"""


@pytest.fixture
async def registered(session: AsyncSession) -> list[str]:
    """Five clients older than any other test's; the whole table's order, as SQL sees it."""
    at = datetime(2000, 1, 1, tzinfo=UTC)
    session.add_all([ApiClient(client_id=f"old-{i}", secret_hash="x", name=f"Old {i}",
                               role="ministry_system" if i % 2 else "api_client", regions=["*"], purpose="tests",
                               active=i != 3, created_at=at + timedelta(days=i)) for i in range(5)])
    await session.flush()
    return list((await session.execute(text("SELECT client_id FROM api_clients ORDER BY created_at, client_id")))
                .scalars())


@pytest.fixture
async def admin(make_client: Callable[..., Any], mint: Callable[..., str]) -> Callable[..., Any]:
    client: httpx.AsyncClient = await make_client()
    headers = {"authorization": f"Bearer {mint(Role.national_officer, ['*'])}"}

    async def call(**variables: Any) -> dict[str, Any]:
        response = await client.post("/graphql", headers=headers, json={"query": CLIENTS, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return call


async def test_clients_page_oldest_first_with_the_total(admin: Callable[..., Any], registered: list[str]) -> None:
    seen: list[str] = []
    after, pages = None, 0
    while True:
        clients = (await admin(first=2, after=after))["data"]["apiClients"]
        assert clients["totalCount"] == len(registered)
        assert clients["pageInfo"]["hasPreviousPage"] is (pages > 0)
        seen += [c["clientId"] for c in clients["nodes"]]
        pages += 1
        if not clients["pageInfo"]["hasNextPage"]:
            break
        after = clients["pageInfo"]["endCursor"]
    assert seen == registered
    assert seen[:5] == [f"old-{i}" for i in range(5)]
    assert pages == (len(registered) + 1) // 2


async def test_clients_filter_by_active_and_role(
        admin: Callable[..., Any], registered: list[str], session: AsyncSession) -> None:
    async def oracle(where: str) -> list[str]:
        return list((await session.execute(text(
            f"SELECT client_id FROM api_clients WHERE {where} ORDER BY created_at, client_id"))).scalars())

    for variables, where in (({"active": False}, "NOT active"),
                             ({"role": "MINISTRY_SYSTEM"}, "role = 'ministry_system'"),
                             ({"active": True, "role": "MINISTRY_SYSTEM"}, "active AND role = 'ministry_system'")):
        clients = (await admin(first=100, filter=variables))["data"]["apiClients"]
        expected = await oracle(where)
        assert ([c["clientId"] for c in clients["nodes"]], clients["totalCount"]) == (expected, len(expected))
    revoked = (await admin(first=100, filter={"active": False}))["data"]["apiClients"]["nodes"]
    assert {"clientId": "old-3", "active": False, "role": "MINISTRY_SYSTEM"} in revoked


async def test_clients_first_above_100_is_refused(admin: Callable[..., Any], registered: list[str]) -> None:
    body = await admin(first=101)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("PAGE_TOO_LARGE", ["apiClients"])]
