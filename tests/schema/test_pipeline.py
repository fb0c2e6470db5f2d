"""The direct path for JSON POSTs (schema.pipeline) answers exactly as strawberry's view does, and
everything it does not handle still reaches that view."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.applications import Starlette

from auth.principal import Principal
from hub.config import Settings
from hub.models import AccessLog
from schema.app import create_app
from schema.ids import to_global_id
from schema.pipeline import DirectGraphQL
from tests.fixtures.read_api import principal

GRAPHQL_RESPONSE = "application/graphql-response+json"


def direct(app: Starlette) -> DirectGraphQL:
    route = next(r for r in app.routes if getattr(r, "path", None) == "/graphql")
    endpoint = route.app.app  # type: ignore[attr-defined]  # Route -> BodyLimit -> DirectGraphQL
    assert isinstance(endpoint, DirectGraphQL)
    return endpoint


class Spy:
    """Counts the requests that reach strawberry's view."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


@asynccontextmanager
async def client_for(settings: Settings, connection: AsyncConnection, caller: Principal | None,
                     *, enabled: bool) -> AsyncIterator[tuple[httpx.AsyncClient, DirectGraphQL, Spy]]:
    async def authenticate(request: object) -> Principal | None:
        return caller

    app = create_app(settings, bind=connection, authenticate=authenticate)
    endpoint = direct(app)
    endpoint.enabled = enabled
    spy = endpoint.fallback = Spy(endpoint.fallback)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield client, endpoint, spy


@pytest.fixture
async def village(session: AsyncSession, factories: Any) -> dict[str, str]:
    home = await factories.make_household(session, "33.14.01.2001", address="Jl. Melati 1")
    head = await factories.make_person(session, home, nik="3314014101900001")
    other = await factories.make_household(session, "33.14.02.2001")
    await factories.make_person(session, other, nik="3314024101900002")
    return {"home": to_global_id("Household", home.id), "other": to_global_id("Household", other.id),
            "nik": head.nik}


Request = Callable[[dict[str, str]], dict[str, Any]]

# Each: keyword arguments for httpx's request, given the village's ids.
REQUESTS: list[tuple[str, Request]] = [
    ("data with nesting", lambda v: {"json": {
        "query": "query Home($id: ID!) { household(id: $id) { id address members { name nik } } }",
        "variables": {"id": v["home"]}}}),
    ("out of scope reads as missing", lambda v: {"json": {
        "query": "query($id: ID!) { household(id: $id) { id } }", "variables": {"id": v["other"]}}}),
    ("a list with a connection", lambda v: {"json": {
        "query": "{ households(first: 5) { totalCount nodes { id registryId } pageInfo { hasNextPage } } }"}}),
    ("an error with a code", lambda v: {"json": {"query": '{ personByNik(nik: "12") { name } }'}}),
    ("an error and data", lambda v: {"json": {
        "query": 'query($nik: String!) { a: personByNik(nik: $nik) { name } b: personByNik(nik: "x") { name } }',
        "variables": {"nik": v["nik"]}}}),
    ("a validation error", lambda v: {"json": {"query": "query Broken { noSuchField }"}}),
    ("a validation error, graphql-response", lambda v: {"json": {"query": "{ noSuchField }"},
                                                         "headers": {"accept": GRAPHQL_RESPONSE}}),
    ("a syntax error", lambda v: {"json": {"query": "{ households( }"}}),
    ("a variable of the wrong type", lambda v: {"json": {
        "query": "query($id: ID!) { household(id: $id) { id } }", "variables": {"id": 5}}}),
    ("a missing variable", lambda v: {"json": {"query": "query($id: ID!) { household(id: $id) { id } }"}}),
    ("too deep", lambda v: {"json": {"query": "{ households { nodes { " + "members { household { " * 6 + "id"
                                              + " } }" * 6 + " } } }"}}),
    ("a named operation among several", lambda v: {"json": {
        "query": "query A { __typename } query B { programmes { totalCount } }", "operationName": "B"}}),
    ("a reserved response name", lambda v: {"json": {"query": "{ households { nodes { _auditIdX: id } } }"}}),
    ("a mutation's typed error", lambda v: {"json": {
        "query": 'mutation($id: ID!) { recordComplaint(input: {householdId: $id, category: "not_received"}) '
                 "{ __typename ... on UserError { code message } } }", "variables": {"id": v["other"]}}}),
]


async def send(client: httpx.AsyncClient, request: dict[str, Any]) -> tuple[int, str, Any]:
    response = await client.post("/graphql", **request)
    return response.status_code, response.headers["content-type"], response.json()


def counted() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The GraphQL request and error counters, by label."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for metric in REGISTRY.collect() if metric.name in ("slrt_graphql_requests", "slrt_graphql_errors")
            for sample in metric.samples if sample.name.endswith("_total")}


def grown(before: dict[Any, float], after: dict[Any, float]) -> dict[Any, float]:
    return {key: value - before.get(key, 0.0) for key, value in after.items() if value != before.get(key, 0.0)}


async def log_size(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(AccessLog))).scalar_one())


@pytest.mark.parametrize(("name", "request_"), REQUESTS, ids=[name for name, _ in REQUESTS])
async def test_the_direct_path_answers_as_strawberrys_view(
    settings: Settings, connection: AsyncConnection, session: AsyncSession, village: dict[str, str],
    name: str, request_: Request,
) -> None:
    caller = principal("33.14.01")
    answers, logged, metrics = [], [], []
    for enabled in (True, False):
        async with client_for(settings, connection, caller, enabled=enabled) as (client, _, spy):
            before, counters = await log_size(session), counted()
            answers.append(await send(client, request_(village)))
            logged.append(await log_size(session) - before)
            metrics.append(grown(counters, counted()))
            assert spy.calls == (0 if enabled else 1)
    assert answers[0] == answers[1]
    assert logged[0] == logged[1]  # access-log entries written
    assert metrics[0] == metrics[1]  # operations and errors counted, by code


async def test_the_direct_path_parses_and_validates_a_query_once(
    settings: Settings, connection: AsyncConnection, village: dict[str, str],
) -> None:
    async with client_for(settings, connection, principal("33.14.01"), enabled=True) as (client, endpoint, spy):
        for _ in range(3):
            status, _, body = await send(client, {"json": {"query": "{ households { totalCount } }"}})
            assert (status, body) == (200, {"data": {"households": {"totalCount": 1}}})
        info = endpoint.prepare.cache_info()  # type: ignore[attr-defined]
        assert (info.misses, info.hits) == (1, 2)
        assert spy.calls == 0


async def test_everything_else_reaches_strawberrys_view(
    settings: Settings, connection: AsyncConnection, village: dict[str, str],
) -> None:
    async with client_for(settings, connection, principal("33.14.01"), enabled=True) as (client, _, spy):
        get = await client.get("/graphql", params={"query": "{ __typename }"})
        assert (get.status_code, get.json(), spy.calls) == (200, {"data": {"__typename": "Query"}}, 1)
        batch = await client.post("/graphql", json=[{"query": "{ __typename }"}])
        assert (batch.status_code, spy.calls) == (400, 2)
        unknown = await client.post("/graphql", json={"query": "query A { __typename }", "operationName": "B"})
        assert (unknown.status_code, spy.calls) == (400, 3)
        broken = await client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
        assert (broken.status_code, spy.calls) == (400, 4)
        extended = await client.post("/graphql", json={"query": "{ __typename }", "extensions": {}})
        assert (extended.json(), spy.calls) == ({"data": {"__typename": "Query"}}, 5)
