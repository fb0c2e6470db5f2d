from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auth.principal import Role
from hub import tokens as hub_tokens
from hub.cli import app
from hub.config import Profile, Settings

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_urls: dict[str, str]) -> Path:
    monkeypatch.setenv("SLRT_PROFILE", "test")
    monkeypatch.setenv("SLRT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SLRT_DATABASE_URL", database_urls["owner"])
    return tmp_path


def test_token_mints_a_verifiable_dev_token(cli_env: Path) -> None:
    result = runner.invoke(app, ["token", "--role", "facilitator", "--region", "33.14.01.2001", "--ttl", "120"])
    assert result.exit_code == 0, result.output
    settings = Settings(profile=Profile.test, data_dir=cli_env)
    principal = asyncio.run(hub_tokens.verifier(settings).verify(result.stdout.strip()))
    assert (principal.role, principal.scope.codes) == (Role.facilitator, {"33.14.01.2001"})


def test_token_refuses_a_scope_the_role_cannot_have(cli_env: Path) -> None:
    result = runner.invoke(app, ["token", "--role", "facilitator", "--region", "33"])
    assert result.exit_code == 2


def test_token_is_refused_in_production(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_PROFILE", "prod")
    monkeypatch.setenv("SLRT_CREDENTIALS_KEY", secrets.token_hex(16))
    monkeypatch.setenv("SLRT_TOKEN_SECRET", secrets.token_hex(16))
    result = runner.invoke(app, ["token", "--role", "facilitator", "--region", "33.14.01.2001"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert not (cli_env / "dev-signing-key.jwk.json").exists()


def test_one_dev_token_per_role(settings: Settings) -> None:
    tokens = hub_tokens.dev_tokens_per_role(settings)
    assert set(tokens) == set(Role) - {Role.system}
    verifier = hub_tokens.verifier(settings)
    for role, token in tokens.items():
        assert asyncio.run(verifier.verify(token)).role is role


def test_clients_and_audit_commands(cli_env: Path, tmp_path: Path) -> None:
    client_id = f"cli-{secrets.token_hex(3)}"
    created = runner.invoke(app, ["clients", "create", client_id, "--name", "Test", "--purpose", "testing",
                                  "--region", "33.14"])
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["client_id"] == client_id
    listed = runner.invoke(app, ["clients", "list"])
    assert client_id in listed.stdout
    assert runner.invoke(app, ["clients", "revoke", client_id]).exit_code == 0
    assert runner.invoke(app, ["clients", "revoke", "no-such-client"]).exit_code == 2

    assert runner.invoke(app, ["audit", "seal"]).exit_code == 0
    anchor = runner.invoke(app, ["audit", "anchor"])
    assert anchor.exit_code == 0
    path = tmp_path / "anchor.json"
    path.write_text(anchor.stdout)
    verified = runner.invoke(app, ["audit", "verify", "--anchor", str(path)])
    assert verified.exit_code == 0, verified.output
    assert "chain intact" in verified.output
    path.write_text(json.dumps({"seq": json.loads(anchor.stdout)["seq"] + 5, "hash": "0" * 64}))
    truncated = runner.invoke(app, ["audit", "verify", "--anchor", str(path)])
    assert truncated.exit_code == 1
    assert "truncated" in truncated.output
