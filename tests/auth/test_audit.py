"""The access log: written for every personal-data operation, before the response; fail closed."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Role
from hub.audit.repository import AccessLogRepository
from hub.config import Settings
from hub.models import AccessLog, Household, Person
from schema.ids import to_global_id

pytestmark = pytest.mark.usefixtures("fake_api")

HOUSEHOLDS = "query Households { households { id address members { id name nik hasDisability } } }"
NO_IDS = "{ households { address members { name } } }"


async def entries(session: AsyncSession, exclude: set[uuid.UUID]) -> list[AccessLog]:
    rows = (await session.execute(select(AccessLog).order_by(AccessLog.logged_at).execution_options(
        populate_existing=True))).scalars().all()
    return [r for r in rows if r.id not in exclude]


async def existing(session: AsyncSession) -> set[uuid.UUID]:
    return set((await session.execute(select(AccessLog.id))).scalars().all())


@pytest.fixture
async def village(session: AsyncSession, factories: Any) -> tuple[Household, list[Person]]:
    home = await factories.make_household(session, "33.14.01.2001", address="Jl. Melati 1")
    people = [await factories.make_person(session, home, has_disability=True) for _ in range(3)]
    other = await factories.make_household(session, "33.14.02.2001", address="Jl. Mawar 9")
    await factories.make_person(session, other)
    return home, people


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_response_with_data_has_its_entry(
    make_client: Callable[..., Any], mint: Callable[..., str], session: AsyncSession,
    village: tuple[Household, list[Person]],
) -> None:
    home, people = village
    before = await existing(session)
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/graphql", json={"query": HOUSEHOLDS},
                                 headers=bearer(mint(Role.facilitator, ["33.14.01.2001"], subject="fas-1")))
    body = response.json()
    assert [h["address"] for h in body["data"]["households"]] == ["Jl. Melati 1"]  # the other village is out
    [entry] = await entries(session, before)
    assert entry.actor == "fas-1"
    assert entry.role == "facilitator"
    assert entry.scope == ["33.14.01.2001"]
    assert entry.purpose == "development"
    assert entry.outcome == "allowed"
    assert entry.operation_name == "Households"
    assert entry.operation_type == "query"
    assert entry.document_hash == hashlib.sha256(HOUSEHOLDS.encode()).hexdigest()
    assert sorted(entry.person_ids) == sorted(p.id for p in people)
    assert entry.household_ids == [home.id]
    assert {"Household.address", "Person.nik", "Person.hasDisability", "Query.households"} <= set(entry.fields)
    assert entry.source_ip == "127.0.0.1"
    assert entry.seq is None  # pending until the sealer runs


async def test_records_are_found_even_when_no_id_is_selected(
    make_client: Callable[..., Any], mint: Callable[..., str], session: AsyncSession,
    village: tuple[Household, list[Person]],
) -> None:
    home, people = village
    before = await existing(session)
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/graphql", json={"query": NO_IDS}, headers=bearer(mint(Role.facilitator)))
    [household] = response.json()["data"]["households"]
    assert household.keys() == {"address", "members"}  # the ids the log needed are not sent
    assert all(member.keys() == {"name"} for member in household["members"])
    [entry] = await entries(session, before)
    assert sorted(entry.person_ids) == sorted(p.id for p in people)
    assert entry.household_ids == [home.id]


@pytest.mark.parametrize("query", [
    # With its own id selected, the caller's alias made the log skip that id as "already counted":
    # addresses, names and NIKs left with an entry naming no household and no person.
    "{ households { id address _auditIdHousehold: address members { id name nik _auditIdPerson: name } } }",
    # Without: the alias collides with the injected id selection, and the caller's field wins.
    "{ households { _auditIdHousehold: address members { _auditIdPerson: name } } }",
    # Another type's alias: the household would be logged as a person.
    "{ households { _auditIdPerson: id address } }",
])
async def test_the_logs_own_response_names_are_refused_before_execution(
    make_client: Callable[..., Any], mint: Callable[..., str], session: AsyncSession,
    village: tuple[Household, list[Person]], query: str,
) -> None:
    before = await existing(session)
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/graphql", json={"query": query}, headers=bearer(mint(Role.facilitator)))
    body = response.json()
    assert body.get("data") is None  # no address or name leaves unrecorded
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    assert await entries(session, before) == []  # nothing was read, so nothing to record


async def test_masking_applies_through_the_api(
    make_client: Callable[..., Any], mint: Callable[..., str], village: tuple[Household, list[Person]],
) -> None:
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/graphql", json={"query": HOUSEHOLDS},
                                 headers=bearer(mint(Role.province_officer, ["33"])))
    members = [m for h in response.json()["data"]["households"] for m in h["members"]]
    assert len(members) == 4
    assert all(m["nik"].startswith("3314") and "*" * 10 in m["nik"] for m in members)
    assert all(m["hasDisability"] is None for m in members)


@pytest.mark.parametrize(("role", "regions", "code"), [
    (Role.auditor, ["*"], "FORBIDDEN"),
    (Role.district_it_admin, ["33.14"], "FORBIDDEN"),
    (None, None, "UNAUTHENTICATED"),
])
async def test_a_denied_request_has_its_entry(
    make_client: Callable[..., Any], mint: Callable[..., str], session: AsyncSession,
    village: tuple[Household, list[Person]], role: Role | None, regions: list[str] | None, code: str,
) -> None:
    before = await existing(session)
    client: httpx.AsyncClient = await make_client()
    headers = bearer(mint(role, regions)) if role else {}
    response = await client.post("/graphql", json={"query": HOUSEHOLDS}, headers=headers)
    assert response.json()["data"] is None
    [entry] = await entries(session, before)
    assert entry.outcome == "denied"
    assert entry.error_codes == [code]
    assert entry.person_ids == []
    assert entry.actor == (f"dev-{role.value}" if role else None)


async def test_operations_without_personal_data_are_not_logged(
    make_client: Callable[..., Any], mint: Callable[..., str], session: AsyncSession,
) -> None:
    before = await existing(session)
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/graphql", json={"query": "{ regions { code } }"}, headers=bearer(mint()))
    assert response.status_code == 200
    assert await entries(session, before) == []


async def test_fail_closed_when_the_entry_cannot_be_written(
    make_client: Callable[..., Any], mint: Callable[..., str], village: tuple[Household, list[Person]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(self: AccessLogRepository, rows: list[dict[str, Any]]) -> None:
        await self.session.execute(text("INSERT INTO access_logs_does_not_exist VALUES (1)"))
        raise AssertionError("unreachable")

    monkeypatch.setattr(AccessLogRepository, "insert_many", broken)
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/graphql", json={"query": HOUSEHOLDS}, headers=bearer(mint()))
    body = response.json()
    assert body.get("data") is None  # no data leaves: the key is null or absent
    assert [e["message"] for e in body["errors"]] == ["The access could not be recorded, so no data is returned."]
    _, people = village
    assert "Melati" not in response.text
    assert all(p.name not in response.text and p.nik not in response.text for p in people)


async def test_returned_records_count_against_the_object_budget(
    make_client: Callable[..., Any], mint: Callable[..., str], auth_settings: Settings,
    village: tuple[Household, list[Person]],
) -> None:
    client: httpx.AsyncClient = await make_client(auth_settings.model_copy(update={"rate_limit_objects_per_minute": 3}))
    headers = bearer(mint())
    assert (await client.post("/graphql", json={"query": NO_IDS}, headers=headers)).status_code == 200
    limited = await client.post("/graphql", json={"query": NO_IDS}, headers=headers)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


ACCESS_LOGS = """query Logs($filter: AccessLogFilterInput, $after: String) {
  accessLogs(filter: $filter, first: 1, after: $after) {
    nodes { actor outcome personIds householdIds fields operationName }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_auditor_answers_who_read_a_nik_and_is_audited_too(
    make_client: Callable[..., Any], mint: Callable[..., str], session: AsyncSession,
    village: tuple[Household, list[Person]],
) -> None:
    home, people = village
    client: httpx.AsyncClient = await make_client()
    for subject in ("fas-a", "fas-b"):
        await client.post("/graphql", json={"query": HOUSEHOLDS}, headers=bearer(mint(subject=subject)))
    before = await existing(session)
    auditor = bearer(mint(Role.auditor, ["*"], subject="aud-1"))
    seen = []
    after = None
    while True:
        response = await client.post("/graphql", headers=auditor, json={
            "query": ACCESS_LOGS, "variables": {"filter": {"personNik": people[0].nik}, "after": after}})
        page = response.json()["data"]["accessLogs"]
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [n["actor"] for n in seen] == ["fas-b", "fas-a"]  # newest first, one per page
    assert all(to_global_id("Person", people[0].id) in n["personIds"] for n in seen)
    by_household = await client.post("/graphql", headers=auditor, json={
        "query": ACCESS_LOGS, "variables": {"filter": {"householdId": to_global_id("Household", home.id),
                                                       "actor": "fas-a"}}})
    assert [n["actor"] for n in by_household.json()["data"]["accessLogs"]["nodes"]] == ["fas-a"]
    own = [e for e in await entries(session, before) if e.actor == "aud-1"]
    assert len(own) == 3  # two pages plus the household query
    assert all("AccessLogConnection.nodes" in e.fields and e.outcome == "allowed" for e in own)


async def test_only_auditors_read_the_log(
    make_client: Callable[..., Any], mint: Callable[..., str], session: AsyncSession,
) -> None:
    before = await existing(session)
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/graphql", headers=bearer(mint(Role.national_officer, ["*"])),
                                 json={"query": ACCESS_LOGS})
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    [entry] = await entries(session, before)
    assert (entry.outcome, entry.error_codes) == ("denied", ["FORBIDDEN"])


async def test_a_refused_token_is_logged_as_denied(
    make_client: Callable[..., Any], session: AsyncSession,
) -> None:
    before = await existing(session)
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/graphql", json={"query": HOUSEHOLDS}, headers=bearer("forged.token.here"))
    assert response.status_code == 401
    [entry] = await entries(session, before)
    assert (entry.outcome, entry.error_codes, entry.actor) == ("denied", ["INVALID_TOKEN"], None)
