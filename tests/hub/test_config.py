from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.config import Profile, Settings, app_url_from_owner, to_async_url


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Settings(profile=Profile.prod, database_url="postgresql://db/slrt", _env_file=None)
    message = str(excinfo.value)
    assert "SLRT_CREDENTIALS_KEY is the development default" in message
    assert "SLRT_TOKEN_SECRET is the development default" in message


def test_production_requires_a_database_url() -> None:
    with pytest.raises(ValidationError, match="SLRT_DATABASE_URL is required"):
        Settings(profile=Profile.prod, credentials_key="k" * 32, token_secret="t" * 32, _env_file=None)


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(profile=Profile.prod, credentials_key="k" * 32, token_secret="t" * 32,
                        database_url="postgresql://db/slrt", _env_file=None)
    assert settings.is_dev is False


def test_production_refuses_to_switch_the_access_log_off() -> None:
    # The benchmarks measure the hub with audit_reads=False; production must never run that way.
    with pytest.raises(ValidationError, match="SLRT_AUDIT_READS may not be false"):
        Settings(profile=Profile.prod, credentials_key="k" * 32, token_secret="t" * 32,
                 database_url="postgresql://db/slrt", audit_reads=False, _env_file=None)


def test_environment_is_read_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("SLRT_PAGE_MAX", "50")
    settings = Settings(_env_file=None)
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.page_max == 50


def test_app_url_swaps_in_the_app_role() -> None:
    assert to_async_url("postgresql://postgres@h:5432/db") == "postgresql+asyncpg://postgres@h:5432/db"
    assert app_url_from_owner("postgresql://owner:pw@h/db", None) == "postgresql+asyncpg://slrt_app@h/db"
    assert app_url_from_owner("postgresql://owner:pw@h/db", "s3") == "postgresql+asyncpg://slrt_app:s3@h/db"
