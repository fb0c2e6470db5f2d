"""One place for every setting. Read from the environment with the ``SLRT_`` prefix."""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Self

import platformdirs
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

DEV_CREDENTIALS_KEY = "dev-only-credentials-key-change-me"  # refused by the prod profile
DEV_TOKEN_SECRET = "dev-only-token-secret-change-me"  # noqa: S105  (refused by the prod profile)
APP_DB_ROLE = "slrt_app"


class Profile(StrEnum):
    dev = "dev"
    test = "test"
    prod = "prod"


class UnsafeSettings(ValueError):
    pass


def _default_data_dir() -> Path:
    return platformdirs.user_data_path("slrt-hub", appauthor=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLRT_", env_file=".env", extra="ignore")

    profile: Profile = Profile.dev
    database_url: str | None = Field(
        default=None,
        description="Owner connection (runs migrations). Absent: an embedded PostgreSQL under data_dir.",
    )
    app_database_url: str | None = Field(
        default=None,
        description="Connection the API uses: a role that is neither the table owner nor a superuser, "
        "so PostgreSQL row-level security applies. Absent: database_url with the user "
        f"replaced by '{APP_DB_ROLE}'.",
    )
    app_db_password: SecretStr | None = None
    data_dir: Path = Field(default_factory=_default_data_dir)
    db_pool_size: int = 10
    db_max_overflow: int = 5
    credentials_key: SecretStr = SecretStr(DEV_CREDENTIALS_KEY)
    token_secret: SecretStr = SecretStr(DEV_TOKEN_SECRET)
    token_issuer: str = "slrt-hub"  # noqa: S105  (an issuer name, not a secret)
    token_audience: str = "slrt-hub-api"  # noqa: S105  (an audience name, not a secret)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 2000
    graphql_max_root_fields: int = 10
    graphql_max_body_bytes: int = 1_000_000
    page_max: int = 100
    small_cell_threshold: int = Field(
        default=5, ge=2,
        description="Aggregate counts below this are suppressed, and the rest rounded to a multiple of it, "
        "for roles below regency level (facilitator, supervisor), so small groups cannot be singled out.",
    )
    host: str = "127.0.0.1"
    port: int = 8000

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("cors_origins"), str):
            raw = data["cors_origins"]
            data = {**data, "cors_origins": [o.strip() for o in raw.split(",") if o.strip()]}
        return data

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.profile is not Profile.prod:
            return self
        problems = []
        if self.credentials_key.get_secret_value() == DEV_CREDENTIALS_KEY:
            problems.append("SLRT_CREDENTIALS_KEY is the development default")
        if self.token_secret.get_secret_value() == DEV_TOKEN_SECRET:
            problems.append("SLRT_TOKEN_SECRET is the development default")
        if not self.database_url:
            problems.append("SLRT_DATABASE_URL is required (the embedded PostgreSQL is for development)")
        if "*" in self.cors_origins:
            problems.append("SLRT_CORS_ORIGINS may not contain '*'")
        if problems:
            raise UnsafeSettings("refusing to start the production profile: " + "; ".join(problems))
        return self

    @property
    def is_dev(self) -> bool:
        return self.profile is not Profile.prod

    @cached_property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"


def to_async_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def app_url_from_owner(owner_url: str, password: str | None) -> str:
    parsed = make_url(to_async_url(owner_url)).set(username=APP_DB_ROLE, password=password)
    return parsed.render_as_string(hide_password=False)
