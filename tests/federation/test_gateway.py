"""End to end through a real gateway: hub and ministry subgraphs on loopback, one query across both.

The hub runs in this process (uvicorn on the test's event loop, on the test database as the app
role); the ministry subgraph and the gateway are child processes, as they would be deployed.
The hub's `authenticate` maps the Authorization header the gateway forwards to a principal, so
region scope is the caller's all the way through. Registry rows the hub must see from other
connections are committed (as the owner) for the module and deleted afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from auth.principal import Principal, RegionScope, Role
from hub.config import Profile, Settings
from hub.db.base import region_codes
from hub.db.engine import make_sessionmaker, set_scope
from hub.models import Household, Person, Relationship, Sex
from hub.seed.population import HouseholdRecord, Population
from mocks.ministry import data as ministry_data
from schema.app import create_app
from schema.ids import to_global_id
from tests.federation.conftest import FEDERATION, compose

TOKEN = "Bearer gateway-test-token"  # a facilitator of district 33.14.01
FACILITATOR_OF = "Bearer facilitator-of:"  # + a village code: a facilitator of that village
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SeenByHub:
    authorizations: list[str | None] = field(default_factory=list)
    request_ids: list[str | None] = field(default_factory=list)


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with loopback_socket() as sock:
        return int(sock.getsockname()[1])


async def wait_until_up(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            if process is not None and process.poll() is not None:
                raise AssertionError(f"{url}: process exited with {process.returncode}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def start(args: list[str], cwd: Path, **kwargs: object) -> subprocess.Popen[bytes]:
    # Arguments are this test's own: sys.executable or node, and a fixed script.
    return subprocess.Popen(args, cwd=cwd, **kwargs)  # type: ignore[call-overload]  # noqa: S603


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# Module scope: one hub, ministry and gateway serve every test here (the tests reset `seen`).
@pytest.fixture(scope="module")
async def hub_url(tmp_path_factory: pytest.TempPathFactory,
                  app_engine: AsyncEngine) -> AsyncIterator[tuple[str, SeenByHub]]:
    settings = Settings(profile=Profile.test, data_dir=tmp_path_factory.mktemp("hub"),
                        database_url="postgresql://unused/unused")
    seen = SeenByHub()

    async def authenticate(request: Request) -> Principal | None:
        seen.authorizations.append(request.headers.get("authorization"))
        seen.request_ids.append(request.headers.get("x-request-id"))
        authorization = request.headers.get("authorization") or ""
        if authorization == TOKEN:
            return Principal(subject="gateway-test", role=Role.facilitator, scope=RegionScope.of("33.14.01"))
        if authorization.startswith(FACILITATOR_OF):
            village = authorization.removeprefix(FACILITATOR_OF)
            return Principal(subject=f"facilitator-{village}", role=Role.facilitator, scope=RegionScope.of(village))
        return None

    app = create_app(settings, bind=app_engine, authenticate=authenticate)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="on"))
    sock = loopback_socket()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        await wait_until_up(url + "/healthz")
        yield url + "/graphql", seen
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="module")
async def ministry_url() -> AsyncIterator[str]:
    port = free_port()
    process = start([sys.executable, "-m", "mocks.ministry", "--port", str(port)], ROOT)
    try:
        await wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        stop(process)


@pytest.fixture(scope="module")
async def gateway_url(node: str, hub_url: tuple[str, SeenByHub], ministry_url: str,
                      tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    supergraph = tmp_path_factory.mktemp("gateway") / "supergraph.graphql"
    composed = compose(node, "--url", f"hub={hub_url[0]}", "--url", f"ministry={ministry_url}",
                       "--out", str(supergraph))
    assert composed.returncode == 0, composed.stderr
    process = start([node, "gateway.mjs"], FEDERATION, stdout=subprocess.PIPE,
                    env={**os.environ, "SUPERGRAPH": str(supergraph), "PORT": "0"})
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=30)
        started = json.loads(line)
        assert started["event"] == "gateway.listening"
        await wait_until_up(started["url"].replace("/graphql", "/healthcheck"), process)
        yield started["url"]
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()


async def query(url: str, text: str, **headers: str) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=20) as client:
        response = await client.post(url, json={"query": text}, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_query_spans_both_subgraphs_and_forwards_authorization(
    gateway_url: str, hub_url: tuple[str, SeenByHub]
) -> None:
    _, seen = hub_url
    seen.authorizations.clear()
    seen.request_ids.clear()

    # Starts in the ministry, which knows only region codes; names come from the hub via _entities.
    from_ministry = await query(
        gateway_url, "{ educationRegions { code name level education { schools pipRecipients } } }",
        authorization=TOKEN, **{"x-request-id": "req-ministry-first"})
    assert from_ministry == {"data": {"educationRegions": [
        {"code": "33", "name": "Jawa Tengah", "level": 1, "education": {"schools": 24310, "pipRecipients": 1210500}},
        {"code": "33.14", "name": "Kabupaten Sragen", "level": 2,
         "education": {"schools": 1020, "pipRecipients": 33900}},
        {"code": "33.14.01", "name": "Kalijambe", "level": 3, "education": {"schools": 58, "pipRecipients": 1830}},
        {"code": "33.14.02", "name": "Plupuh", "level": 3, "education": {"schools": 44, "pipRecipients": 1460}},
        {"code": "33.14.03", "name": "Masaran", "level": 3, "education": {"schools": 71, "pipRecipients": 2270}},
    ]}}
    # One batched _entities call to the hub for all five regions, carrying the caller's credentials.
    assert seen.authorizations == [TOKEN]
    assert seen.request_ids == ["req-ministry-first"]

    # Starts in the hub, the ministry adds its figures.
    from_hub = await query(gateway_url, '{ region(code: "33.14") { name education { students } } }',
                           authorization=TOKEN)
    assert from_hub == {"data": {"region": {"name": "Kabupaten Sragen", "education": {"students": 141800}}}}
    assert seen.authorizations == [TOKEN, TOKEN]


async def test_caller_without_credentials_reaches_the_hub_without_any(
    gateway_url: str, hub_url: tuple[str, SeenByHub]
) -> None:
    _, seen = hub_url
    seen.authorizations.clear()
    result = await query(gateway_url, '{ region(code: "33") { name } }')
    assert result == {"data": {"region": {"name": "Jawa Tengah"}}}
    # The gateway adds no credentials of its own: what the caller sent (nothing) is what the hub sees.
    assert seen.authorizations == [None]


# --- entities across subgraphs: the ministry's students are the hub's persons ---------------------

@dataclass(frozen=True)
class Students:
    """Two synthetic households with school-age members, committed to the hub's registry."""

    inside: HouseholdRecord  # in the facilitator's village
    outside: HouseholdRecord  # in another village of the same district

    def student_ids(self, household: HouseholdRecord) -> list[str]:
        ids = [to_global_id("Person", p.id) for p in household.persons]
        return [i for i in ids if i in ministry_data.school_enrolments()]


