"""Mock programme lists: Education (PIP/KIP), Health (PBI-JK) and Baznas (mustahik, referrals).

Each speaks its own dialect: page numbers vs offsets, ``DD-MM-YYYY`` dates, its own status words.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mocks.common import Credentials, bad_request, digits, guard, int_param, page_shift, respond, status, token_endpoint
from mocks.faults import FaultConfig, Faults, admin_faults
from mocks.world import ProgrammeRow, Referral, World


def _dmy(value: Any) -> str | None:
    return value.strftime("%d-%m-%Y") if value else None


def _filter(rows: list[ProgrammeRow], region: str | None) -> list[ProgrammeRow]:
    return [r for r in rows if not region or digits(r.village_code).startswith(region)]


def _bad(faults: Faults, key: str) -> int:
    return hashlib.sha256(key.encode()).digest()[0] % 3 if faults.invalid(key) else -1


def _page_window(number: int, pages: int, shift: int) -> int:
    shifted = number + shift
    return shifted if 1 <= shifted <= max(pages, 1) else number


# --- Education (PIP) ------------------------------------------------------------------------------

def education_wire(r: ProgrammeRow, faults: Faults) -> dict[str, Any]:
    out: dict[str, Any] = {"id_penerima": r.record_id, "rev": r.version, "nik_siswa": r.nik, "nama_siswa": r.name,
                           "kd_desa": digits(r.village_code), "status_pencairan": r.status,
                           "tgl_sk": _dmy(r.start), "tgl_akhir": _dmy(r.end), "jenjang": "SD"}
    bad = _bad(faults, r.record_id)
    if bad == 0:
        out["tgl_sk"] = r.start.isoformat()  # wrong date format
    elif bad == 1:
        out["status_pencairan"] = "???"
    elif bad == 2:
        out["kd_desa"] = "33-14"
    return out


async def pip_recipients(request: Request) -> Response:
    early, fault, _ = await guard(request, paged=True)
    if early is not None:
        return early
    world: World = request.app.state.world
    rows = _filter(world.education, request.query_params.get("kd_wilayah"))
    per_page = int_param(request, "per_page", 50, 1, 1000)
    pages = max(1, -(-len(rows) // per_page))
    number = _page_window(int_param(request, "page", 1, 1, 10**6), pages, page_shift(fault))
    chunk = rows[(number - 1) * per_page: number * per_page]
    faults: Faults = request.app.state.faults
    return respond(request, {"page": number, "per_page": per_page, "total_pages": pages, "total": len(rows),
                             "results": [education_wire(r, faults) for r in chunk]}, fault)


def create_education_app(world: World, credentials: Credentials, faults: FaultConfig | None = None,
                         admin_token: str = "admin") -> Starlette:
    return _app(world, credentials, faults, admin_token, [
        Route("/pip/v2/status", status),
        Route("/pip/v2/penerima", pip_recipients),
    ])


# --- Health (PBI-JK) ------------------------------------------------------------------------------

def health_wire(r: ProgrammeRow, faults: Faults) -> dict[str, Any]:
    names = {"AKTIF": "1", "NONAKTIF": "2", "MENINGGAL": "3", "KELUAR": "4"}
    out: dict[str, Any] = {"noKartu": r.record_id, "versi": r.version, "nik": r.nik, "nama": r.name,
                           "kdDesa": digits(r.village_code),
                           "statusPeserta": {"kode": names.get(r.status, "0"), "nama": r.status},
                           "tglMulai": _dmy(r.start), "tglAkhir": _dmy(r.end) or ""}
    bad = _bad(faults, r.record_id)
    if bad == 0:
        out["tglMulai"] = "2026/01/15"
    elif bad == 1:
        out["statusPeserta"] = "AKTIF"
    elif bad == 2:
        out["nama"] = ""
    return out


async def pbi_members(request: Request) -> Response:
    early, fault, _ = await guard(request, paged=True)
    if early is not None:
        return early
    world: World = request.app.state.world
    rows = _filter(world.health, request.query_params.get("kdWilayah"))
    limit = int_param(request, "limit", 50, 1, 1000)
    offset = int_param(request, "offset", 0, 0, 10**9)
    shifted = offset + page_shift(fault) * limit
    if 0 <= shifted < len(rows):
        offset = shifted
    faults: Faults = request.app.state.faults
    payload = {"metaData": {"code": "200", "message": "OK"},
               "response": {"count": len(rows), "offset": offset,
                            "list": [health_wire(r, faults) for r in rows[offset: offset + limit]]}}
    return respond(request, payload, fault)


def create_health_app(world: World, credentials: Credentials, faults: FaultConfig | None = None,
                      admin_token: str = "admin") -> Starlette:
    return _app(world, credentials, faults, admin_token, [
        Route("/oauth/token", token_endpoint, methods=["POST"]),
        Route("/pbi/status", status),
        Route("/pbi/peserta", pbi_members),
    ])


# --- Baznas ---------------------------------------------------------------------------------------

PROGRAMMES = [
    {"kode_program": "BZN-ZMK", "nama_program": "Zakat Makan", "deskripsi": "Bantuan pangan bulanan bagi mustahik"},
    {"kode_program": "BZN-SEHAT", "nama_program": "Baznas Sehat", "deskripsi": "Biaya berobat dan pendampingan"},
    {"kode_program": "BZN-CERDAS", "nama_program": "Baznas Cerdas", "deskripsi": "Beasiswa anak mustahik"},
]
REFERRAL_FLOW = ("DITERIMA", "DIPROSES")


def baznas_wire(r: ProgrammeRow, faults: Faults) -> dict[str, Any]:
    out: dict[str, Any] = {"id_mustahik": r.record_id, "versi": r.version, "nik": r.nik, "nama": r.name,
                           "kode_desa": digits(r.village_code), "program": r.programme, "status": r.status,
                           "mulai": _dmy(r.start), "selesai": _dmy(r.end)}
    bad = _bad(faults, r.record_id)
    if bad == 0:
        out["mulai"] = "kemarin"
    elif bad == 1:
        out["status"] = "AKTIF!"
    elif bad == 2:
        out["kode_desa"] = None
    return out


async def programmes(request: Request) -> Response:
    early, fault, _ = await guard(request, paged=False)
    return early or respond(request, {"items": PROGRAMMES}, fault)


async def mustahik(request: Request) -> Response:
    early, fault, _ = await guard(request, paged=True)
    if early is not None:
        return early
    world: World = request.app.state.world
    rows = _filter(world.mustahik, request.query_params.get("wilayah"))
    size = int_param(request, "size", 50, 1, 1000)
    pages = max(1, -(-len(rows) // size))
    number = _page_window(int_param(request, "page", 1, 1, 10**6), pages, page_shift(fault))
    faults: Faults = request.app.state.faults
    chunk = rows[(number - 1) * size: number * size]
    return respond(request, {"page": number, "pages": pages, "items": [baznas_wire(r, faults) for r in chunk]}, fault)


def _referral_body(ref: Referral) -> dict[str, Any]:
    if ref.polls < len(REFERRAL_FLOW):
        state = REFERRAL_FLOW[ref.polls]
    else:
        state = "DISETUJUI" if hashlib.sha256(ref.referral_id.encode()).digest()[0] % 4 else "DITOLAK"
    return {"id_rujukan": ref.referral_id, "status": state, "diperbarui": datetime.now(UTC).isoformat(),
            "catatan": None}


async def create_referral(request: Request) -> Response:
    early, fault, _ = await guard(request, paged=False)
    if early is not None:
        return early
    key = request.headers.get("Idempotency-Key")
    if not key:
        return JSONResponse({"error": "Idempotency-Key wajib"}, status_code=400)
    body = await request.json()
    if not isinstance(body, dict) or body.get("program") not in {p["kode_program"] for p in PROGRAMMES}:
        return JSONResponse({"error": "program tidak dikenal"}, status_code=422)
    world: World = request.app.state.world
    existing = world.referral_keys.get(key)
    if existing is None:
        ref = Referral(referral_id=f"RJK-{uuid.uuid4().hex[:10].upper()}", payload=body, created=datetime.now(UTC))
        world.referrals[ref.referral_id] = ref
        world.referral_keys[key] = ref.referral_id
        return respond(request, _referral_body(ref), fault, status_code=201)
    return respond(request, _referral_body(world.referrals[existing]), fault)


async def referral_status(request: Request) -> Response:
    early, fault, _ = await guard(request, paged=False)
    if early is not None:
        return early
    world: World = request.app.state.world
    ref = world.referrals.get(request.path_params["referral_id"])
    if ref is None:
        return JSONResponse({"error": "rujukan tidak ditemukan"}, status_code=404)
    ref.polls += 1
    return respond(request, _referral_body(ref), fault)


def create_baznas_app(world: World, credentials: Credentials, faults: FaultConfig | None = None,
                      admin_token: str = "admin") -> Starlette:
    return _app(world, credentials, faults, admin_token, [
        Route("/v1/status", status),
        Route("/v1/program", programmes),
        Route("/v1/mustahik", mustahik),
        Route("/v1/rujukan", create_referral, methods=["POST"]),
        Route("/v1/rujukan/{referral_id}", referral_status),
    ])


def _app(world: World, credentials: Credentials, faults: FaultConfig | None, admin_token: str,
         routes: list[Route]) -> Starlette:
    app = Starlette(routes=[*routes, Route("/_admin/faults", admin_faults, methods=["GET", "PUT", "POST"])],
                    exception_handlers={ValueError: bad_request})
    app.state.world = world
    app.state.credentials = credentials
    app.state.faults = Faults(faults)
    app.state.admin_token = admin_token
    return app
