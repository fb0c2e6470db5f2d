"""The configuration table in README.md, generated from ``Settings`` so it cannot drift.

    python -m hub.settings_doc            print the table
    python -m hub.settings_doc --write    rewrite it in README.md between the markers

Every setting needs a description: ``Field(description=...)`` on the setting, or an entry in
``ABOUT`` below. ``PRODUCTION`` says what to do with it in the prod profile.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from hub.config import Settings

START = "<!-- settings-table:start -->"
END = "<!-- settings-table:end -->"
DOC = Path(__file__).resolve().parent.parent / "README.md"

ABOUT: dict[str, str] = {
    "profile": "`dev`, `test` or `prod`. `prod` refuses development secrets and the embedded database, "
               "turns off GraphiQL and closes `/metrics` unless a token is set.",
    "app_db_password": "Password of the `slrt_app` role, used when the app URL is derived from the owner URL.",
    "data_dir": "Where the embedded PostgreSQL (dev) keeps its data.",
    "db_pool_size": "Connections the API keeps open to PostgreSQL.",
    "db_max_overflow": "Extra connections allowed above the pool size under load.",
    "credentials_key": "Key that encrypts stored connector credentials.",
    "token_secret": "Signs nothing today (tokens are signed with the key in `SLRT_TOKEN_SIGNING_KEY_FILE`); "
                    "kept because the prod profile and the compose secrets name it.",
    "token_issuer": "`iss` claim of issued and accepted tokens.",
    "token_audience": "`aud` claim of issued and accepted tokens.",
    "cors_origins": "Comma-separated browser origins allowed to call the API.",
    "graphql_max_depth": "Deepest selection a query may nest.",
    "graphql_max_aliases": "Most aliases one query may use.",
    "graphql_max_tokens": "Most lexical tokens one query may contain.",
    "graphql_max_root_fields": "Most root fields one operation may select.",
    "graphql_max_body_bytes": "Largest request body accepted, in bytes.",
    "graphql_executor": "`compiled` (plans compiled once per query document) or `core` (graphql-core's "
                        "own executor, the reference the compiled one is tested against).",
    "page_max": "Largest page size a connection field returns.",
    "host": "Interface `slrt-hub serve` binds.",
    "port": "Port `slrt-hub serve` binds.",
}

PRODUCTION: dict[str, str] = {
    "profile": "Set to `prod`.",
    "database_url": "Required. From a secret file (`slrt_database_url`).",
    "app_database_url": "Optional; a separate secret if the app role's host or database differ.",
    "app_db_password": "Required when the app role has a password (it should): secret file.",
    "data_dir": "Unused with an external database.",
    "db_pool_size": "Size to PostgreSQL `max_connections` divided by API replicas, minus headroom.",
    "credentials_key": "Required; the development default is refused. Secret file.",
    "token_secret": "Required; the development default is refused. Secret file.",
    "cors_origins": "List the web apps' origins; `*` is refused.",
    "host": "`0.0.0.0` inside a container, behind the gateway or a proxy.",
    "log_level": "`INFO`; `DEBUG` only while investigating (still no personal data).",
    "metrics_token": "Set it (secret file) for Prometheus to scrape; without it `/metrics` answers 404.",
}


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    if field.default_factory is not None:
        if name == "data_dir":
            return "the user data directory (`platformdirs`) + `slrt-hub`"
        value = field.default_factory()  # type: ignore[call-arg]
        return "empty" if not value else f"`{value}`"
    default = field.default
    if default is None or default is PydanticUndefined:
        return "unset"
    if isinstance(default, SecretStr):
        return "a development value"
    if isinstance(default, Enum):
        return f"`{default.value}`"
    return f"`{default}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def undocumented() -> list[str]:
    return [n for n, f in Settings.model_fields.items() if not (f.description or ABOUT.get(n))]


def table() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    rows = ["| variable | default | what it is | in production |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        about = field.description or ABOUT.get(name, "")
        rows.append(f"| `{prefix}{name.upper()}` | {_cell(_default(name))} | {_cell(about)} | "
                    f"{_cell(PRODUCTION.get(name, ''))} |")
    return "\n".join(rows) + "\n"


def rewrite(doc: Path = DOC) -> None:
    text = doc.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{START}\n{table()}{END}{tail}")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        rewrite()
    else:
        sys.stdout.write(table())
