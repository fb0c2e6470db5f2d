"""Credentials at rest and base-URL rules, without a database."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hub.config import Profile, Settings
from hub.errors import Invalid
from hub.sync.secrets import CredentialsUnreadable, seal, unseal
from hub.sync.urls import validate_base_url


def settings(**kw: object) -> Settings:
    return Settings(profile=Profile.test, database_url="postgresql://unused/unused", **kw)  # type: ignore[arg-type]


def test_credentials_round_trip_and_are_not_readable_in_the_token() -> None:
    s = settings()
    token = seal(s, {"client_id": "hub", "client_secret": "s3cr3t-value"})
    assert b"s3cr3t-value" not in token
    assert unseal(s, token) == {"client_id": "hub", "client_secret": "s3cr3t-value"}


def test_another_key_cannot_read_them() -> None:
    token = seal(settings(), {"api_key": "k"})
    with pytest.raises(CredentialsUnreadable):
        unseal(settings(credentials_key=SecretStr("another-key")), token)


def test_schemes_come_from_a_comma_separated_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_CONNECTOR_URL_SCHEMES", "https")
    assert settings().connector_url_schemes == ["https"]


async def test_url_rules() -> None:
    assert await validate_base_url("http://127.0.0.1:8101/", settings()) == "http://127.0.0.1:8101"
    strict = settings(connector_allow_private_urls=False)
    for url in ("http://127.0.0.1:8101", "http://10.1.2.3", "http://169.254.169.254/latest", "http://localhost"):
        with pytest.raises(Invalid):
            await validate_base_url(url, strict)
    with pytest.raises(Invalid):
        await validate_base_url("file:///etc/passwd", settings())


def test_production_refuses_private_addresses_unless_told_otherwise() -> None:
    prod = dict(profile=Profile.prod, database_url="postgresql://db/hub", credentials_key=SecretStr("k" * 32),
                token_secret=SecretStr("t" * 32))
    assert Settings(**prod).allows_private_connector_urls is False  # type: ignore[arg-type]
    assert Settings(**prod, connector_allow_private_urls=True).allows_private_connector_urls is True  # type: ignore[arg-type]
