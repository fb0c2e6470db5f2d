"""Each contract suite runs twice: against the mock systems over real HTTP on loopback, and against
the same apps through ``httpx.MockTransport`` (no socket), so a client and a mock cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.factory import build_client
from connectors.http import ClientOptions, Credentials
from connectors.retry import RetryPolicy
from mocks.server import SYSTEMS, MockConfig, MockSystems, build_apps
from mocks.world import World

FAST = ClientOptions(timeout=5, retry=RetryPolicy(attempts=3, deadline=5, initial=0.01, maximum=0.05))


@dataclass
class Backend:
    name: str
    config: MockConfig
    world: World
    urls: dict[str, str]
    transports: dict[str, Callable[[], httpx.AsyncBaseTransport | None]]

    def client(self, system: str, credentials: dict[str, str] | None = None) -> Any:
        creds = Credentials.from_mapping(credentials or self.config.client_credentials(system))
        return build_client(system, self.urls[system], creds, options=FAST, transport=self.transports[system]())


@pytest.fixture(scope="session")
def mock_config() -> MockConfig:
    return MockConfig(ports=dict.fromkeys(SYSTEMS, 0), size=120, seed=7)


@pytest.fixture(scope="session")
def running_mocks(mock_config: MockConfig) -> Iterator[MockSystems]:
    systems = MockSystems(mock_config)
    with systems.running():
        yield systems


def _mock_transport(app: Any) -> Callable[[], httpx.AsyncBaseTransport]:
    def make() -> httpx.AsyncBaseTransport:
        asgi = httpx.ASGITransport(app=app)

        async def handler(request: httpx.Request) -> httpx.Response:
            response = await asgi.handle_async_request(request)
            await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=response.content)

        return httpx.MockTransport(handler)

    return make


@pytest.fixture(params=["loopback", "mock_transport"])
def backend(request: pytest.FixtureRequest, running_mocks: MockSystems, mock_config: MockConfig) -> Backend:
    if request.param == "loopback":
        return Backend("loopback", mock_config, running_mocks.world, running_mocks.urls,
                       dict.fromkeys(SYSTEMS, lambda: None))
    apps = build_apps(mock_config, running_mocks.world)
    urls = {name: f"http://{name}.mock" for name in SYSTEMS}
    return Backend("mock_transport", mock_config, running_mocks.world, urls,
                   {name: _mock_transport(app) for name, app in apps.items()})
