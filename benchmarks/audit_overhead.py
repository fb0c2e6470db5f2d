"""What the access log costs a read: requests per second with and without it.

    python -m benchmarks.audit_overhead --database NAME [--requests 400] [--concurrency 8]

Wall-clock throughput is at the mercy of whatever else runs on the machine; the hub process's own
CPU time per request (also printed) is the steadier measure of what the extension costs.

Runs against a migrated database (e.g. the one ``benchmarks.audit --keep`` leaves, so the log
already holds its million entries and inserts pay for real index sizes). It adds 20 households of
4 persons in one village, then serves the same personal-data query through the real app factory,
gate and extension as the app role, in three modes: the extension absent, the extension present
with ``SLRT_AUDIT_READS=false`` (records collected, nothing written) and the access log on.
The issue's target: audit on keeps >= 90 % of the throughput with audit off.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from strawberry.tools import merge_types

import schema.app as schema_app
from auth.principal import Principal, Role
from hub import tokens as hub_tokens
from hub.config import Profile, Settings, app_url_from_owner
from hub.db.embedded import ensure_database
from hub.db.engine import make_sessionmaker, set_scope
from hub.models import Household
from schema.query import Query as BaseQuery
from tests.auth.fake_api import FakeQuery, fake_schema
from tests.fixtures.factories import make_household, make_person

VILLAGE = "33.14.05.2003"
cpu_per_request: dict[str, list[float]] = {}
QUERY = "{ households { id address members { id name nik hasDisability } } }"


async def seed(owner: str) -> None:
    engine = create_async_engine(owner)
    async with make_sessionmaker(engine)() as session, session.begin():
        await set_scope(session, Principal.system("benchmark"))
        await session.execute(text("DELETE FROM households WHERE village_code = :v"), {"v": VILLAGE})
        for n in range(20):
            home = await make_household(session, VILLAGE, address=f"Jl. Benchmark {n}")
            for _ in range(4):
                await make_person(session, home)
    await engine.dispose()
    _ = Household


async def run_mode(label: str, owner: str, settings: Settings, schema: strawberry.Schema, requests: int,
                   concurrency: int, token: str) -> float:
    schema_app.build_schema = lambda: schema  # type: ignore[assignment]
    engine = create_async_engine(app_url_from_owner(owner, None), pool_size=concurrency, max_overflow=0)
    app = schema_app.create_app(settings, bind=engine)
    headers = {"authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for _ in range(20):  # warm up
            response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
            assert len(response.json()["data"]["households"]) == 20, response.text
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
                assert response.status_code == 200

        began, cpu_began = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    await engine.dispose()
    rate = requests / elapsed
    print(f"{label:<48} {rate:8.1f} requests/s   {1000 * cpu / requests:6.2f} ms hub CPU per request")
    cpu_per_request.setdefault(label, []).append(1000 * cpu / requests)
    return rate


async def main(args: argparse.Namespace) -> None:
    owner = await ensure_database(args.server, args.database)
    await seed(owner)
    data_dir = Path(tempfile.mkdtemp(prefix="slrt-bench-"))
    base = Settings(profile=Profile.test, data_dir=data_dir, database_url=owner,
                    rate_limit_requests_per_minute=10**9, rate_limit_objects_per_minute=10**9)
    token = hub_tokens.mint_dev_token(base, Role.facilitator, [VILLAGE], ttl=3600)
    without = strawberry.Schema(query=merge_types("Query", (BaseQuery, FakeQuery)))
    results: dict[str, list[float]] = {"off": [], "collect": [], "on": []}
    for _ in range(args.rounds):
        results["off"].append(await run_mode("audit extension absent", owner, base, without,
                                             args.requests, args.concurrency, token))
        results["collect"].append(await run_mode(
            "extension present, SLRT_AUDIT_READS=false", owner,
            base.model_copy(update={"audit_reads": False}), fake_schema(), args.requests, args.concurrency, token))
        results["on"].append(await run_mode("access log on", owner, base, fake_schema(),
                                            args.requests, args.concurrency, token))
    off, on = statistics.median(results["off"]), statistics.median(results["on"])
    collect = statistics.median(results["collect"])
    print(f"median over {args.rounds} rounds: off {off:.1f}/s, collect-only {collect:.1f}/s, on {on:.1f}/s "
          f"-> audit on keeps {100 * on / off:.1f} % of the throughput")
    for label, samples in cpu_per_request.items():
        print(f"  hub CPU per request, {label}: median {statistics.median(samples):.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--database", required=True)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
