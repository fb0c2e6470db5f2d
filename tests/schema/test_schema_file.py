from __future__ import annotations

from typer.testing import CliRunner

from hub.cli import app
from schema.export import SCHEMA_FILE, schema_sdl


def test_committed_schema_matches_the_code() -> None:
    # Regenerate with: python -m hub schema export --output schema/schema.graphql
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_sdl()


def test_cli_prints_the_schema() -> None:
    result = CliRunner().invoke(app, ["schema", "export"])
    assert result.exit_code == 0
    assert result.stdout == schema_sdl()
