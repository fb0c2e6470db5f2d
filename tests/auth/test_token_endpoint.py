from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Role
from hub.clients import service as client_service
from hub.config import Settings
from hub.errors import Conflict, Invalid
from hub.models import ApiClient

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def registered(session: AsyncSession) -> client_service.Registration:
    registration = await client_service.create(
        session, client_id="bpjs-kis", name="BPJS Kesehatan", role=Role.ministry_system, regions=["*"],
        programmes=["PBI-JK"], purpose="PBI-JK membership reconciliation")
    await session.commit()
    return registration


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode(), **FORM}


async def test_client_credentials_grant_issues_a_working_token(
    make_client: Callable[..., Any], registered: client_service.Registration, auth_settings: Settings
) -> None:
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/oauth/token", content="grant_type=client_credentials",
                                 headers=basic("bpjs-kis", registered.secret))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == auth_settings.token_ttl_seconds
    principal = await client._transport.app.state.auth.verifier.verify(body["access_token"])  # type: ignore[attr-defined]
    assert principal.role is Role.ministry_system
    assert principal.client_id == "bpjs-kis"
    assert principal.programmes == {"PBI-JK"}
    assert principal.purpose == "PBI-JK membership reconciliation"
    graphql = await client.post("/graphql", json={"query": "{ regions { code } }"},
                                headers={"authorization": f"Bearer {body['access_token']}"})
    assert graphql.status_code == 200


async def test_secret_in_the_body_works_too(
    make_client: Callable[..., Any], registered: client_service.Registration
) -> None:
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/oauth/token", headers=FORM, data={
        "grant_type": "client_credentials", "client_id": "bpjs-kis", "client_secret": registered.secret})
    assert response.status_code == 200


@pytest.mark.parametrize("secret", ["wrong", ""])
async def test_bad_secret(make_client: Callable[..., Any], registered: client_service.Registration,
                          secret: str) -> None:
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/oauth/token", content="grant_type=client_credentials",
                                 headers=basic("bpjs-kis", secret))
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_unknown_client_answers_like_a_bad_secret(make_client: Callable[..., Any]) -> None:
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/oauth/token", content="grant_type=client_credentials",
                                 headers=basic("nobody", "x"))
    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})


async def test_revoked_client(make_client: Callable[..., Any], registered: client_service.Registration,
                              session: AsyncSession) -> None:
    await client_service.revoke(session, "bpjs-kis")
    await session.commit()
    client: httpx.AsyncClient = await make_client()
    response = await client.post("/oauth/token", content="grant_type=client_credentials",
                                 headers=basic("bpjs-kis", registered.secret))
    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})


@pytest.mark.parametrize(("body", "headers", "status", "error"), [
    ("grant_type=password&username=a&password=b", None, 400, "unsupported_grant_type"),
    ("grant_type=authorization_code&code=x", None, 400, "unsupported_grant_type"),
    ("scope=read", None, 400, "invalid_request"),
    ("grant_type=client_credentials&grant_type=client_credentials", None, 400, "invalid_request"),
    ('{"grant_type": "client_credentials"}', {"content-type": "application/json"}, 400, "invalid_request"),
])
async def test_malformed_requests(make_client: Callable[..., Any], registered: client_service.Registration,
                                  body: str, headers: dict[str, str] | None, status: int, error: str) -> None:
    client: httpx.AsyncClient = await make_client()
    auth = basic("bpjs-kis", registered.secret)
    response = await client.post("/oauth/token", content=body, headers={**auth, **(headers or {})})
    assert response.status_code == status
    assert response.json()["error"] == error


async def test_secrets_are_stored_as_argon2_hashes(session: AsyncSession,
                                                   registered: client_service.Registration) -> None:
    row = await session.get(ApiClient, registered.client.id)
    assert row is not None
    assert row.secret_hash.startswith("$argon2id$")
    assert registered.secret not in row.secret_hash


