"""``slrt-hub analytics refresh``: rebuilds the summary with a line of progress per regency. It commits,
so the test removes what it wrote from the shared test database afterwards."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from hub.cli import app

TABLES = ("analytics_summary_units", "analytics_summary_enrolled", "analytics_summary_persons",
          "analytics_summary_name_matches", "analytics_summary_refreshes")


async def test_cli_refresh_prints_progress(database_urls: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_DATABASE_URL", database_urls["owner"])
    owner = create_async_engine(database_urls["owner"])
    try:
        # The command runs its own event loop: give it a thread.
        result = await asyncio.to_thread(CliRunner().invoke, app, [
            "analytics", "refresh", "--regency", "33.14", "--regency", "33.15"])
        assert result.exit_code == 0, result.output
        assert "analytics summary 1/2: regency 33.14 in" in result.output
        assert "analytics summary 2/2: regency 33.15 in" in result.output
        assert "rebuilt for 2 regencies" in result.output
        async with owner.begin() as conn:
            await conn.execute(text("SELECT set_config('slrt.scope', '*', true)"))
            rows = (await conn.execute(text("SELECT regency_code FROM analytics_summary_refreshes "
                                            "ORDER BY regency_code"))).scalars().all()
        assert rows == ["33.14", "33.15"]
    finally:
        async with owner.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
        await owner.dispose()
