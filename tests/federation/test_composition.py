"""The committed subgraph SDL and supergraph are what the code and the real composer produce."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema.app import build_schema
from tests.federation.conftest import FEDERATION, compose


def subgraph_sdl(schema_module: str) -> str:
    if schema_module == "hub":
        # The hub's audit extension is async, so the SDL is printed (the text `_service { sdl }`
        # answers), as the CLI does.
        return build_schema().as_str() + "\n"
    from mocks.ministry.schema import build_schema as ministry_schema

    result = ministry_schema().execute_sync("{ _service { sdl } }")
    assert result.errors is None
    assert result.data is not None
    return str(result.data["_service"]["sdl"]) + "\n"


def test_committed_subgraph_sdl_is_current() -> None:
    for name in ("hub", "ministry"):
        committed = (FEDERATION / "subgraphs" / f"{name}.graphql").read_text()
        assert committed == subgraph_sdl(name), (
            f"federation/subgraphs/{name}.graphql is stale: regenerate it (docs/deploy.md, 'Federation')")


def test_cli_prints_the_subgraph_sdl() -> None:
    out = subprocess.run([sys.executable, "-m", "hub", "schema", "--federation"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out == subgraph_sdl("hub")
    assert '@link(url: "https://specs.apollo.dev/federation/v2.7"' in out
    assert 'type Region @key(fields: "code")' in out


def test_supergraph_composes_to_the_committed_file(node: str) -> None:
    result = compose(node)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (FEDERATION / "supergraph.graphql").read_text(), (
        "federation/supergraph.graphql is stale: run `node federation/compose.mjs --out federation/supergraph.graphql`")
    assert 'MINISTRY @join__graph(name: "ministry", url: "http://ministry:8100/graphql")' in result.stdout


def test_composition_errors_fail(node: str, tmp_path: Path) -> None:
    # The ministry declares the shared key with another type: a real composer must refuse.
    declared = 'type Region @key(fields: "code") {\n  """Dotted Kemendagri region code."""\n  code: String!'
    broken = subgraph_sdl("ministry").replace(declared, 'type Region @key(fields: "code") {\n  code: Int!')
    assert broken != subgraph_sdl("ministry")
    (tmp_path / "ministry.graphql").write_text(broken)
    result = compose(node, "--schema", f"ministry={tmp_path / 'ministry.graphql'}")
    assert result.returncode == 1
    assert "composition error" in result.stderr
    assert "Region.code" in result.stderr
