"""Configure and run the five mock systems together, on loopback only.

``python -m mocks [--config FILE]`` serves them until interrupted; ``MockSystems`` runs them in a
background thread for tests and the demo (ports 0 = any free port).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from mocks import dukcapil, programmes, siks_ng
from mocks.common import Credentials
from mocks.faults import FaultConfig
from mocks.world import World

SYSTEMS = ("siks-ng", "dukcapil", "education", "health", "baznas")
DEFAULT_PORTS = {"siks-ng": 8101, "dukcapil": 8102, "education": 8103, "health": 8104, "baznas": 8105}


@dataclass
class MockConfig:
    host: str = "127.0.0.1"
    seed: int = 42
    size: int = 300
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    # Development credentials for fake systems; the hub stores them encrypted like real ones.
    api_keys: dict[str, str] = field(default_factory=lambda: {
        "siks-ng": "siks-dev-key", "education": "pip-dev-key", "baznas": "baznas-dev-key"})
    oauth_clients: dict[str, list[str]] = field(default_factory=lambda: {
        "dukcapil": ["slrt-hub", "dukcapil-dev-secret"], "health": ["slrt-hub", "bpjs-dev-secret"]})
    faults: dict[str, FaultConfig] = field(default_factory=dict)
    dukcapil_quota: int = 600
    dukcapil_window: float = 60.0
    admin_token: str = "mock-admin"

    def __post_init__(self) -> None:
        if not ipaddress.ip_address(socket.gethostbyname(self.host)).is_loopback:
            raise ValueError(f"mock systems listen on loopback only, not {self.host!r}")

    @classmethod
    def from_file(cls, path: Path) -> MockConfig:
        data: dict[str, Any] = json.loads(path.read_text())
        faults = {k: FaultConfig(**v) for k, v in data.pop("faults", {}).items()}
        return cls(**data, faults=faults)

    def credentials(self, system: str) -> Credentials:
        headers = {"siks-ng": "X-API-Key", "education": "X-Api-Token", "baznas": "X-Baznas-Key"}
        creds = Credentials(header=headers.get(system, "X-API-Key"))
        if system in self.api_keys:
            creds.api_keys.add(self.api_keys[system])
        if system in self.oauth_clients:
            client_id, secret = self.oauth_clients[system]
            creds.oauth_clients[client_id] = secret
        return creds

    def client_credentials(self, system: str) -> dict[str, str]:
        """What the hub must be configured with to call ``system``."""
        if system in self.oauth_clients:
            client_id, secret = self.oauth_clients[system]
            return {"client_id": client_id, "client_secret": secret}
        return {"api_key": self.api_keys[system]}


def build_apps(config: MockConfig, world: World | None = None) -> dict[str, Starlette]:
    world = world or World.build(config.seed, config.size)
    faults = config.faults
    token = config.admin_token
    return {
        "siks-ng": siks_ng.create_app(world, config.credentials("siks-ng"), faults.get("siks-ng"), token),
        "dukcapil": dukcapil.create_app(world, config.credentials("dukcapil"), faults.get("dukcapil"), token,
                                        quota=config.dukcapil_quota, quota_window=config.dukcapil_window),
        "education": programmes.create_education_app(world, config.credentials("education"),
                                                     faults.get("education"), token),
        "health": programmes.create_health_app(world, config.credentials("health"), faults.get("health"), token),
        "baznas": programmes.create_baznas_app(world, config.credentials("baznas"), faults.get("baznas"), token),
    }


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class MockSystems:
    """The five servers on their sockets, served by uvicorn in one event loop."""

    def __init__(self, config: MockConfig, world: World | None = None) -> None:
        import uvicorn

        self.config = config
        self.world = world or World.build(config.seed, config.size)
        self.apps = build_apps(config, self.world)
        self.sockets = {name: _bind(config.host, config.ports.get(name, 0)) for name in SYSTEMS}
        self.servers = {
            name: uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
            for name, app in self.apps.items()
        }
        self._thread: threading.Thread | None = None

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"http://{self.config.host}:{sock.getsockname()[1]}" for name, sock in self.sockets.items()}

    async def serve(self) -> None:
        await asyncio.gather(*(self.servers[n].serve(sockets=[self.sockets[n]]) for n in SYSTEMS))

    def stop(self) -> None:
        for server in self.servers.values():
            server.should_exit = True

    @contextmanager
    def running(self) -> Iterator[dict[str, str]]:
        """Serve in a background thread for the duration of the block; yields the base URLs."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self.serve()), daemon=True)
        self._thread.start()
        for server in self.servers.values():
            while not server.started:
                if not self._thread.is_alive():
                    raise RuntimeError("mock systems failed to start")
                threading.Event().wait(0.01)
        try:
            yield self.urls
        finally:
            self.stop()
            self._thread.join(timeout=10)
            for sock in self.sockets.values():
                sock.close()
