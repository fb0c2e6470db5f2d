"""How fast auditors' two questions stay with a million access-log entries.

    python -m benchmarks.audit [--entries 1000000] [--server postgresql://postgres@127.0.0.1:5432] [--vacuum]

Creates a scratch database on ``--server`` (dropped afterwards unless ``--keep``), migrates it,
loads ``--entries`` synthetic entries with COPY, ANALYZEs, then times through the real service
layer, as the app role under row-level security:
  1. "who read NIK N": ``accessLogs(filter: {personNik})``, first page and the next page;
  2. "what did actor X read between T1 and T2": ``accessLogs(filter: {actor, from, to})``, two pages.
  3. the whole log, newest first, twenty pages deep (keyset paging: a deep page costs what page 1 does);
  4. ``totalCount`` of each (exact; the resolver runs it only when a query selects ``totalCount``).
Prints the median and 95th percentile per query. The target is < 100 ms per page.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from auth.principal import Principal, RegionScope, Role
from hub.audit import service as audit_service
from hub.config import app_url_from_owner
from hub.db.embedded import ensure_database
from hub.db.engine import make_sessionmaker, set_scope
from hub.db.migrate import upgrade
from hub.paging import PageRequest

COLUMNS = ("id", "logged_at", "actor", "client_id", "role", "scope", "purpose", "operation_name",
           "operation_type", "document_hash", "person_ids", "household_ids", "fields", "outcome", "source_ip")
TARGET_NIK = "3314015001900001"
ACTORS = 2000
PEOPLE = 300_000


def synthetic(n: int, target_person: uuid.UUID, start: datetime) -> list[tuple[object, ...]]:
    rng = random.Random(7)  # noqa: S311  (synthetic data, not cryptography)
    people = [uuid.uuid4() for _ in range(PEOPLE)]
    households = [uuid.uuid4() for _ in range(PEOPLE // 4)]
    doc = secrets.token_hex(32)
    fields = ["Household.address", "Person.name", "Person.nik", "Query.households"]
    span = 90 * 86400
    rows = []
    for i in range(n):
        persons = rng.sample(people, rng.randint(1, 5))
        if i % 10_000 == 0:  # the target person is read ~100 times in a million entries: two pages
            persons.append(target_person)
        actor = rng.randrange(ACTORS)
        rows.append((
            uuid.uuid4(), start + timedelta(seconds=span * i / n), f"user-{actor}", None, "facilitator",
            [f"33.14.{actor % 20:02d}.2001"], "verivali", "Households", "query", doc, persons,
            rng.sample(households, 1), fields, "allowed", "10.0.0.1",
        ))
    return rows


async def timed(label: str, runs: int, call: object) -> None:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        await call()  # type: ignore[operator]
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(f"{label:<58} median {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms   (n={runs})")


async def main(args: argparse.Namespace) -> None:
    name = args.database or f"slrt_bench_audit_{secrets.token_hex(3)}"
    owner = await ensure_database(args.server, name)
    print(f"database {name}")
    start = datetime(2026, 8, 1, tzinfo=UTC)
    try:
        if not args.database:
            await load(owner, args.entries, start)
        if args.vacuum:
            await vacuum(owner)
        await measure(owner, args.runs, start)
    finally:
        if not args.keep and not args.database:
            admin = create_async_engine(args.server.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
            async with admin.connect() as c:
                await c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()


async def load(owner: str, entries: int, start: datetime) -> None:
    await asyncio.to_thread(upgrade, owner)
    plain = owner.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(plain)
    try:
        person = uuid.uuid4()
        await conn.execute("SELECT set_config('slrt.scope', '*', false)")
        home = uuid.uuid4()
        await conn.execute(
            "INSERT INTO households (id, address, decile, status, province_code, regency_code, district_code,"
            " village_code) VALUES ($1, 'Jl. Bench 1', 1, 'active', '33', '33.14', '33.14.01', '33.14.01.2001')",
            home)
        await conn.execute(
            "INSERT INTO persons (id, nik, nik_valid, nik_flags, name, sex, birth_date, relationship_to_head,"
            " has_disability, disabilities, life_status, status, household_id, province_code, regency_code,"
            " district_code, village_code) VALUES ($1, $2, true, '{}', 'Target', 'F', '1990-01-10', 'head',"
            " false, '{}', 'alive', 'active', $3, '33', '33.14', '33.14.01', '33.14.01.2001')",
            person, TARGET_NIK, home)
        began = time.perf_counter()
        rows = synthetic(entries, person, start)
        print(f"generated {len(rows):,} entries in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        await conn.copy_records_to_table("access_logs", records=rows, columns=COLUMNS)
        print(f"COPY into access_logs (with its indexes) in {time.perf_counter() - began:.1f} s")
        await conn.execute("ANALYZE access_logs")
        await conn.execute("ANALYZE persons")
    finally:
        await conn.close()


async def vacuum(owner: str) -> None:
    # What autovacuum leaves on a live log (inserted once, sealed once, never changed): a visibility
    # map, so counts over a time range can be index-only scans instead of reading the whole heap.
    conn = await asyncpg.connect(owner.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        began = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) access_logs")
        print(f"VACUUM (ANALYZE) access_logs in {time.perf_counter() - began:.1f} s")
    finally:
        await conn.close()


async def measure(owner: str, runs: int, start: datetime) -> None:
    engine = create_async_engine(app_url_from_owner(owner, None), pool_size=1)
    auditor = Principal(subject="aud-1", role=Role.auditor, scope=RegionScope.national())
    sessions = make_sessionmaker(engine)
    t1, t2 = start + timedelta(days=20), start + timedelta(days=50)

    def query_page(query: audit_service.LogQuery, pages: int) -> object:
        # What the ``accessLogs`` resolver does per page: the filter (a NIK becomes person ids), then
        # one keyset page after the previous page's last entry.
        async def run() -> None:
            async with sessions() as session, session.begin():
                await set_scope(session, auditor)
                where = await audit_service.log_filter(session, auditor, query)
                after, offset = None, 0
                for _ in range(pages):
                    found = await audit_service.page(session, where, PageRequest(offset=offset, limit=50), after)
                    assert found.items, "the benchmark query found nothing"
                    if not found.has_next:
                        break
                    after, offset = audit_service.sort_key(found.items[-1]), offset + len(found.items)
        return run

    def query_count(query: audit_service.LogQuery) -> object:
        # ``totalCount``: exact, and computed only when a query selects it.
        async def run() -> None:
            async with sessions() as session, session.begin():
                await set_scope(session, auditor)
                await audit_service.count(session, await audit_service.log_filter(session, auditor, query))
        return run

    by_nik = audit_service.LogQuery(person_nik=TARGET_NIK)
    by_actor = audit_service.LogQuery(actor="user-42", since=t1, until=t2)
    by_time = audit_service.LogQuery(since=t1, until=t2)
    everything = audit_service.LogQuery()
    async with sessions() as session, session.begin():
        await set_scope(session, auditor)
        where = await audit_service.log_filter(session, auditor, by_nik)
        print(f"entries naming the target NIK: {await audit_service.count(session, where)}")
        plan = (await session.execute(text(
            "EXPLAIN SELECT * FROM access_logs WHERE actor = 'user-42' AND logged_at >= :a AND logged_at < :b "
            "ORDER BY logged_at DESC, id DESC LIMIT 51"), {"a": t1, "b": t2})).scalars().all()
        print("plan (actor):", plan[0] if plan else "?", "|", plan[1].strip() if len(plan) > 1 else "")
    await timed("who read NIK N (page 1 of 50)", runs, query_page(by_nik, 1))
    await timed("who read NIK N (pages 1+2 of 50)", runs, query_page(by_nik, 2))
    await timed("what did actor X read between T1 and T2 (page 1 of 50)", runs, query_page(by_actor, 1))
    await timed("what did actor X read between T1 and T2 (pages 1+2)", runs, query_page(by_actor, 2))
    await timed("whole log, newest first (pages 1-20 of 50)", max(1, runs // 10), query_page(everything, 20))
    await timed("totalCount: who read NIK N", runs, query_count(by_nik))
    await timed("totalCount: actor X between T1 and T2", runs, query_count(by_actor))
    await timed("totalCount: everyone between T1 and T2 (a third)", max(1, runs // 10), query_count(by_time))
    await timed("totalCount: the whole log", max(1, runs // 10), query_count(everything))
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the loaded database (its name is printed)")
    parser.add_argument("--vacuum", action="store_true",
                        help="VACUUM the log before measuring, as autovacuum would have on a live one")
    parser.add_argument("--database", help="measure an already loaded database (from --keep) instead of loading one")
    asyncio.run(main(parser.parse_args()))
