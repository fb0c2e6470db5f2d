"""The deployment files hold together. No Docker engine runs here, so this checks their structure:
services, healthchecks, restart policies, start order, that every command exists in the package,
ports line up with the supergraph, images run unprivileged, and no secret is committed."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import typer
import yaml

from hub.cli import app as cli_app
from hub.config import Settings
from mocks.server import DEFAULT_PORTS as MOCK_PORTS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()

# Every part of the stack the issue names.
REQUIRED = {"db", "migrate", "regions", "hub", "worker", "mocks", "ministry", "gateway"}
ONE_SHOT = {"migrate", "regions"}
NO_PORT = {"db", "worker"}  # their healthchecks ask PostgreSQL, not an HTTP port of their own
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|CREDENTIAL", re.IGNORECASE)


def stages() -> dict[str, str]:
    """Dockerfile stage name -> the stage's text."""
    parts = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)[1:]
    return {re.search(r"\bAS (\S+)", p.splitlines()[0]).group(1): p for p in parts}  # type: ignore[union-attr]


def target(service: dict[str, Any]) -> str | None:
    build = service.get("build")
    return build.get("target") if isinstance(build, dict) else None


def listen_port(service: dict[str, Any]) -> int:
    command = service.get("command", [])
    if "--port" in command:
        return int(command[command.index("--port") + 1])
    return int(service["environment"]["PORT"])


def test_every_required_service_is_there() -> None:
    assert set(SERVICES) >= REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED - ONE_SHOT))
def test_long_running_services_have_healthcheck_and_restart(name: str) -> None:
    service = SERVICES[name]
    assert service["restart"] in {"unless-stopped", "always", "on-failure"}
    check = service["healthcheck"]
    assert check["test"][0] in {"CMD", "CMD-SHELL"}
    assert len(check["test"]) > 1
    assert check["retries"] >= 3
    probe = " ".join(check["test"])
    if name == "mocks":
        # One probe for all five systems, on the ports `slrt-hub mocks serve` binds by default.
        assert all(f", {port}" in probe or f"({port}," in probe for port in MOCK_PORTS.values()), probe
    elif name not in NO_PORT:
        port = listen_port(service)
        assert f"127.0.0.1:{port}/" in probe, "healthcheck probes the port the service listens on"


def test_worker_health_is_a_cli_command_and_the_worker_reaches_the_mocks() -> None:
    worker = SERVICES["worker"]
    assert worker["healthcheck"]["test"][:2] == ["CMD", "slrt-hub"]
    resolve_cli(worker["healthcheck"]["test"][2:])
    # The mocks listen on loopback only: the worker shares their network namespace to call them.
    assert worker["network_mode"] == "service:mocks"
    assert "mocks" in worker["depends_on"]


@pytest.mark.parametrize("name", sorted(ONE_SHOT))
def test_one_shot_jobs_do_not_restart(name: str) -> None:
    assert SERVICES[name]["restart"] == "no"


def test_start_order_waits_for_health_or_completion() -> None:
    for name, service in SERVICES.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions, not a bare list"
        for other, spec in depends.items():
            assert other in SERVICES, f"{name} depends on unknown {other}"
            expected = "service_completed_successfully" if other in ONE_SHOT else "service_healthy"
            assert spec["condition"] == expected, f"{name} -> {other}"
    # The chain the data needs: db -> migrate -> regions -> hub -> gateway (and ministry -> gateway).
    assert set(SERVICES["migrate"]["depends_on"]) == {"db"}
    assert set(SERVICES["regions"]["depends_on"]) == {"migrate"}
    assert set(SERVICES["hub"]["depends_on"]) == {"regions"}
    assert set(SERVICES["gateway"]["depends_on"]) == {"hub", "ministry"}
    assert set(SERVICES["worker"]["depends_on"]) == {"regions", "mocks"}


def resolve_cli(args: list[str]) -> Any:
    """The command ``slrt-hub ARGS`` runs, failing on an unknown command or option."""
    command: Any = typer.main.get_command(cli_app)
    rest = list(args)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest.pop(0))
        assert sub is not None, f"`slrt-hub {' '.join(args)}`: no such command"
        command = sub
    assert not hasattr(command, "commands"), f"`slrt-hub {' '.join(args)}` names a group, not a command"
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for token in rest:
        if token.startswith("--"):
            assert token in options, f"`slrt-hub {' '.join(args)}`: no option {token}"
    return command


def test_hub_image_commands_exist_in_the_cli() -> None:
    checked = 0
    for service in SERVICES.values():
        if target(service) == "hub" and "entrypoint" not in service:
            resolve_cli(service["command"])
            checked += 1
    assert checked == 5  # migrate, regions load, serve, mocks serve, worker
    with pytest.raises(AssertionError):
        resolve_cli(["no-such-command"])
    with pytest.raises(AssertionError):
        resolve_cli(["regions"])
    with pytest.raises(AssertionError):
        resolve_cli(["serve", "--no-such-option", "1"])
    assert 'ENTRYPOINT ["slrt-hub"]' in stages()["hub"]


