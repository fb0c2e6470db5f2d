"""``_entities`` over HTTP: an out-of-scope reference resolves to null and is logged as a denied access."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.audit.service import Access
from hub.audit.writer import AuditWriter
from hub.config import Settings
from schema.ids import to_global_id
from tests.fixtures.factories import make_household
from tests.fixtures.read_api import api_client, principal

MINE, ELSEWHERE = "33.14.01.2001", "33.72.01.1001"
ENTITIES = """query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Household { id villageCode } } }"""


async def test_out_of_scope_reference_is_null_and_audited_as_denied(
    settings: Settings, connection: AsyncConnection, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The entries are captured on their way into the writer: in this test the request's read
    # savepoint, rolled back at the end of the operation, would take the inserted rows with it
    # (one shared connection); the writer's own commit is tested in tests/auth/test_audit.py.
    written: list[Access] = []
    original = AuditWriter.write

    async def capture(self: AuditWriter, access: Access) -> None:
        written.append(access)
        await original(self, access)

    monkeypatch.setattr(AuditWriter, "write", capture)
    mine = await make_household(session, MINE)
    other = await make_household(session, ELSEWHERE)
    mine_id, other_id = to_global_id("Household", mine.id), to_global_id("Household", other.id)
    reps = [{"__typename": "Household", "id": mine_id}, {"__typename": "Household", "id": other_id}]

    async with api_client(settings, connection, principal(MINE)) as client:
        response = await client.post("/graphql", json={"query": ENTITIES, "variables": {"reps": reps}})

    assert response.json() == {"data": {"_entities": [{"id": mine_id, "villageCode": MINE}, None]}}
    assert [(a.outcome, a.operation_name, list(a.record_ids), list(a.household_ids), list(a.error_codes))
            for a in written] == [
        ("denied", "_entities", [f"Household:{other_id}"], [], ["NOT_FOUND"]),
        ("allowed", None, [], [mine.id], []),
    ]
    assert {a.principal.subject for a in written if a.principal} == {"test-facilitator"}