def two_households_with_students() -> tuple[HouseholdRecord, HouseholdRecord]:
    """The first two households of the ministry's population in one district, in different villages."""
    enrolled = ministry_data.school_enrolments()
    seen: dict[str, HouseholdRecord] = {}
    population = Population(ministry_data.POPULATION_SEED)
    for household in population.households(0, ministry_data.STUDENT_HOUSEHOLDS):
        if not any(to_global_id("Person", p.id) in enrolled for p in household.persons):
            continue
        first = seen.setdefault(household.district_code, household)
        if first.village_code != household.village_code:
            return first, household
    raise AssertionError("the ministry's population has no district with students in two villages")


@pytest.fixture(scope="module")
async def students(owner_engine: AsyncEngine) -> AsyncIterator[Students]:
    inside, outside = two_households_with_students()
    sessionmaker = make_sessionmaker(owner_engine)
    async with sessionmaker() as session, session.begin():
        await set_scope(session, Principal.system("tests"))
        for record in (inside, outside):
            session.add(Household(id=record.id, address=record.address, decile=record.decile,
                                  **region_codes(record.village_code)))
            await session.flush()
            for person in record.persons:
                session.add(Person(id=person.id, nik=person.nik, name=person.name, sex=Sex(person.sex),
                                   birth_date=person.birth_date, relationship_to_head=Relationship(person.relationship),
                                   household_id=record.id, **region_codes(record.village_code)))
    try:
        yield Students(inside, outside)
    finally:
        async with sessionmaker() as session, session.begin():
            await set_scope(session, Principal.system("tests"))
            await session.execute(delete(Household).where(Household.id.in_([inside.id, outside.id])))


