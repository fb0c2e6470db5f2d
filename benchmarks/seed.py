"""Seed a synthetic population into a scratch database and report the cost.

    python -m benchmarks.seed --households 100000 [--server postgresql://postgres@127.0.0.1:5432/postgres]

Creates a fresh database on the server, migrates it, loads the regions (not timed), seeds with
the same code path as ``slrt-hub seed`` (timed), prints wall time, households/s, persons/s and the
process's peak RSS, then drops the database (``--keep`` leaves it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import sys
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from hub.config import to_async_url
from hub.db.embedded import ensure_database
from hub.db.migrate import upgrade
from hub.regions.loader import load_regions
from hub.seed.population import DEFAULT_REGENCIES, Population
from hub.seed.writer import DEFAULT_BATCH, SeedResult, write_population

DEFAULT_SERVER = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def _run(args: argparse.Namespace) -> None:
    server = to_async_url(args.server)
    name = f"slrt_bench_seed_{secrets.token_hex(3)}"
    owner = await ensure_database(server, name)
    print(f"scratch database {name}", flush=True)
    try:
        await asyncio.to_thread(upgrade, owner)
        engine = create_async_engine(owner)
        async with engine.begin() as conn:
            await load_regions(conn)
        print(f"migrated and regions loaded; peak RSS so far {_peak_rss_mib():.0f} MiB", flush=True)

        population = Population(args.seed, args.regency or DEFAULT_REGENCIES)
        last = [time.perf_counter()]

        def progress(households: int, persons: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= 10:
                last[0] = now
                print(f"  {households:,} households, {persons:,} persons, RSS peak {_peak_rss_mib():.0f} MiB",
                      flush=True)

        started = time.perf_counter()
        async with engine.begin() as conn:
            result: SeedResult = await write_population(conn, population, args.households,
                                                        batch_size=args.batch, progress=progress)
        wall = time.perf_counter() - started
        await engine.dispose()
    finally:
        if not args.keep:
            admin = create_async_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()

    print(f"households      {result.households:,}")
    print(f"persons         {result.persons:,}")
    for table, count in result.rows.items():
        print(f"  {table:<18}{count:,}")
    print(f"invalid NIKs    {result.invalid_niks:,}   duplicate-flagged {result.duplicate_niks:,}")
    print(f"wall time       {wall:.1f} s (including commit)")
    print(f"households/s    {result.households / wall:,.0f}")
    print(f"persons/s       {result.persons / wall:,.0f}")
    print(f"peak RSS        {_peak_rss_mib():.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--regency", action="append", help="regency code, repeatable (default: a built-in set)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--server", default=DEFAULT_SERVER, help="any database URL on the target server")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
