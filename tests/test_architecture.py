"""The dependency direction between top-level packages (STYLE.md), checked on the source's imports.

schema -> hub -> auth; hub -> connectors (ports only); mocks -> connectors. Nothing imports schema
except schema itself and the CLI's app wiring; connectors import nothing of ours. Only the wiring
modules reach concrete connector clients; the rest of hub/ sees ports and the exception tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hub", "schema", "connectors", "auth", "mocks")

# package -> top-level packages of ours it may import
ALLOWED: dict[str, set[str]] = {
    "auth": {"auth", "hub"},
    "hub": {"hub", "auth", "connectors"},
    "connectors": {"connectors"},
    "mocks": {"mocks", "connectors"},
    "schema": {"schema", "hub", "auth", "connectors"},
}
# Narrow, documented exceptions: module prefix -> extra imports it may make.
EXCEPTIONS: dict[str, set[str]] = {
    # The CLI is the composition root: it starts the API and the mock servers.
    "hub.cli": {"schema", "mocks"},
    "hub.__main__": {"schema", "mocks"},
    "hub.cli_schema": {"schema"},
    "hub.sync.cli": {"mocks"},
    # The mocks serve the same synthetic population as `slrt-hub seed`, and NIKs built the same way.
    "mocks": {"hub.seed.population", "hub.identity", "hub.regions.loader"},
}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in PACKAGES}


# Concrete connector clients are chosen in these modules only.
HUB_WIRING = {"hub.cli", "hub.sync.wiring", "hub.sync.cli"}
CONNECTOR_PORTS = {"connectors.ports", "connectors.errors"}


def _violations(root: Path = ROOT) -> list[str]:
    problems = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = _module_name(path, root)
            extra = {
                allowed for prefix, allowed_set in EXCEPTIONS.items()
                if module == prefix or module.startswith(prefix + ".") for allowed in allowed_set
            }
            for imported in _imports(path):
                top = imported.split(".")[0]
                if (package == "hub" and top == "connectors" and module not in HUB_WIRING
                        and not any(imported == p or imported.startswith(p + ".") for p in CONNECTOR_PORTS)):
                    problems.append(f"{module} imports {imported}")
                    continue
                if top in ALLOWED[package]:
                    continue
                if any(imported == e or imported.startswith(e + ".") for e in extra):
                    continue
                problems.append(f"{module} imports {imported}")
    return problems


def test_dependencies_point_one_way() -> None:
    assert _violations() == []


def test_checker_catches_a_wrong_direction(tmp_path: Path) -> None:
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "client.py").write_text("from hub.models import Person\n")
    (tmp_path / "mocks").mkdir()
    (tmp_path / "mocks" / "server.py").write_text("import hub.identity\nfrom hub.db import engine\n")
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "service.py").write_text("from connectors.ports import RegistrySource\n"
                                                 "from connectors.siks_ng import Client\n")
    assert _violations(tmp_path) == [
        "hub.service imports connectors.siks_ng",
        "connectors.client imports hub.models",
        "mocks.server imports hub.db",
    ]
