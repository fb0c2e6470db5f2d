"""How long a ministry push of N enrolments takes through the whole stack (GraphQL, service, PostgreSQL).

    python -m benchmarks.push [--server postgresql://postgres@127.0.0.1:5432/postgres] [--items 1000]

Creates a scratch database on the server, migrates it, seeds one programme and ``--items`` persons,
then pushes ``--items`` enrolments (in-process ASGI, so no network) in four ways and prints the
median and worst wall time of ``--rounds`` runs each: all CREATED, all UNCHANGED, all UPDATED,
and a replay of a stored response. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.requests import Request

from auth.principal import Principal, RegionScope, Role
from hub.config import Profile, Settings, app_url_from_owner, to_async_url
from hub.db.base import region_codes
from hub.db.embedded import ensure_database
from hub.db.engine import make_sessionmaker, set_scope
from hub.db.migrate import upgrade
from hub.identity import build_nik
from hub.models import Household, Person, Programme, ProgrammeLevel, Sex, TargetUnit
from schema.app import create_app

MINISTRY = Principal("kemensos", Role.ministry_system, RegionScope.national(), programmes=frozenset({"PKH"}),
                     client_id="kemensos-pkh")
PUSH = """mutation($items: [EnrolmentItemInput!]!, $key: String!) {
  upsertEnrolments(programme: "PKH", items: $items, idempotencyKey: $key) {
    __typename ... on UpsertEnrolmentsPayload { replayed results { outcome } } ... on UserError { code message } } }"""
VILLAGE = "33.14.01.2001"


async def seed(owner_url: str, persons: int) -> list[str]:
    engine = create_async_engine(owner_url)
    niks = []
    async with make_sessionmaker(engine)() as session, session.begin():
        await set_scope(session, Principal.system("bench"))
        session.add(Programme(code="PKH", name="PKH", owner_agency="Kemensos", level=ProgrammeLevel.central,
                              target_unit=TargetUnit.household))
        for start in range(0, persons, 10):
            household = Household(address="bench", decile=1, **region_codes(VILLAGE))
            session.add(household)
            await session.flush()
            for n in range(start, min(start + 10, persons)):
                nik = build_nik("33.14.01", "M", date(1980 + n // 9999, 1, 1), n % 9999 + 1)
                niks.append(nik)
                session.add(Person(nik=nik, name=f"Warga {n}", sex=Sex.male, household_id=household.id,
                                   **region_codes(VILLAGE)))
    await engine.dispose()
    return niks


async def run(server: str, items: int, rounds: int) -> None:
    name = f"slrt_bench_push_{secrets.token_hex(3)}"
    owner = await ensure_database(to_async_url(server), name)
    try:
        await asyncio.to_thread(upgrade, owner)
        niks = await seed(owner, items)
        engine = create_async_engine(app_url_from_owner(owner, None), pool_size=2)

        async def authenticate(request: Request) -> Principal:
            return MINISTRY

        settings = Settings(profile=Profile.test, database_url=owner)
        app = create_app(settings, bind=engine, authenticate=authenticate)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120) as client:

            async def push(status: str, key: str, prefix: str) -> float:
                batch = [{"sourceRecordId": f"{prefix}{i}", "nik": nik, "status": status}
                         for i, nik in enumerate(niks)]
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": PUSH, "variables": {"items": batch,
                                                                                             "key": key}})
                elapsed = time.perf_counter() - started
                body: dict[str, Any] = response.json()
                result = body["data"]["upsertEnrolments"]
                assert result["__typename"] == "UpsertEnrolmentsPayload", body
                return elapsed

            timings: dict[str, list[float]] = {"created": [], "unchanged": [], "updated": [], "replayed": []}
            for r in range(rounds):
                prefix = f"r{r}-"
                timings["created"].append(await push("ACTIVE", f"c{r}", prefix))
                timings["unchanged"].append(await push("ACTIVE", f"u{r}", prefix))
                timings["updated"].append(await push("SUSPENDED", f"s{r}", prefix))
                timings["replayed"].append(await push("SUSPENDED", f"s{r}", prefix))
        await engine.dispose()
        print(f"upsertEnrolments, {items} items per push, {rounds} rounds (in-process ASGI, PostgreSQL on {server})")
        for kind, values in timings.items():
            median = statistics.median(values)
            print(f"  {kind:<10} median {median * 1000:8.1f} ms   worst {max(values) * 1000:8.1f} ms   "
                  f"{items / median:9.0f} items/s")
    finally:
        admin = create_async_engine(to_async_url(server), isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("TEST_DATABASE_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    asyncio.run(run(args.server, args.items, args.rounds))


if __name__ == "__main__":
    main(sys.argv[1:])
