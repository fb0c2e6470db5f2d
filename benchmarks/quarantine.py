"""How a connector's quarantine pages when it holds half a million records.

    python -m benchmarks.quarantine [--records 500000] [--server postgresql+asyncpg://postgres@127.0.0.1:5432]

Creates a scratch database on ``--server`` (dropped afterwards unless ``--keep``), migrates it, loads
``--records`` synthetic quarantine rows of one regency's connector (one in ten resolved), ANALYZEs, then
times, as the app role under row-level security with a district IT admin's scope, through the service
the ``Connector.quarantine`` resolver calls:
  1. the first page of 100 (open records, newest first);
  2. a page of 100 four fifths of the way down, continued by key (``after``: the cursor's time and id);
  3. for comparison, the same page reached by OFFSET under the same conditions (what offset paging costs);
  4. ``totalCount`` of the open records (exact; run only when a query selects it).
Prints the median and 95th percentile of each.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from auth.principal import Principal, RegionScope, Role
from benchmarks.audit import timed
from hub.config import app_url_from_owner
from hub.db.embedded import ensure_database
from hub.db.engine import make_sessionmaker, set_scope
from hub.db.migrate import upgrade
from hub.paging import PageRequest, time_key
from hub.sync import service

PAGE = 100
LOAD = """
INSERT INTO quarantine (id, connector_id, kind, natural_key, source_version, reason, raw, province_code,
                        regency_code, district_code, village_code, created_at, resolved_at)
SELECT gen_random_uuid(), :id, 'invalid', 'hh-' || g, '1', 'decile out of range',
       jsonb_build_object('id', 'hh-' || g, 'decile', 11), '33', '33.14', '33.14.01', '33.14.01.2001',
       timestamptz '2026-01-01' + g * interval '1 second', CASE WHEN g % 10 = 0 THEN timestamptz '2026-06-01' END
FROM generate_series(1, :n) g
"""


async def main(args: argparse.Namespace) -> None:
    name = f"slrt_bench_quarantine_{secrets.token_hex(3)}"
    owner = await ensure_database(args.server, name)
    print(f"database {name}")
    try:
        connector_id = await load(owner, args.records)
        await measure(owner, connector_id, args.runs)
    finally:
        if not args.keep:
            admin = create_async_engine(args.server.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
            async with admin.connect() as c:
                await c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()


async def load(owner: str, records: int) -> uuid.UUID:
    await asyncio.to_thread(upgrade, owner)
    engine = create_async_engine(owner)
    connector_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(text("SELECT set_config('slrt.scope', '*', true)"))
        await conn.execute(text(
            "INSERT INTO connectors (id, name, kind, base_url, region_code, enabled, options, created_at, updated_at)"
            " VALUES (:id, 'siks-sragen', 'siks-ng', 'http://127.0.0.1:9', '33.14', true, '{}', now(), now())"),
            {"id": connector_id})
        await conn.execute(text(LOAD), {"id": connector_id, "n": records})
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE quarantine"))
        await conn.commit()
    await engine.dispose()
    print(f"loaded {records:,} quarantine records")
    return connector_id


async def measure(owner: str, connector_id: uuid.UUID, runs: int) -> None:
    engine = create_async_engine(app_url_from_owner(owner, None), pool_size=1)
    admin = Principal(subject="it-1", role=Role.district_it_admin, scope=RegionScope.of("33.14"))
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await set_scope(session, admin)
        connector = await service.get_connector(session, admin, connector_id)
        open_count = await service.count_quarantine(session, admin, connector)
        deep = open_count * 4 // 5
        row = (await session.execute(text(
            "SELECT created_at, id FROM quarantine WHERE connector_id = :id AND resolved_at IS NULL "
            "ORDER BY created_at DESC, id DESC OFFSET :o LIMIT 1"), {"id": connector_id, "o": deep - 1})).one()
        after = time_key(row.created_at, row.id)
        plan: list[str] = list((await session.execute(text(
            "EXPLAIN SELECT * FROM quarantine WHERE connector_id = :id AND resolved_at IS NULL "
            "AND (created_at, id) < (:t, :i) ORDER BY created_at DESC, id DESC LIMIT 101"),
            {"id": connector_id, "t": row.created_at, "i": row.id})).scalars().all())
    print(f"open records readable by the Sragen admin: {open_count:,}; deep page starts at position {deep:,}")
    print("plan (deep keyset page):", next((line.strip() for line in plan if "Scan" in line), plan[0]))

    def page(after_key: str | None, offset: int) -> object:
        async def run() -> None:
            async with sessions() as session, session.begin():
                await set_scope(session, admin)
                found = await service.quarantine(session, admin, connector,
                                                 PageRequest(offset=offset, limit=PAGE), after_key)
                assert len(found.items) == PAGE
        return run

    async def by_offset() -> None:
        async with sessions() as session, session.begin():
            await set_scope(session, admin)
            rows = (await session.execute(text(
                "SELECT * FROM quarantine WHERE connector_id = :id AND resolved_at IS NULL "
                "AND regency_code IN ('33.14') ORDER BY created_at DESC, id DESC OFFSET :o LIMIT 101"),
                {"id": connector_id, "o": deep})).all()
            assert len(rows) == PAGE + 1

    async def count() -> None:
        async with sessions() as session, session.begin():
            await set_scope(session, admin)
            await service.count_quarantine(session, admin, connector)

    await timed(f"page 1 ({PAGE} records)", runs, page(None, 0))
    await timed(f"page at position {deep:,}, by key (the API's paging)", runs, page(after, deep))
    await timed(f"page at position {deep:,}, by OFFSET (comparison only)", runs, by_offset)
    await timed("totalCount of the open records", max(1, runs // 3), count)
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the loaded database (its name is printed)")
    asyncio.run(main(parser.parse_args()))