def test_python_module_entrypoints_exist_and_take_their_options() -> None:
    for service in SERVICES.values():
        entrypoint = service.get("entrypoint")
        if not entrypoint or entrypoint[:2] != ["python", "-m"]:
            continue
        module = entrypoint[2]
        assert importlib.util.find_spec(f"{module}.__main__") is not None, module
        # The module name comes from the committed compose file and must resolve in the package.
        help_text = subprocess.run([sys.executable, "-m", module, "--help"],  # noqa: S603
                                   capture_output=True, text=True, check=True, timeout=60, cwd=ROOT).stdout
        for token in service.get("command", []):
            if token.startswith("--"):
                assert token in help_text, f"{module}: no option {token}"


def test_gateway_runs_the_committed_script_over_the_service_ports() -> None:
    gateway = SERVICES["gateway"]
    assert target(gateway) == "gateway"
    assert gateway["command"] == ["node", "gateway.mjs"]
    assert (ROOT / "federation" / "gateway.mjs").exists()
    assert "federation/gateway.mjs" in stages()["gateway-build"]
    assert gateway["environment"]["SUPERGRAPH"] == "/gateway/supergraph.graphql"
    assert gateway["ports"] == [f"127.0.0.1:{listen_port(gateway)}:{listen_port(gateway)}"]
    # The committed supergraph routes to these services on the ports they listen on.
    supergraph = (ROOT / "federation" / "supergraph.graphql").read_text()
    urls = re.findall(r'@join__graph\(name: "(\w+)", url: "([^"]+)"\)', supergraph)
    assert {name for name, _ in urls} == {"hub", "ministry"}
    for name, url in urls:
        parsed = urlparse(url)
        assert parsed.hostname == name
        assert parsed.port == listen_port(SERVICES[name])
        assert str(parsed.port) in SERVICES[name]["expose"]


def test_images_are_multi_stage_and_run_unprivileged() -> None:
    named = stages()
    assert {"hub-build", "hub", "gateway-build", "gateway"} <= set(named)
    assert {target(s) for s in SERVICES.values() if target(s)} <= set(named)
    for final in ("hub", "gateway"):
        users = re.findall(r"^USER (\S+)", named[final], flags=re.MULTILINE)
        assert users, f"{final} sets no USER"
        assert users[-1] not in {"root", "0"}
        assert "COPY --from=" in named[final], f"{final} should copy from a build stage"
        assert not re.search(r"apt-get install|pip install|npm (ci|install)", named[final]), final


def test_no_secret_is_committed() -> None:
    for name, service in SERVICES.items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), name
        for key, value in environment.items():
            if SECRET_NAME.search(key) and key != "SLRT_SECRETS_DIR":
                assert key.endswith("_FILE") or str(value).startswith("${"), f"{name}: {key} has a literal value"
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", str(value)), f"{name}: {key} embeds a password"
        for secret in service.get("secrets", []):
            assert secret in COMPOSE["secrets"], f"{name}: unknown secret {secret}"
    for spec in COMPOSE["secrets"].values():
        assert spec["file"].startswith("./secrets/")
    assert "secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "secrets" in (ROOT / ".dockerignore").read_text().splitlines()


def test_hub_secret_files_are_settings_the_hub_reads() -> None:
    # pydantic-settings reads SLRT_SECRETS_DIR/<env var name, lower case> for each field.
    fields = {f"slrt_{name}" for name in Settings.model_fields}
    for name in ("migrate", "regions", "hub", "worker"):
        service = SERVICES[name]
        assert service["environment"]["SLRT_SECRETS_DIR"] == "/run/secrets"
        assert service["environment"]["SLRT_PROFILE"] == "prod"
        assert set(service["secrets"]) <= fields, set(service["secrets"]) - fields
        assert {"slrt_database_url", "slrt_credentials_key", "slrt_token_secret"} <= set(service["secrets"])
    # The database creates the API's role from the same password file the hub reads.
    init = (ROOT / "deploy" / "postgres" / "init-app-role.sh").read_text()
    assert "/run/secrets/slrt_app_db_password" in init
    assert "slrt_app_db_password" in SERVICES["db"]["secrets"]
    assert SERVICES["db"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_settings_read_secret_files(tmp_path: Path) -> None:
    (tmp_path / "slrt_token_secret").write_text("from-a-file\n")
    code = "from hub.config import Settings; print(Settings().token_secret.get_secret_value())"
    env = {"SLRT_SECRETS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code],  # noqa: S603  (a fixed script)
                         capture_output=True, text=True, check=True, timeout=60, cwd=ROOT, env=env).stdout
    assert out.strip() == "from-a-file"
