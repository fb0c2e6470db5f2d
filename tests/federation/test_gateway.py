"""End to end through a real gateway: hub and ministry subgraphs on loopback, one query across both.

The hub runs in this process (uvicorn on the test's event loop, on the test database as the app
role); the ministry subgraph and the gateway are child processes, as they would be deployed.
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
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from auth.principal import Principal, RegionScope, Role
from hub.config import Profile, Settings
from schema.app import create_app
from tests.federation.conftest import FEDERATION, compose

TOKEN = "Bearer gateway-test-token"
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
        return Principal(subject="gateway-test", role=Role.facilitator, scope=RegionScope.of("33.14.01"))

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
