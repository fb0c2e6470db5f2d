"""One place for every setting. Read from the environment with the ``SLRT_`` prefix."""

from __future__ import annotations

import os
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, Self

import platformdirs
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

DEV_CREDENTIALS_KEY = "dev-only-credentials-key-change-me"  # refused by the prod profile
DEV_TOKEN_SECRET = "dev-only-token-secret-change-me"  # noqa: S105  (refused by the prod profile)
APP_DB_ROLE = "slrt_app"
DEFAULT_SLA_HOURS = {"refer": 72, "decide": 14 * 24, "study": 30 * 24, "inform": 7 * 24}


class Profile(StrEnum):
    dev = "dev"
    test = "test"
    prod = "prod"


class UnsafeSettings(ValueError):
    pass


def _default_data_dir() -> Path:
    return platformdirs.user_data_path("slrt-hub", appauthor=False)


class Settings(BaseSettings):
    # SLRT_SECRETS_DIR: a directory of files named like the variables (``slrt_token_secret``), as
    # Docker and Kubernetes mount secrets; a variable in the environment still wins.
    model_config = SettingsConfigDict(env_prefix="SLRT_", env_file=".env", extra="ignore",
                                      secrets_dir=os.environ.get("SLRT_SECRETS_DIR") or None)

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
    # "compiled": schema.executor's compiled plans; "core": graphql-core's executor, as a reference
    # (the suite runs under both: SLRT_GRAPHQL_EXECUTOR=core).
    graphql_executor: Literal["compiled", "core"] = "compiled"
    page_max: int = 100
    # Hours each case step may take before the case is overdue (hub.workflow.rules.CaseStep).
    # Override one step with e.g. SLRT_SLA_HOURS='{"decide": 240}'; unnamed steps keep their default.
    sla_hours: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_SLA_HOURS),
        description="Hours each case step may take before the case is overdue, as JSON by step name "
        "(refer, decide, further_study, inform); unnamed steps keep their default.",
    )
    small_cell_threshold: int = Field(
        default=5, ge=2,
        description="Aggregate counts below this are suppressed, and the rest rounded to a multiple of it, "
        "for roles below regency level (facilitator, supervisor), so small groups cannot be singled out.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = Field(default="INFO", description="Root log level; logs are JSON lines on stderr.")
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that /metrics requires. Unset: /metrics is open in dev/test and absent in prod.",
    )
    otel_enabled: bool = Field(
        default=False,
        description="Trace each GraphQL operation with OpenTelemetry (needs the `otel` extra); exporter "
        "settings come from the standard OTEL_EXPORTER_OTLP_* variables.",
    )
    # Connectors and sync (issue 6).
    sync_page_size: int = Field(default=500, description="Records asked of a source per page during a sync; "
                                "each page and its checkpoint commit together.")
    connector_url_schemes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["https", "http"],
        description="URL schemes a connector's base URL may use (comma-separated).",
    )
    connector_allow_private_urls: bool | None = Field(
        default=None,
        description="Let connector base URLs point at loopback/private addresses (the mocks). "
        "Unset: allowed in dev/test, refused in prod.",
    )
    # Access control (docs/auth.md).
    jwks_url: str | None = Field(default=None, description="Identity provider's JWKS; keys need kid and alg.")
    jwks_file: Path | None = Field(default=None, description="A JWKS document of trusted public keys.")
    token_signing_key_file: Path | None = Field(
        default=None, description="Private JWK the built-in token endpoint signs with. Dev/test: generated "
        "under data_dir when absent.")
    token_leeway_seconds: int = Field(
        default=30, ge=0, le=60,
        description="Clock skew allowed when checking a token's exp and nbf (at most 60 s).",
    )
    token_ttl_seconds: int = Field(
        default=900, ge=60, le=24 * 3600,
        description="Lifetime of tokens the built-in endpoint and `slrt-hub token` issue.",
    )
    rate_limit_requests_per_minute: int = Field(
        default=600, ge=1,
        description="Requests per minute per API client (or IP when anonymous); over it: 429 with "
        "Retry-After. Counted per process.",
    )
    rate_limit_objects_per_minute: int = Field(
        default=20_000, ge=1,
        description="Personal records returned per minute per client; over it: 429 with Retry-After. "
        "Counted per process.",
    )
    audit_reads: bool = Field(default=True, description="Write an access-log entry for every personal-data "
                              "operation. Only for benchmarks; the production profile refuses false.")

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("cors_origins"), str):
            raw = data["cors_origins"]
            data = {**data, "cors_origins": [o.strip() for o in raw.split(",") if o.strip()]}
        if isinstance(data, dict) and isinstance(data.get("connector_url_schemes"), str):
            raw = data["connector_url_schemes"]
            data = {**data, "connector_url_schemes": [o.strip() for o in raw.split(",") if o.strip()]}
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
        if not self.audit_reads:
            problems.append("SLRT_AUDIT_READS may not be false (UU PDP art. 31)")
        if problems:
            raise UnsafeSettings("refusing to start the production profile: " + "; ".join(problems))
        return self

    @property
    def allows_private_connector_urls(self) -> bool:
        if self.connector_allow_private_urls is not None:
            return self.connector_allow_private_urls
        return self.profile is not Profile.prod

    @property
    def signing_key_path(self) -> Path | None:
        """Where the token endpoint's private key lives; never generated in production."""
        if self.token_signing_key_file is not None:
            return self.token_signing_key_file
        return None if self.profile is Profile.prod else self.data_dir / "dev-signing-key.jwk.json"

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
    # URL.set() ignores None, which would leak the owner's password into the app role's URL.
    parsed = make_url(to_async_url(owner_url))._replace(username=APP_DB_ROLE, password=password)
    return parsed.render_as_string(hide_password=False)
