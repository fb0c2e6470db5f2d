from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.config import Settings
from schema.ids import to_global_id
from tests.fixtures.factories import make_household, make_person
from tests.fixtures.read_api import api_client, make_enrolment, make_programme, principal

VILLAGE_A = "33.14.01.2001"
VILLAGE_B = "33.14.01.2002"


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_households_with_members_and_enrolments(settings: Settings, connection: AsyncConnection,
                                                      session: AsyncSession) -> None:
    household = await make_household(session, VILLAGE_A, decile=2)
    head = await make_person(session, household, name="Siti")
    programme = await make_programme(session, code="PKH")
    await make_enrolment(session, programme, household, head)
    async with api_client(settings, connection, principal(VILLAGE_A)) as client:
        body = await gql(client, """{ households(first: 5) { totalCount edges { node { id decile
            members { name enrolments { status programme { code } } } } } } }""")
    assert body == {"data": {"households": {"totalCount": 1, "edges": [{"node": {
        "id": to_global_id("Household", household.id), "decile": 2,
        "members": [{"name": "Siti", "enrolments": [{"status": "ACTIVE", "programme": {"code": "PKH"}}]}]}}]}}}