async def test_ministry_students_resolve_from_the_hub_only_within_the_callers_region(
    gateway_url: str, hub_url: tuple[str, SeenByHub], students: Students
) -> None:
    _, seen = hub_url
    seen.authorizations.clear()
    token = FACILITATOR_OF + students.inside.village_code

    district = students.inside.district_code
    result = await query(gateway_url, f"""{{ schoolEnrolments(districtCode: "{district}") {{
        npsn grade student {{ id name household {{ villageCode }} }} }} }}""", authorization=token)

    enrolments = result["data"]["schoolEnrolments"]  # type: ignore[index]
    assert len(enrolments) == sum(1 for e in ministry_data.school_enrolments().values() if e.district_code == district)
    # A reference the hub resolves to null leaves the gateway a Person without its non-null hub fields:
    # it reports that once per such student and nulls `student` (nullable for this reason).
    unresolved = [i for i, e in enumerate(enrolments) if e["student"] is None]
    errors = result["errors"]  # type: ignore[index]
    assert [e["path"][:3] for e in errors] == [["schoolEnrolments", i, "student"] for i in unresolved]
    assert {e["message"] for e in errors} == {"Unexpected error."}  # masked by the gateway: nothing leaks
    resolved = {e["student"]["id"]: e["student"] for e in enrolments if e["student"] is not None}
    # Exactly the inside household's students come back from the hub, with the hub's own fields.
    names = {to_global_id("Person", p.id): p.name for p in students.inside.persons}
    assert resolved == {i: {"id": i, "name": names[i], "household": {"villageCode": students.inside.village_code}}
                        for i in students.student_ids(students.inside)}
    # The outside household's students exist in the hub, in the same district: for this caller, null.
    outside = set(students.student_ids(students.outside))
    assert outside
    assert outside.isdisjoint(resolved)
    # The hub saw the caller's credentials, not the gateway's: the scope was the caller's.
    assert seen.authorizations
    assert set(seen.authorizations) == {token}

    # A facilitator of the other village sees the other household's students and not the first's.
    # (`student { id }` alone would not reach the hub at all: the ID is the ministry's own data.)
    other = await query(gateway_url, f'{{ schoolEnrolments(districtCode: "{district}") {{ student {{ id name }} }} }}',
                        authorization=FACILITATOR_OF + students.outside.village_code)
    other_ids = {e["student"]["id"] for e in other["data"]["schoolEnrolments"]  # type: ignore[index]
                 if e["student"] is not None}
    assert other_ids == outside


async def test_hub_households_gain_the_ministrys_school_enrolment(
    gateway_url: str, students: Students
) -> None:
    village = students.inside.village_code
    result = await query(gateway_url, f"""{{ households(first: 5, filter: {{regionCode: "{village}"}}) {{
        nodes {{ id members {{ id schoolEnrolment {{ npsn level grade pipRecipient }} }} }} }} }}""",
                         authorization=FACILITATOR_OF + village)

    assert "errors" not in result, result
    nodes = result["data"]["households"]["nodes"]  # type: ignore[index]
    assert [n["id"] for n in nodes] == [to_global_id("Household", students.inside.id)]
    expected = {}
    for person in students.inside.persons:
        row = ministry_data.school_enrolments().get(to_global_id("Person", person.id))
        expected[to_global_id("Person", person.id)] = None if row is None else {
            "npsn": row.npsn, "level": row.level, "grade": row.grade, "pipRecipient": row.pip_recipient}
    assert {m["id"]: m["schoolEnrolment"] for m in nodes[0]["members"]} == expected
    assert any(expected.values())  # at least one member is a student
