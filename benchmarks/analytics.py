"""Time every analytics figure and the whole dashboard at 100,000 households.

    python benchmarks/analytics.py [--households 100000] [--server postgresql://postgres@127.0.0.1:5432/postgres]

Builds (once; ``--rebuild`` to redo) a database ``slrt_bench_analytics`` on the server with a synthetic
population loaded by COPY: households spread over the villages of one regency (Sragen, 33.14),
~3.5 members each, 5 % programme-list households (linked to the registry by NIK, by name, or not at
all), eight programmes, needs, complaints, proposals, reviews and cases. Then it times, as the app
role with row-level security in force, each figure for a regency manager (the whole population), a
district supervisor and a village facilitator, and the whole dashboard through GraphQL over ASGI.
Targets: each figure < 500 ms, the whole dashboard < 2 s. Prints the medians of ``--repeat`` runs.

Before timing, the regency's analytics summary is rebuilt (as after a sync run; its time is printed):
the regency manager's whole dashboard reads coverage, overlap, targeting and profiles from it, the
``summary:`` rows time each of those figures from it, and ``(service, live)`` the live path.

``--policy-ab ROUNDS`` instead times only the regency manager's whole dashboard under revision 0006's
row-level security and under 0007's, alternated, and prints the ratio: on a shared machine the load
moves between runs, so only a comparison inside one run says what the policy change is worth.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auth.principal import Principal, RegionScope, Role
from hub.analytics import service as analytics
from hub.analytics import summary
from hub.analytics.repository import AnalyticsRepository, SummaryReader
from hub.config import Profile, Settings, app_url_from_owner
from hub.db.embedded import ensure_database
from hub.db.engine import make_sessionmaker, set_scope
from hub.db.migrate import upgrade
from hub.identity import build_nik
from hub.regions.loader import load_regions

DATABASE = "slrt_bench_analytics"
REGENCY = "33.14"
PROGRAMMES = [  # code, decile band, individual?, share of the band enrolled, share enrolled outside it
    ("PKH", 1, 2, False, 0.45, 0.02),
    ("BPNT", 1, 3, False, 0.55, 0.03),
    ("PBI-JK", 1, 4, True, 0.60, 0.04),
    ("PIP", 1, 4, True, 0.30, 0.02),
    ("BAZNAS", None, None, False, 0.05, 0.0),
    ("RS-RTLH", 1, 2, False, 0.05, 0.005),
    ("KUBE", 1, 3, False, 0.04, 0.005),
    ("ASPD", 1, 4, True, 0.02, 0.0),
]
CHOSEN = ["PKH", "BPNT", "PBI-JK", "PIP", "BAZNAS"]
DECILE_WEIGHTS = [14, 13, 12, 11, 10, 9, 9, 8, 7, 7]
FIRST = ["Budi", "Siti", "Agus", "Sri", "Joko", "Dewi", "Slamet", "Tri", "Eko", "Wahyu", "Rina", "Sutarno",
         "Suparmi", "Bambang", "Endang", "Yanto", "Lestari", "Heru", "Nur", "Ahmad"]
LAST = ["Santoso", "Wahyuni", "Susilo", "Pratama", "Lestari", "Saputra", "Handayani", "Sutrisno", "Rahayu",
        "Kurniawan", "Setiawan", "Hidayat", "Purnomo", "Utami", "Wibowo", "Nugroho", "Hartono", "Sari"]


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def build(server: str, households: int, seed: int = 20260101) -> None:
    rng = random.Random(seed)  # noqa: S311  (synthetic data, not cryptography)
    owner = await ensure_database(server, DATABASE)
    await asyncio.to_thread(upgrade, owner)
    engine = create_async_engine(owner)
    async with engine.begin() as conn:
        await load_regions(conn)
    await engine.dispose()
    # A superuser: COPY into tables with row-level security needs one (RLS does not apply to it).
    conn = await asyncpg.connect(asyncpg_dsn(owner))
    try:
        await conn.execute("TRUNCATE households, persons, enrolments, needs, complaints, cases, case_events, "
                           "proposals, reviews, programmes CASCADE")
        villages = [r["code"] for r in await conn.fetch(
            "SELECT code FROM regions WHERE level = 4 AND parent_code LIKE $1 ORDER BY code", REGENCY + ".%")]
        started = time.perf_counter()
        hh_rows, person_rows, registry_people, list_households = [], [], [], []
        serial = 0
        for i in range(households):
            village = villages[i % len(villages)]
            parts = village.split(".")
            codes = (parts[0], ".".join(parts[:2]), ".".join(parts[:3]), village)
            is_list = i % 20 == 19
            decile = None if is_list else rng.choices(range(1, 11), DECILE_WEIGHTS)[0]
            hid = uuid.uuid4()
            address = f"Dusun {rng.choice(LAST)} RT {rng.randint(1, 12):02d} RW {rng.randint(1, 6):02d}"
            hh_rows.append((hid, f"R{i:08d}" if decile else None, address, decile, "active",
                            "pip-list" if is_list else "siks-ng", *codes))
            if is_list:
                list_households.append((hid, codes, address))
                continue
            members = rng.choice([1, 2, 3, 3, 4, 4, 4, 5, 5, 6])
            for m in range(members):
                serial += 1
                sex = rng.choice("MF")
                age = rng.randint(30, 75) if m == 0 else rng.randint(0, 70)
                born = date(2025 - age, rng.randint(1, 12), rng.randint(1, 28))
                valid = rng.random() > 0.02
                nik = build_nik(codes[2], sex, born, serial % 9999 + 1) if valid else f"{serial:012d}"
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                disabled = rng.random() < 0.04
                rel = "head" if m == 0 else rng.choice(["spouse", "child", "child", "parent"])
                pid = uuid.uuid4()
                person_rows.append((pid, nik, valid, name, sex, born, rel, disabled, "alive", "active", hid,
                                    "siks-ng", *codes))
                registry_people.append((pid, hid, decile, nik, valid, name, born, codes))
        # Programme-list members: 60 % share a NIK with a registry member, 25 % only a name and
        # birth date (invalid NIK), 15 % nobody in the registry.
        list_people = []
        for hid, codes, _address in list_households:
            roll = rng.random()
            twin = rng.choice(registry_people)
            serial += 1
            if roll < 0.6 and twin[4]:
                nik, valid, name, born = twin[3], True, twin[5].upper(), twin[6]
            elif roll < 0.85:
                nik, valid, name, born = "", False, twin[5], twin[6]
            else:
                born = date(rng.randint(1950, 2015), rng.randint(1, 12), rng.randint(1, 28))
                nik, valid, name = f"9{serial:011d}", False, f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            pid = uuid.uuid4()
            person_rows.append((pid, nik, valid, name, rng.choice("MF"), born, "head", False, "alive", "active",
                                hid, "pip-list", *codes))
            list_people.append((pid, hid, codes))
        region_cols = ["province_code", "regency_code", "district_code", "village_code"]
        await conn.copy_records_to_table("households", records=hh_rows, columns=[
            "id", "registry_id", "address", "decile", "status", "source_system", *region_cols])
        await conn.copy_records_to_table("persons", records=person_rows, columns=[
            "id", "nik", "nik_valid", "name", "sex", "birth_date", "relationship_to_head", "has_disability",
            "life_status", "status", "household_id", "source_system", *region_cols])

        programme_ids = {}
        for code, low, high, individual, _, _ in PROGRAMMES:
            programme_ids[code] = pid = uuid.uuid4()
            await conn.execute(
                "INSERT INTO programmes (id, code, name, owner_agency, level, target_unit, eligibility, decile_min,"
                " decile_max, source_system) VALUES ($1, $2, $3, 'Kemensos', $4, $5, '', $6, $7, 'catalogue')",
                pid, code, f"Programme {code}", "non_government" if code == "BAZNAS" else "central",
                "individual" if individual else "household", low, high)
        heads = {}
        for pid, hid, decile, *_rest, codes in registry_people:
            heads.setdefault(hid, (pid, decile, codes))
        enrolments = []
        for code, low, high, individual, share_in, share_out in PROGRAMMES:
            for hid, (pid, decile, codes) in heads.items():
                in_band = low is None or (decile is not None and low <= decile <= (high or 10))
                if rng.random() < (share_in if in_band else share_out):
                    enrolments.append((uuid.uuid4(), programme_ids[code], hid, pid if individual else None,
                                       "active", code.lower(), *codes))
        for pid, hid, codes in list_people:  # the lists came from PIP and PBI-JK
            enrolments.append((uuid.uuid4(), programme_ids[rng.choice(["PIP", "PBI-JK"])], hid, pid, "active",
                               "list", *codes))
        await conn.copy_records_to_table("enrolments", records=enrolments, columns=[
            "id", "programme_id", "household_id", "person_id", "status", "source_system", *region_cols])

        sample = rng.sample(list(heads.items()), k=min(len(heads), households // 10))
        needs, complaints, proposals, reviews, cases, events = [], [], [], [], [], []
        now = datetime(2026, 1, 1, tzinfo=UTC)
        statuses = ["submitted", "approved", "rejected", "returned"]
        for n, (hid, (_pid, _, codes)) in enumerate(sample):
            need_id = uuid.uuid4()
            needs.append((need_id, hid, rng.choice(["health", "education", "food", "housing", "disability_aid"]),
                          "", rng.choice(statuses), "fac", *codes))
            if n % 3 == 0:
                complaints.append((uuid.uuid4(), hid, rng.choice(["targeting", "service", "payment"]), "",
                                   rng.choice(statuses), "fac", *codes))
            if n % 5 == 0:
                proposals.append((uuid.uuid4(), rng.choice(["new_household", "new_person", "correction"]), "{}",
                                  rng.choice(statuses), "fac", *codes))
                reviews.append((uuid.uuid4(), "need", need_id, "sup", rng.choice(statuses[1:]), "", now, *codes))
            if n % 2 == 0:
                case_id = uuid.uuid4()
                created = now - timedelta(days=rng.randint(1, 90))
                path = ["referred", "approved", "informed"][: rng.randint(0, 3)]
                cases.append((case_id, hid, need_id, path[-1] if path else "open", created,
                              created + timedelta(days=14), *codes))
                at = created
                for step in path:
                    at += timedelta(hours=rng.randint(2, 200))
                    events.append((uuid.uuid4(), case_id, "mgr", "manager", step, "", at, *codes))
        await conn.copy_records_to_table("needs", records=needs, columns=[
            "id", "household_id", "category", "description", "status", "recorded_by", *region_cols])
        await conn.copy_records_to_table("complaints", records=complaints, columns=[
            "id", "household_id", "category", "description", "status", "recorded_by", *region_cols])
        await conn.copy_records_to_table("proposals", records=proposals, columns=[
            "id", "kind", "payload", "status", "submitted_by", *region_cols])
        await conn.copy_records_to_table("reviews", records=reviews, columns=[
            "id", "subject_type", "subject_id", "reviewer", "decision", "reason", "at", *region_cols])
        await conn.copy_records_to_table("cases", records=cases, columns=[
            "id", "household_id", "need_id", "status", "created_at", "due_at", *region_cols])
        await conn.copy_records_to_table("case_events", records=events, columns=[
            "id", "case_id", "actor", "role", "to_status", "reason", "at", *region_cols])
        await conn.execute("ANALYZE")
        print(f"built {len(hh_rows):,} households, {len(person_rows):,} persons, {len(enrolments):,} enrolments, "
              f"{len(needs):,} needs, {len(cases):,} cases in {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()


async def timed(label: str, repeat: int, fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


async def bench_principal(engine: Any, principal: Principal, repeat: int) -> dict[str, float]:
    results: dict[str, float] = {}
    async with engine.connect() as conn, make_sessionmaker(conn)() as session:
        session: AsyncSession  # type: ignore[no-redef]
        await set_scope(session, principal)
        repo = AnalyticsRepository(session, principal)
        await repo.tune()
        progs = [p for p in await analytics._programmes(repo, CHOSEN)]
        ids = [p.id for p in progs]
        protection = analytics.Protection.for_principal(principal, 5)
        # Each figure on its own: one statement that computes everything it needs.
        results["name matching"], matches = await timed("match", repeat, lambda: analytics.name_matches(repo, ids))
        results["coverage"], coverage = await timed(
            "coverage", repeat, lambda: analytics.coverage(repo, progs, matches, protection))
        results["overlap"], overlap = await timed(
            "overlap", repeat, lambda: analytics.overlap(repo, progs, matches, protection))
        results["targeting"], targeting = await timed(
            "targeting", repeat, lambda: analytics.targeting(repo, progs, matches, protection))
        results["profiles"], _ = await timed(
            "profiles", repeat, lambda: analytics.profiles(repo, ids, matches, protection, date(2026, 1, 1)))
        results["workflow (5 statements)"], workflow = await timed(
            "workflow", repeat, lambda: analytics.workflow(repo, protection, datetime(2026, 1, 1, tzinfo=UTC)))
        results["flagged page (50)"], page = await timed("flags", repeat, lambda: analytics.flagged_households(
            session, principal, programme_code="PKH", limit=50))
        # The dashboard's own path: the shared sets prepared once, then each figure reads them.
        prepared = AnalyticsRepository(session, principal)

        async def prepare() -> None:
            prepared._prepared = None
            await prepared.prepare(ids, matches)

        results["dashboard: prepare shared sets"], _ = await timed("prepare", repeat, prepare)
        results["dashboard: coverage"], _ = await timed(
            "coverage", repeat, lambda: analytics.coverage(prepared, progs, matches, protection))
        results["dashboard: overlap"], _ = await timed(
            "overlap", repeat, lambda: analytics.overlap(prepared, progs, matches, protection))
        results["dashboard: targeting"], _ = await timed(
            "targeting", repeat, lambda: analytics.targeting(prepared, progs, matches, protection))
        results["dashboard: profiles"], _ = await timed(
            "profiles", repeat, lambda: analytics.profiles(prepared, ids, matches, protection, date(2026, 1, 1)))
        results["whole dashboard (service, live)"], _ = await timed(
            "dashboard", repeat, lambda: analytics.build_dashboard(
                session, principal, threshold=5, programme_codes=CHOSEN, use_summary=False))
        # The summary path (a regency's scope only; narrower scopes fall back to live above).
        summary = SummaryReader(session, principal)
        state = await summary.state()
        for name, figure in (("coverage", lambda r: analytics.coverage(r, progs, [], protection)),
                             ("overlap", lambda r: analytics.overlap(r, progs, [], protection)),
                             ("targeting", lambda r: analytics.targeting(r, progs, [], protection)),
                             ("profiles", lambda r: analytics.profiles(r, ids, [], protection,
                                                                       state.as_of if state else date.today()))):
            async def fresh(figure: Any = figure) -> Any:  # a new reader: nothing cached between runs
                return await figure(SummaryReader(session, principal))

            results[f"summary: {name}"], _ = await timed(name, repeat, fresh) if state else (float("nan"), None)
        results["whole dashboard (service)"], dash = await timed("dashboard", repeat, lambda: analytics.build_dashboard(
            session, principal, threshold=5, programme_codes=CHOSEN))
        print(f"  {principal.role.value}: dashboard from the summary: {dash.refreshed_at is not None}")
    print(f"\n  figures for {principal.role.value} {','.join(sorted(principal.scope.codes))} "
          f"({len(matches)} name matches):")
    for t in targeting:
        print(f"    {t.programme_code:7} enrolled {t.enrolled_households}  exclusion {t.exclusion}  outside band "
              f"{t.inclusion_outside_band}  not in registry {t.inclusion_not_in_registry}  by NIK {t.matched_by_nik}"
              f"  by name {t.matched_by_name}")
    pkh = [c for c in coverage if c.programme_code == "PKH" and c.in_band]
    print("    PKH coverage: " + ", ".join(f"D{c.decile} {c.enrolled_households}/{c.eligible_households}"
                                           for c in pkh))
    top = sorted((c for c in overlap.cells if c.programmes), key=lambda c: -(c.households or 0))[:4]
    print("    top overlaps: " + "; ".join(f"{'+'.join(c.programmes)} {c.households}" for c in top))
    print(f"    case SLA districts: {len(workflow.case_sla)}; flagged PKH households: {page.total}; "
          f"profile cells: {len(dash.profiles)}")
    return results


GRAPHQL = """query($codes: [String!]) { dashboard(programmeCodes: $codes) {
  refreshedAt protection { applied threshold } programmes { code }
  coverage { programmeCode decile inBand registryHouseholds registryPersons eligibleHouseholds enrolledHouseholds
             enrolledPersons coverageRate }
  overlap { programmes setSizes { programmeCode households } cells { programmes households } }
  targeting { programmeCode exclusion enrolledHouseholds inclusionOutsideBand inclusionNotInRegistry
              matchedInRegistry matchedByNik matchedByName }
  profiles { sex ageGroup hasDisability persons enrolled withNeed }
  workflow { proposals { kind group status count } reviews { kind group status count }
             submissions { kind group status count }
             caseSla { districtCode districtName cases open overdue steps { step moves medianHours } } } } }"""


async def bench_graphql(owner: str, principal: Principal, repeat: int) -> float:
    from schema.app import create_app

    async def authenticate(request: Any) -> Principal:
        return principal

    settings = Settings(profile=Profile.test, database_url=owner, app_database_url=app_url_from_owner(owner, None),
                        data_dir=Path(tempfile.mkdtemp(prefix="slrt-bench-")))
    app = create_app(settings, authenticate=authenticate)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        async def once() -> Any:
            response = await client.post("/graphql", json={"query": GRAPHQL, "variables": {"codes": CHOSEN}})
            body = response.json()
            assert "errors" not in body, body["errors"]
            return body

        warm = await once()  # warm the pool
        print(f"  GraphQL {principal.role.value}: refreshedAt {warm['data']['dashboard']['refreshedAt']}")
        ms, _ = await timed("graphql", repeat, once)
    return ms


async def policy_ab(owner: str, rounds: int) -> None:
    """The whole dashboard (service) for the regency manager under revision 0006's row-level security
    (per-row ``hub_scope_allows``, no birth-date index, full ANALYZE sample) and under 0007's,
    alternated round by round so that both see the same machine load. Leaves 0007 in place."""
    from hub.analytics import repository as analytics_repository
    from hub.migrations import security

    admin = await asyncpg.connect(asyncpg_dsn(owner))
    tables = [r["tablename"] for r in await admin.fetch(
        "SELECT tablename FROM pg_policies WHERE policyname = 'region_scope' ORDER BY tablename")]
    sample = analytics_repository.PREPARED_STATISTICS

    async def configure(legacy: bool) -> None:
        check = security.LEGACY_POLICY_CHECK if legacy else security.POLICY_CHECK
        for table in tables:
            await admin.execute(f'ALTER POLICY region_scope ON "{table}" USING ({check}) WITH CHECK ({check})')
        await admin.execute("DROP INDEX IF EXISTS ix_persons_birth_date" if legacy else
                            "CREATE INDEX IF NOT EXISTS ix_persons_birth_date ON persons (birth_date)")
        analytics_repository.PREPARED_STATISTICS = 100 if legacy else sample

    engine = create_async_engine(app_url_from_owner(owner, None), pool_size=1)
    manager = Principal("bench-manager", Role.manager, RegionScope.of(REGENCY))
    times: dict[str, list[float]] = {"0006": [], "0007": []}
    try:
        for _ in range(rounds):
            for label in ("0006", "0007"):
                await configure(legacy=label == "0006")
                async with engine.connect() as conn, make_sessionmaker(conn)() as session, session.begin():
                    await set_scope(session, manager)
                    started = time.perf_counter()
                    await analytics.build_dashboard(session, manager, threshold=5, programme_codes=CHOSEN)
                    times[label].append((time.perf_counter() - started) * 1000)
    finally:
        await configure(legacy=False)
        await engine.dispose()
        await admin.close()
    old, new = statistics.median(times["0006"]), statistics.median(times["0007"])
    print(f"\nwhole dashboard (service), regency manager, {rounds} alternated rounds, ms")
    for label, values in times.items():
        print(f"  {label}: " + " ".join(f"{v:.0f}" for v in values) + f"  median {statistics.median(values):.0f}")
    print(f"  0007 / 0006 = {new / old:.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--server", default=os.environ.get("TEST_DATABASE_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--policy-ab", type=int, metavar="ROUNDS", default=0,
                        help="only compare revision 0006's row-level security with 0007's, alternating")
    args = parser.parse_args()
    server = make_url(args.server).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    owner = await ensure_database(server, DATABASE)
    conn = await asyncpg.connect(asyncpg_dsn(owner))
    try:
        have = await conn.fetchval("SELECT count(*) FROM households") if await conn.fetchval(
            "SELECT to_regclass('households') IS NOT NULL") else 0
    finally:
        await conn.close()
    if args.rebuild or have != args.households:
        await build(server, args.households)
    else:
        await asyncio.to_thread(upgrade, owner)  # a database built before a newer migration
    if args.policy_ab:
        await policy_ab(owner, args.policy_ab)
        return
    engine = create_async_engine(app_url_from_owner(owner, None), pool_size=2)
    # The summary the regency manager's dashboard reads, rebuilt as after a sync run.
    refresh_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        await summary.refresh(make_sessionmaker(engine), [REGENCY], progress=print)
        refresh_times.append((time.perf_counter() - started) * 1000)
    print(f"summary refresh of regency {REGENCY}: median {statistics.median(refresh_times):.0f} ms "
          f"({' '.join(f'{t:.0f}' for t in refresh_times)})")
    village = "33.14.01.2001"
    principals = [
        Principal("bench-manager", Role.manager, RegionScope.of(REGENCY)),
        Principal("bench-supervisor", Role.supervisor, RegionScope.of("33.14.01")),
        Principal("bench-facilitator", Role.facilitator, RegionScope.of(village)),
    ]
    table: dict[str, dict[str, float]] = {}
    for p in principals:
        table[p.role.value] = await bench_principal(engine, p, args.repeat)
    await engine.dispose()
    for p in principals:
        table[p.role.value]["whole dashboard (GraphQL/HTTP)"] = await bench_graphql(owner, p, args.repeat)
    names = list(table[principals[0].role.value])
    print(f"\nmedian of {args.repeat} runs, ms, {args.households:,} households "
          "(targets: figure < 500, dashboard < 2000)")
    print(f"  {'figure':32}" + "".join(f"{p.role.value:>14}" for p in principals))
    for name in names:
        print(f"  {name:32}" + "".join(f"{table[p.role.value][name]:>14.0f}" for p in principals))


if __name__ == "__main__":
    asyncio.run(main())
