"""Seeding rebuilds the analytics summary of the new population (in a database of its own: it commits)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from hub.cli import _seed
from hub.db.embedded import ensure_database
from hub.db.migrate import upgrade
from hub.regions.loader import load_regions


async def test_seed_rebuilds_the_analytics_summary(database_urls: dict[str, str]) -> None:
    name = f"{database_urls['name']}_seed"
    owner = await ensure_database(database_urls["server"], name)
    try:
        await asyncio.to_thread(upgrade, owner)
        engine = create_async_engine(owner)
        async with engine.begin() as conn:
            await load_regions(conn)
        result = await _seed(owner, 40, 1, ["33.14"])
        assert result is not None
        async with engine.begin() as conn:
            await conn.execute(text("SELECT set_config('slrt.scope', '*', true)"))
            regencies = (await conn.execute(text("SELECT regency_code FROM analytics_summary_refreshes"))).scalars()
            assert list(regencies) == ["33.14"]
            counted = (await conn.execute(text(
                "SELECT sum(households) FROM analytics_summary_units WHERE decile > 0"))).scalar_one()
            registry = (await conn.execute(text(
                "SELECT count(*) FROM households WHERE decile IS NOT NULL AND status <> 'archived'"))).scalar_one()
        assert counted == registry > 0
        await engine.dispose()
    finally:
        admin = create_async_engine(make_url(database_urls["server"]).set(database="postgres"),
                                    isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
