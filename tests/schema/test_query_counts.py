"""SQL statements per request are fixed by the query's shape, never by the page size (no N+1)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from hub.config import Settings
from hub.db.base import region_codes
from hub.models import Enrolment, Household, Person, Programme, Relationship
from schema.ids import to_global_id
from tests.fixtures.read_api import api_client, count_statements, make_programme, principal

VILLAGE = "33.14.01.2001"


@pytest.fixture
async def programme(session: AsyncSession) -> Programme:
    """100 households of 2 members; every household enrolled in this programme, every member in another."""
    pkh = await make_programme(session, code="PKH")
    pip = await make_programme(session, code="PIP")
    codes = region_codes(VILLAGE)
    households = [Household(address=f"Jl. {i}", decile=1 + i % 10, registry_id=f"R{i:03d}", **codes)
                  for i in range(100)]
    session.add_all(households)
    await session.flush()
    persons = [Person(nik=f"33140101019{i:05d}", name=f"Warga {i}", household_id=households[i // 2].id,
                      relationship_to_head=Relationship.head if i % 2 == 0 else Relationship.child, **codes)
               for i in range(200)]
    session.add_all(persons)
    await session.flush()
    session.add_all([Enrolment(programme_id=pkh.id, household_id=h.id, source_record_id=f"H{i}", **codes)
                     for i, h in enumerate(households)])
    session.add_all([Enrolment(programme_id=pip.id, household_id=p.household_id, person_id=p.id,
                               source_record_id=f"P{i}", **codes) for i, p in enumerate(persons)])
    await session.flush()
    return pkh


async def run(settings: Settings, connection: AsyncConnection, app_engine: AsyncEngine, query: str,
              **variables: Any) -> tuple[dict[str, Any], list[str]]:
    async with api_client(settings, connection, principal(VILLAGE)) as client:
        with count_statements(app_engine) as counter:
            response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body, counter.statements


# The access-log entry is written before the response leaves (docs/auth.md): its own savepoint,
# one INSERT and the release, whatever the page size.
AUDIT_STATEMENTS = 3


HOUSEHOLDS = """query($first: Int!) { households(first: $first) { edges { node { id
    members { name enrolments { status programme { code } } } } } } }"""

# SAVEPOINT (the request's transaction inside the test's), set the scope, households, members,
# member enrolments, programmes, and the savepoint's rollback.
HOUSEHOLDS_STATEMENTS = 7 + AUDIT_STATEMENTS


async def test_households_page_of_50_with_members_and_enrolments(
        settings: Settings, connection: AsyncConnection, app_engine: AsyncEngine, programme: Programme) -> None:
    body, statements = await run(settings, connection, app_engine, HOUSEHOLDS, first=50)
    edges = body["data"]["households"]["edges"]
    assert len(edges) == 50
    assert all(len(e["node"]["members"]) == 2 for e in edges)
    assert all(m["enrolments"] == [{"status": "ACTIVE", "programme": {"code": "PIP"}}]
               for e in edges for m in e["node"]["members"])
    assert len(statements) == HOUSEHOLDS_STATEMENTS, statements


async def test_households_statements_do_not_grow_with_page_size(
        settings: Settings, connection: AsyncConnection, app_engine: AsyncEngine, programme: Programme) -> None:
    counts = []
    for first in (10, 50):
        _, statements = await run(settings, connection, app_engine, HOUSEHOLDS, first=first)
        counts.append(len(statements))
    assert counts == [HOUSEHOLDS_STATEMENTS, HOUSEHOLDS_STATEMENTS]


PROGRAMME = """query($id: ID!, $first: Int!) { programme(id: $id) { code enrolments(first: $first) {
    totalCount edges { node { status household { registryId members { name } } } } } } }"""

# SAVEPOINT, set the scope, the programme, its enrolment page, the count, households, members, rollback.
PROGRAMME_STATEMENTS = 8 + AUDIT_STATEMENTS


async def test_programme_with_100_enrolments_and_their_households(
        settings: Settings, connection: AsyncConnection, app_engine: AsyncEngine, programme: Programme) -> None:
    body, statements = await run(settings, connection, app_engine, PROGRAMME,
                                 id=to_global_id("Programme", programme.id), first=100)
    enrolments = body["data"]["programme"]["enrolments"]
    assert enrolments["totalCount"] == 100
    assert len(enrolments["edges"]) == 100
    assert sorted(e["node"]["household"]["registryId"] for e in enrolments["edges"]) == [
        f"R{i:03d}" for i in range(100)]
    assert all(len(e["node"]["household"]["members"]) == 2 for e in enrolments["edges"])
    assert len(statements) == PROGRAMME_STATEMENTS, statements


async def test_programme_statements_do_not_grow_with_page_size(
        settings: Settings, connection: AsyncConnection, app_engine: AsyncEngine, programme: Programme) -> None:
    counts = []
    for first in (10, 50):
        _, statements = await run(settings, connection, app_engine, PROGRAMME,
                                  id=to_global_id("Programme", programme.id), first=first)
        counts.append(len(statements))
    assert counts == [PROGRAMME_STATEMENTS, PROGRAMME_STATEMENTS]


CATALOGUE = """{ programmes(first: 10) { nodes { code enrolments(first: 3) { totalCount
    pageInfo { hasNextPage } nodes { household { registryId } } } } } }"""

# SAVEPOINT, set the scope, programmes, one windowed page of enrolments for all programmes,
# the grouped count, households, rollback.
CATALOGUE_STATEMENTS = 7 + AUDIT_STATEMENTS


async def test_nested_enrolment_pages_are_one_statement_for_all_programmes(
        settings: Settings, connection: AsyncConnection, app_engine: AsyncEngine, programme: Programme) -> None:
    body, statements = await run(settings, connection, app_engine, CATALOGUE)
    programmes = body["data"]["programmes"]["nodes"]
    assert [p["code"] for p in programmes] == ["PIP", "PKH"]
    assert [p["enrolments"]["totalCount"] for p in programmes] == [200, 100]
    assert [len(p["enrolments"]["nodes"]) for p in programmes] == [3, 3]
    assert all(p["enrolments"]["pageInfo"]["hasNextPage"] for p in programmes)
    assert len(statements) == CATALOGUE_STATEMENTS, statements
