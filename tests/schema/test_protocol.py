"""GraphQL over HTTP: media types, GET, and every limit refused before a resolver or SQL runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.config import Profile, Settings
from tests.fixtures.read_api import api_client, count_statements, principal

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
async def client(settings: Settings, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, connection, principal("33.14.01.2001")) as c:
        yield c


async def refused_without_sql(app_engine: AsyncEngine, client: httpx.AsyncClient, **request: Any) -> httpx.Response:
    with count_statements(app_engine) as counter:
        response = await client.request(**request)
    assert counter.statements == []
    return response


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


async def test_json_by_default_and_graphql_response_when_asked(client: httpx.AsyncClient) -> None:
    plain = await client.post("/graphql", json={"query": "{ __typename }"})
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "application/json"
    assert plain.json() == {"data": {"__typename": "Query"}}
    asked = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE})
    assert asked.status_code == 200
    assert asked.headers["content-type"] == GRAPHQL_RESPONSE
    assert asked.json() == {"data": {"__typename": "Query"}}


async def test_invalid_document_is_400_with_graphql_response_and_200_with_json(client: httpx.AsyncClient) -> None:
    bad = {"query": "{ noSuchField }"}
    asked = await client.post("/graphql", json=bad, headers={"accept": GRAPHQL_RESPONSE})
    assert asked.status_code == 400
    assert asked.headers["content-type"] == GRAPHQL_RESPONSE
    assert codes(asked) == ["GRAPHQL_VALIDATION_FAILED"]
    legacy = await client.post("/graphql", json=bad)
    assert legacy.status_code == 200
    assert codes(legacy) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_get_runs_queries(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_get_never_runs_a_mutation(app_engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    response = await refused_without_sql(app_engine, client, method="GET", url="/graphql",
                                         params={"query": "mutation { __typename }"})
    assert response.status_code == 400
    assert "mutations are not allowed when using GET" in response.text


async def test_body_over_1_mb_is_413(app_engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    padding = " " * 1_000_001
    declared = await refused_without_sql(app_engine, client, method="POST", url="/graphql",
                                         content=b'{"query": "{ __typename }' + padding.encode() + b'"}',
                                         headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert codes(declared) == ["REQUEST_TOO_LARGE"]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield b" " * 100_000

    streamed = await refused_without_sql(app_engine, client, method="POST", url="/graphql", content=chunks(),
                                         headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def nested(depth: int) -> str:
    inner = "id"
    for i in range(depth):
        inner = ("household { " if i % 2 else "members { ") + inner + " }"
    return '{ personByNik(nik: "3314010101900001") { ' + inner + " } }"


@pytest.mark.parametrize(("query", "code"), [
    (nested(14), "GRAPHQL_VALIDATION_FAILED"),
    ("{ programmes { " + " ".join(f"a{i}: totalCount" for i in range(31)) + " } }", "GRAPHQL_VALIDATION_FAILED"),
    ("{ " + " ".join("__typename" for _ in range(2001)) + " }", "GRAPHQL_PARSE_FAILED"),
    ("{ " + " ".join(f'p{i}: programmeByCode(code: "X") {{ code }}' for i in range(11)) + " }",
     "TOO_MANY_ROOT_FIELDS"),
], ids=["depth", "aliases", "tokens", "root-fields"])
async def test_limits_refuse_before_execution(app_engine: AsyncEngine, client: httpx.AsyncClient,
                                              query: str, code: str) -> None:
    response = await refused_without_sql(app_engine, client, method="POST", url="/graphql", json={"query": query})
    assert response.status_code == 200
    assert "data" not in response.json()
    assert codes(response) == [code]


async def test_queries_within_the_limits_run(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": nested(10)})
    assert response.json() == {"data": {"personByNik": None}}


async def test_dev_serves_introspection_and_graphiql(settings: Settings, connection: AsyncConnection) -> None:
    async with api_client(settings, connection, None) as client:
        schema = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
        ide = await client.get("/graphql", headers={"accept": "text/html"})
    assert schema.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert ide.status_code == 200
    assert "graphiql" in ide.text.lower()


async def test_prod_refuses_introspection_and_graphiql(tmp_path: Path, connection: AsyncConnection,
                                                       app_engine: AsyncEngine) -> None:
    prod = Settings(profile=Profile.prod, data_dir=tmp_path, database_url="postgresql://unused/unused",
                    credentials_key=SecretStr("k" * 32), token_secret=SecretStr("t" * 32))
    async with api_client(prod, connection, None) as client:
        schema = await refused_without_sql(app_engine, client, method="POST", url="/graphql",
                                           json={"query": "{ __schema { queryType { name } } }"})
        ide = await client.get("/graphql", headers={"accept": "text/html"})
    assert set(codes(schema)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "data" not in schema.json()
    assert ide.status_code == 404
