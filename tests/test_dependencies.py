"""The dependency direction, checked on the source: connectors know nothing of the hub, mocks know
only the connectors' ports, and the hub reaches concrete connectors and mocks only where it wires them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)
# Modules that wire concrete clients or start the mocks; everything else in hub/ sees ports only.
HUB_WIRING = {"hub/cli.py", "hub/sync/wiring.py"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", sources("connectors"), ids=lambda p: str(p.relative_to(ROOT)))
def test_connectors_import_nothing_from_the_hub(path: Path) -> None:
    bad = {m for m in imports(path) if top(m) in {"hub", "schema", "mocks", "auth"}}
    assert bad == set()


@pytest.mark.parametrize("path", sources("mocks"), ids=lambda p: str(p.relative_to(ROOT)))
def test_mocks_import_only_ports_stdlib_and_starlette(path: Path) -> None:
    allowed_third_party = {"starlette", "uvicorn"}  # uvicorn only runs the servers
    bad = {m for m in imports(path)
           if top(m) not in STDLIB | allowed_third_party | {"mocks", "__future__"}
           and not (m == "connectors.ports" or m.startswith("connectors.ports."))}
    assert bad == set()


@pytest.mark.parametrize("path", sources("hub"), ids=lambda p: str(p.relative_to(ROOT)))
def test_hub_sees_connectors_only_through_ports(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    if relative in HUB_WIRING:
        return
    found = imports(path)
    bad = {m for m in found if top(m) in {"schema", "mocks"}}
    bad |= {m for m in found if top(m) == "connectors" and m not in {"connectors.ports", "connectors.errors"}}
    assert bad == set()
