"""Is "out of scope" in the same timing class as "does not exist"? (issue 5 "Roles and scope")

    python -m benchmarks.oracle [--households 20000] [--rounds 400] [--database slrt_bench_oracle]

Seeds the synthetic population of ``benchmarks.api`` (one regency, ``33.14``) into its own database
(kept between runs; reseeded when the size differs), then asks the hub, in process over ASGI with a real
PostgreSQL pool, as a supervisor of ONE district, for rows in its district (in scope), rows of the other
districts (out of scope: they exist) and ids / NIKs / KKs nobody has (nonexistent). The three classes
and the look-ups (``node``, ``household`` with members, ``personByNik``, ``familyByKk``-like NIK look-up
through ``_entities``) are interleaved in one random order, so drift in machine load hits all alike.

Prints p50 / p90 / p99 per look-up and class, and the ratios out-of-scope / nonexistent. The tests
(``tests/authz/test_oracle.py``) show the answers are byte-identical and the SQL the same; this shows
the time is too.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg
import httpx

from benchmarks.api import DEFAULT_SERVER, _pg, prepare_database

DATABASE = "slrt_bench_oracle"
CLASSES = ("in_scope", "out_of_scope", "nonexistent")

NODE = "query($id: ID!) { node(id: $id) { id ... on Household { decile } } }"
HOUSEHOLD = "query($id: ID!) { household(id: $id) { id decile members { id nik name } } }"
PERSON = "query($nik: String!) { personByNik(nik: $nik) { id name household { id decile } } }"
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Person { id name } } }"


async def samples(owner: str, district: str, size: int) -> dict[str, dict[str, list[Any]]]:
    """For each look-up kind, ``size`` arguments of each class."""
    from hub.identity import build_nik
    from schema.ids import to_global_id

    conn = await asyncpg.connect(_pg(owner))
    try:
        await conn.execute("SELECT set_config('slrt.scope', '*', false)")

        async def pick(sql: str, inside: bool) -> list[Any]:
            rows = await conn.fetch(sql.format(op="=" if inside else "<>"), district, size)
            return [r[0] for r in rows]

        households_sql = "SELECT id FROM households WHERE district_code {op} $1 ORDER BY random() LIMIT $2"
        persons_sql = "SELECT id FROM persons WHERE district_code {op} $1 ORDER BY random() LIMIT $2"
        niks_sql = ("SELECT nik FROM persons WHERE district_code {op} $1 AND nik NOT IN "
                    "(SELECT nik FROM persons GROUP BY nik HAVING count(*) > 1) ORDER BY random() LIMIT $2")
        inside_h, outside_h = await pick(households_sql, True), await pick(households_sql, False)
        inside_p, outside_p = await pick(persons_sql, True), await pick(persons_sql, False)
        inside_n, outside_n = await pick(niks_sql, True), await pick(niks_sql, False)
        taken = {r[0] for r in await conn.fetch("SELECT nik FROM persons")}
    finally:
        await conn.close()
    rng = random.Random(7)  # noqa: S311  (synthetic data)
    unknown_niks: list[str] = []
    while len(unknown_niks) < size:
        # Well-formed NIKs of the same districts, born in a year the seed never uses: nobody has them.
        nik = build_nik(district, rng.choice("MF"), date(2015, 3, 1), rng.randint(1, 9999))
        if nik not in taken:
            unknown_niks.append(nik)

    def gids(kind: str, ids: list[uuid.UUID]) -> list[str]:
        return [str(to_global_id(kind, i)) for i in ids]

    def new_ids(kind: str) -> list[str]:
        return gids(kind, [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(size)])

    return {
        "node(Household)": {"in_scope": gids("Household", inside_h), "out_of_scope": gids("Household", outside_h),
                            "nonexistent": new_ids("Household")},
        "household+members": {"in_scope": gids("Household", inside_h),
                              "out_of_scope": gids("Household", outside_h), "nonexistent": new_ids("Household")},
        "personByNik": {"in_scope": inside_n, "out_of_scope": outside_n, "nonexistent": unknown_niks},
        "_entities(Person)": {"in_scope": gids("Person", inside_p), "out_of_scope": gids("Person", outside_p),
                              "nonexistent": new_ids("Person")},
    }


def request(kind: str, value: Any) -> dict[str, Any]:
    if kind == "node(Household)":
        return {"query": NODE, "variables": {"id": value}}
    if kind == "household+members":
        return {"query": HOUSEHOLD, "variables": {"id": value}}
    if kind == "personByNik":
        return {"query": PERSON, "variables": {"nik": value}}
    return {"query": ENTITIES, "variables": {"r": [{"__typename": "Person", "id": value}]}}


def found(kind: str, body: dict[str, Any]) -> bool:
    data = body["data"]
    if kind == "_entities(Person)":
        return data["_entities"][0] is not None
    return next(iter(data.values())) is not None


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    from auth.principal import Principal, RegionScope, Role
    from hub.config import Profile, Settings
    from schema.app import create_app

    owner, app_url = await prepare_database(args.server, args.households, reseed=False, database=args.database)
    conn = await asyncpg.connect(_pg(owner))
    try:
        district = await conn.fetchval("SELECT min(district_code) FROM households")
    finally:
        await conn.close()
    plan = await samples(owner, district, args.rounds)
    caller = Principal(subject="bench-oracle", role=Role.supervisor, scope=RegionScope.of(district))

    async def authenticate(request: Any) -> Principal:
        return caller

    settings = Settings(profile=Profile.dev, database_url=owner, app_database_url=app_url, db_pool_size=4,
                        db_max_overflow=0, log_level="WARNING", rate_limit_requests_per_minute=10**9,
                        rate_limit_objects_per_minute=10**9)
    app = create_app(settings, authenticate=authenticate)
    work = [(kind, cls, value) for kind, by_class in plan.items() for cls, values in by_class.items()
            for value in values]
    random.Random(args.seed).shuffle(work)  # noqa: S311  (an order, not a secret)
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.bench") as client:
        for kind, by_class in plan.items():  # warm every path and the statement caches
            for cls in CLASSES:
                for value in by_class[cls][:20]:
                    await client.post("/graphql", json=request(kind, value))
        for kind, cls, value in work:
            payload = request(kind, value)
            started = time.perf_counter()
            response = await client.post("/graphql", json=payload)
            elapsed = time.perf_counter() - started
            body = response.json() if response.status_code == 200 else {"errors": response.text}
            if "errors" in body or found(kind, body) != (cls == "in_scope"):
                raise SystemExit(f"unexpected answer for {kind} {cls}: {response.text[:200]}")
            times[(kind, cls)].append(elapsed * 1000)

    print(f"benchmarks.oracle: {args.households:,} households, supervisor of {district}, "
          f"{args.rounds} look-ups per kind and class, interleaved at random; times in ms")
    print(f"{'look-up':<20} {'class':<13} {'p50':>7} {'p90':>7} {'p99':>7}")
    for kind in plan:
        for cls in CLASSES:
            t = times[(kind, cls)]
            print(f"{kind:<20} {cls:<13} {statistics.median(t):7.2f} {quantile(t, 0.9):7.2f} "
                  f"{quantile(t, 0.99):7.2f}")
        out, none = times[(kind, "out_of_scope")], times[(kind, "nonexistent")]
        print(f"{kind:<20} {'out/nonexist':<13} {statistics.median(out) / statistics.median(none):7.3f} "
              f"{quantile(out, 0.9) / quantile(none, 0.9):7.3f} {quantile(out, 0.99) / quantile(none, 0.99):7.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server (any database on it).")
    parser.add_argument("--database", default=DATABASE, help="Database to seed and use (kept between runs).")
    parser.add_argument("--households", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=400, help="Look-ups per kind and class.")
    parser.add_argument("--seed", type=int, default=1, help="Seed of the random interleaving.")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
