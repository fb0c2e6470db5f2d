"""Sync N households from a SIKS-NG-shaped source into an empty database; compare with a plain COPY.

    python benchmarks/sync.py --records 1000000 [--page-size 2000] [--server-url postgresql://postgres@127.0.0.1:5432/postgres]

Reports the end-to-end sync rate (fetch over HTTP, translate, validate, upsert households, members
and decile history, checkpoint, reconcile), the peak RSS of the syncing process, then the rate of
a bare COPY of the same rows into the same tables, and the ratio. A scratch database is created
and dropped. The source is the mock SIKS-NG wire format generated page by page in a separate
process (``population(seed=page, size=page_size)``), so neither side holds the whole source.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import resource
import socket
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mocks.population import Household, population

SEED_BASE = 1000


def page_households(page: int, page_size: int) -> list[Household]:
    return list(population(SEED_BASE + page, page_size))


def serve(port: int, records: int, page_size: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from mocks.faults import Faults, json_bytes
    from mocks.siks_ng import wire

    pages = -(-records // page_size)
    faults = Faults()
    served: dict[str, list[tuple[str, int]]] = defaultdict(list)

    async def households(request: Request) -> Response:
        page = int(request.query_params.get("cursor") or 0)
        size = min(page_size, records - page * page_size)
        rows = page_households(page, page_size)[:size]
        for h in rows:
            served[h.village_code.replace(".", "")[:6]].append((h.household_id, h.version))
        data = [wire(h, faults) for h in rows]
        body = {"status": "OK", "halaman": page + 1, "jumlah": len(data), "data": data,
                "cursor_berikutnya": str(page + 1) if page + 1 < pages else None}
        return Response(json_bytes(body), media_type="application/json")

    async def rekap(request: Request) -> Response:
        out = []
        for district, entries in sorted(served.items()):
            entries.sort()
            text = "\n".join(f"{k}:{v}" for k, v in entries)
            out.append({"kode_kecamatan": district, "jumlah_rt": len(entries),
                        "hash": hashlib.sha256(text.encode()).hexdigest()})
        return JSONResponse({"rekap": out})

    app = Starlette(routes=[Route("/api/v1/rumah-tangga", households), Route("/api/v1/rekap", rekap)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_sync(owner: str, app_url: str, base_url: str, page_size: int) -> tuple[float, int, Any]:
    from auth.principal import Principal
    from connectors.http import ClientOptions, Credentials
    from connectors.siks_ng import SiksNgClient
    from hub.config import Profile, Settings
    from hub.db.engine import make_engine, make_sessionmaker, set_scope
    from hub.sync import service

    settings = Settings(profile=Profile.test, database_url=owner)
    engine = make_engine(app_url, pool_size=3, max_overflow=0)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        await set_scope(session, Principal.system("bench"))
        connector = await service.create_connector(session, Principal.system("bench"), settings,
                                                   service.ConnectorInput(name="bench", kind="siks-ng",
                                                                          base_url=base_url))
    source = SiksNgClient(base_url, Credentials(), options=ClientOptions(timeout=120))
    started = time.perf_counter()
    result = await service.run_sync(sessionmaker, connector, source, full=True, page_size=page_size)
    elapsed = time.perf_counter() - started
    await source.aclose()
    await engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return elapsed, peak_mb, result


async def run_copy(server_db: str, records: int, page_size: int) -> float:
    """COPY the same households, members and decile rows (as a superuser: COPY FROM refuses RLS tables otherwise)."""
    import uuid

    import asyncpg

    conn = await asyncpg.connect(server_db)
    await conn.execute("TRUNCATE households, persons, household_deciles CASCADE")
    elapsed = 0.0
    pages = -(-records // page_size)
    for page in range(pages):
        rows = page_households(page, page_size)[: records - page * page_size]
        hh, pp, dd = [], [], []
        for h in rows:
            hid = uuid.uuid4()
            v = h.village_code
            codes = (v[:2], v[:5], v[:8], v)
            hh.append((hid, "siks-ng", h.household_id, str(h.version), h.household_id, *codes, h.address, h.decile,
                       "active"))
            dd.append((uuid.uuid4(), hid, h.decile, str(h.version), h.updated_at.date(), "siks-ng", *codes))
            for m in h.members:
                pp.append((uuid.uuid4(), "siks-ng", m.member_id, str(h.version), hid, *codes, m.nik, True, [],
                           m.registry_name, m.sex, m.registry_birth_date, m.birth_place, "other",
                           m.has_disability, "alive", "active"))
        started = time.perf_counter()  # only the COPY is timed, not building the rows
        await conn.copy_records_to_table("households", records=hh, columns=[
            "id", "source_system", "source_record_id", "source_version", "registry_id", "province_code",
            "regency_code", "district_code", "village_code", "address", "decile", "status"])
        await conn.copy_records_to_table("household_deciles", records=dd, columns=[
            "id", "household_id", "decile", "registry_version", "registry_date", "source_system", "province_code",
            "regency_code", "district_code", "village_code"])
        await conn.copy_records_to_table("persons", records=pp, columns=[
            "id", "source_system", "source_record_id", "source_version", "household_id", "province_code",
            "regency_code", "district_code", "village_code", "nik", "nik_valid", "nik_flags", "name", "sex",
            "birth_date", "birth_place", "relationship_to_head", "has_disability", "life_status", "status"])
        elapsed += time.perf_counter() - started
    await conn.close()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=2000)
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    from sqlalchemy.engine import make_url

    from hub.config import app_url_from_owner, to_async_url
    from hub.db.embedded import ensure_database
    from hub.db.migrate import upgrade
    from tests.conftest import _drop_database

    name = f"slrt_bench_{int(time.time())}"
    server_url = to_async_url(args.server_url)
    owner = await ensure_database(server_url, name)
    await asyncio.to_thread(upgrade, owner)
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(port, args.records, args.page_size),
                                                          daemon=True)
    server.start()
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    try:
        elapsed, peak_mb, result = await run_sync(owner, app_url_from_owner(owner, None), f"http://127.0.0.1:{port}",
                                                  args.page_size)
        p = result.progress
        print(f"sync : {p.inserted:,} households ({p.fetched:,} fetched) in {elapsed:.1f}s = "
              f"{p.fetched / elapsed:,.0f} records/s; status={result.status.value} "
              f"reconciliation_ok={(result.reconciliation or {}).get('ok')}; peak RSS {peak_mb} MB")
        copy_db = make_url(owner).set(drivername="postgresql").render_as_string(hide_password=False)
        copy_elapsed = await run_copy(copy_db, args.records, args.page_size)
        print(f"COPY : {args.records:,} households (+members, deciles) in {copy_elapsed:.1f}s = "
              f"{args.records / copy_elapsed:,.0f} records/s (COPY calls only)")
        print(f"ratio: sync / COPY = {(p.fetched / elapsed) / (args.records / copy_elapsed):.2f}x")
    finally:
        server.terminate()
        await _drop_database(server_url, name)


if __name__ == "__main__":
    asyncio.run(main())