async def test_registration_rules(session: AsyncSession, registered: client_service.Registration) -> None:
    with pytest.raises(Conflict):
        await client_service.create(session, client_id="bpjs-kis", name="x", role=Role.ministry_system,
                                    regions=["*"], programmes=["PBI-JK"], purpose="p")
    with pytest.raises(Invalid):
        await client_service.create(session, client_id="admin", name="x", role=Role.national_officer,
                                    regions=["*"], purpose="p")
    with pytest.raises(Invalid):
        await client_service.create(session, client_id="app-1", name="x", role=Role.api_client,
                                    regions=["33.14"], purpose=" ")
    with pytest.raises(Invalid):
        await client_service.create(session, client_id="../x", name="x", role=Role.api_client,
                                    regions=["33.14"], purpose="p")


REGISTER = """mutation Register($input: RegisterApiClientInput!) {
  registerApiClient(input: $input) {
    __typename
    ... on ApiClientRegistration { clientSecret client { clientId role regions programmes purpose active } }
    ... on UserError { code message field }
  }
}"""
REVOKE = "mutation { revokeApiClient(clientId: \"dinsos-app\") { __typename ... on ApiClient { active } } }"
INPUT = {"clientId": "dinsos-app", "name": "Dinas Sosial Sragen", "role": "API_CLIENT", "regions": ["33.14"],
         "purpose": "case follow-up in Sragen"}


async def test_national_officer_manages_clients_through_graphql(
    make_client: Callable[..., Any], mint: Callable[..., str]
) -> None:
    client: httpx.AsyncClient = await make_client()
    admin = {"authorization": f"Bearer {mint(Role.national_officer, ['*'])}"}
    response = await client.post("/graphql", headers=admin, json={"query": REGISTER, "variables": {"input": INPUT}})
    result = response.json()["data"]["registerApiClient"]
    assert result["__typename"] == "ApiClientRegistration"
    assert result["client"] == {"clientId": "dinsos-app", "role": "API_CLIENT", "regions": ["33.14"],
                                "programmes": [], "purpose": "case follow-up in Sragen", "active": True}
    token = await client.post("/oauth/token", content="grant_type=client_credentials",
                              headers=basic("dinsos-app", result["clientSecret"]))
    assert token.status_code == 200
    listed = await client.post("/graphql", headers=admin,
                               json={"query": "{ apiClients(first: 100) { nodes { clientId } } }"})
    # (other tests, e.g. the CLI's, may have committed clients of their own)
    assert {"clientId": "dinsos-app"} in listed.json()["data"]["apiClients"]["nodes"]
    revoked = await client.post("/graphql", headers=admin, json={"query": REVOKE})
    assert revoked.json()["data"]["revokeApiClient"] == {"__typename": "ApiClient", "active": False}
    again = await client.post("/oauth/token", content="grant_type=client_credentials",
                              headers=basic("dinsos-app", result["clientSecret"]))
    assert again.status_code == 401


@pytest.mark.parametrize("role", [Role.facilitator, Role.auditor, None])
async def test_others_cannot_manage_clients(make_client: Callable[..., Any], mint: Callable[..., str],
                                            role: Role | None) -> None:
    client: httpx.AsyncClient = await make_client()
    regions = {Role.facilitator: ["33.14.01.2001"], Role.auditor: ["*"]}
    headers = {"authorization": f"Bearer {mint(role, regions[role])}"} if role else {}
    response = await client.post("/graphql", headers=headers, json={"query": REGISTER, "variables": {"input": INPUT}})
    result = response.json()["data"]["registerApiClient"]
    assert result["code"] == ("FORBIDDEN" if role else "UNAUTHENTICATED")
    listed = await client.post("/graphql", headers=headers, json={
        "query": "{ apiClients { totalCount pageInfo { hasNextPage } nodes { clientId } } }"})
    assert listed.json()["data"]["apiClients"] == {"totalCount": 0, "pageInfo": {"hasNextPage": False},
                                                   "nodes": []}


async def test_registration_input_is_checked(make_client: Callable[..., Any], mint: Callable[..., str]) -> None:
    client: httpx.AsyncClient = await make_client()
    admin = {"authorization": f"Bearer {mint(Role.national_officer, ['*'])}"}
    bad = {**INPUT, "role": "MINISTRY_SYSTEM"}  # a ministry system needs programmes
    response = await client.post("/graphql", headers=admin, json={"query": REGISTER, "variables": {"input": bad}})
    assert response.json()["data"]["registerApiClient"]["code"] == "INVALID_INPUT"
