from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette

import schema.app as schema_app
from auth.principal import Role
from hub import tokens as hub_tokens
from hub.config import Settings
from tests.auth.fake_api import fake_schema

ClientFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256", "use": "sig"}, private=True)


@pytest.fixture(scope="session")
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "ec-1", "alg": "ES256", "use": "sig"}, private=True)


@pytest.fixture
def auth_settings(settings: Settings, tmp_path: Path, rsa_key: RSAKey, ec_key: ECKey) -> Settings:
    jwks = tmp_path / "trusted.jwks.json"
    jwks.write_text(json.dumps({"keys": [rsa_key.as_dict(private=False), ec_key.as_dict(private=False)]}))
    return settings.model_copy(update={"jwks_file": jwks, "cors_origins": ["https://dashboard.example.id"]})


@pytest.fixture
def mint(auth_settings: Settings) -> Callable[..., str]:
    def _mint(role: Role = Role.facilitator, regions: list[str] | None = None, **kw: Any) -> str:
        return hub_tokens.mint_dev_token(auth_settings, role, regions or ["33.14.01.2001"], **kw)
    return _mint


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_app, "build_schema", fake_schema)


@pytest.fixture
async def make_client(
    auth_settings: Settings, connection: AsyncConnection
) -> AsyncIterator[Callable[..., Any]]:
    """An HTTP client on the real app factory (default bearer authentication), bound to the test transaction."""
    stack: list[Any] = []

    async def _make(settings: Settings | None = None, bind: AsyncConnection | AsyncEngine | None = None,
                    **kw: Any) -> httpx.AsyncClient:
        app: Starlette = schema_app.create_app(settings or auth_settings, bind=bind or connection, **kw)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")
        stack.append((lifespan, client))
        return client

    yield _make
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)
