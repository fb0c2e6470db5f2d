"""Mock SIKS-NG: households and members with deciles, keyset-paged; tallies; proposal and prelist pushes.

A household deleted at the source (``POST /_admin/delete``) is served as a tombstone
``{"id_rt", "versi", "tgl_update", "kode_desa", "status": "DIHAPUS"}`` and left out of the tallies.

Wire format (what the real connector must translate): Indonesian field names, undotted region
codes, ISO dates, ``jenis_kelamin`` 1/2, ``hub_krt`` 1-7. API key in ``X-API-Key``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mocks.common import Credentials, bad_request, digits, guard, int_param, page_shift, respond, status
from mocks.faults import FaultConfig, Faults, admin_faults
from mocks.population import Household
from mocks.world import World, tallies


def encode_cursor(page: int, key: tuple[str, str] | None, prev: tuple[str, str] | None) -> str:
    raw = json.dumps({"p": page, "k": key, "pk": prev}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, tuple[str, str] | None, tuple[str, str] | None]:
    if not cursor:
        return 1, None, None
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    key, prev = data.get("k"), data.get("pk")
    return int(data["p"]), (key[0], key[1]) if key else None, (prev[0], prev[1]) if prev else None


def corrupt(record: dict[str, Any], key: str) -> None:
    """Damage one field, the same way every time for the same record."""
    kind = hashlib.sha256(key.encode()).digest()[0] % 4
    member = record["anggota"][0]
    if kind == 0:
        record["desil"] = 11
    elif kind == 1:
        member["tgl_lahir"] = "31/02/1990"
    elif kind == 2:
        member["jenis_kelamin"] = 9
    else:
        member["nama"] = None


def wire(h: Household, faults: Faults) -> dict[str, Any]:
    if h.deleted:  # a tombstone: the key, the version that deleted it, where it was; no members
        return {"id_rt": h.household_id, "versi": h.version, "status": "DIHAPUS",
                "tgl_update": h.updated_at.isoformat().replace("+00:00", "Z"), "kode_desa": digits(h.village_code)}
    record = {
        "id_rt": h.household_id,
        "versi": h.version,
        "tgl_update": h.updated_at.isoformat().replace("+00:00", "Z"),
        "kode_desa": digits(h.village_code),
        "alamat": h.address,
        "desil": h.decile,
        "anggota": [
            {"id_art": p.member_id, "nik": p.nik, "nama": p.registry_name,
             "jenis_kelamin": 1 if p.sex == "M" else 2, "tgl_lahir": p.registry_birth_date.isoformat(),
             "tempat_lahir": p.birth_place, "hub_krt": p.relationship, "no_kk": p.kk_number,
             "disabilitas": int(p.has_disability)}
            for p in h.members
        ],
    }
    if faults.invalid(h.household_id):
        corrupt(record, h.household_id)
    return record


def select(world: World, after: tuple[str, str] | None, region: str | None, since: str | None,
           limit: int) -> list[Household]:
    out: list[Household] = []
    for h in world.households[world.after(after):]:
        if region and not digits(h.village_code).startswith(region):
            continue
        if since and h.updated_at.isoformat() < since:
            continue
        out.append(h)
        if len(out) == limit:
            break
    return out


def _key(h: Household) -> tuple[str, str]:
    return (h.updated_at.isoformat(), h.household_id)


async def households(request: Request) -> Response:
    early, fault, _ = await guard(request, paged=True)
    if early is not None:
        return early
    world: World = request.app.state.world
    faults: Faults = request.app.state.faults
    region = request.query_params.get("kode_wilayah") or None
    since_raw = request.query_params.get("updated_since")
    since = datetime.fromisoformat(since_raw.replace("Z", "+00:00")).astimezone(UTC).isoformat() if since_raw else None
    limit = int_param(request, "limit", 100, 1, 5000)
    page, after, prev = decode_cursor(request.query_params.get("cursor"))
    shift = page_shift(fault)
    if shift == -1 and page > 1:
        page, after, prev = page - 1, prev, None
    rows = select(world, after, region, since, limit)
    if shift == 1 and len(rows) == limit:
        following = select(world, _key(rows[-1]), region, since, limit)
        if following:
            page, prev, after, rows = page + 1, after, _key(rows[-1]), following
    more = len(rows) == limit and bool(select(world, _key(rows[-1]), region, since, 1))
    data = [wire(h, faults) for h in rows]
    declared = len(data)
    if fault is not None and fault.value == "truncate" and data and faults.rng.random() < 0.5:
        data = data[: len(data) // 2]  # records dropped, count kept: a cut page that still parses
        fault = None
    payload = {
        "status": "OK", "halaman": page, "jumlah": declared, "data": data,
        "cursor_berikutnya": encode_cursor(page + 1, _key(rows[-1]), after) if more else None,
    }
    return respond(request, payload, fault)


async def rekap(request: Request) -> Response:
    early, fault, _ = await guard(request, paged=False)
    if early is not None:
        return early
    world: World = request.app.state.world
    return respond(request, {"rekap": tallies(world.households, request.query_params.get("kode_wilayah"))}, fault)


async def submit(request: Request) -> Response:
    """``POST /api/v1/usulan`` (update proposal) or ``/api/v1/prelist`` (new household), idempotent by ``id_usulan``."""
    early, fault, _ = await guard(request, paged=False)
    if early is not None:
        return early
    world: World = request.app.state.world
    body = await request.json()
    problems = check_submission(request.url.path.rsplit("/", 1)[-1], body)
    if problems:
        return JSONResponse({"error": "; ".join(problems), "kesalahan": problems}, status_code=422)
    key = str(body["id_usulan"])
    entry = world.proposals.setdefault(key, {"id_usulan": key, "no_tiket": uuid.uuid4().hex[:12],
                                             "jenis": request.url.path.rsplit("/", 1)[-1], "status": "DITERIMA",
                                             "polls": 0, "dokumen": body})
    return respond(request, _receipt(entry), fault, status_code=202)


# The documents SIKS-NG accepts (the connector writes them: connectors/siks_ng/submissions.py).
COMMON = {"id_usulan", "jenis_usulan", "kode_desa", "id_rt", "ref_hub_rt", "diusulkan_oleh", "disetujui_oleh"}
KINDS = {"prelist": {"PRELIST"}, "usulan": {"TAMBAH_ART", "PERBAIKAN_ART", "PERBAIKAN_RT"}}


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_date(value: Any) -> bool:
    try:
        datetime.strptime(value, "%Y-%m-%d")  # a calendar date, no time zone
    except (TypeError, ValueError):
        return False
    return True


MEMBER_CHECKS: dict[str, Any] = {
    "nama": _is_text,
    "nik": lambda v: isinstance(v, str) and len(v) == 16 and v.isdigit(),
    "jenis_kelamin": lambda v: v in (1, 2),
    "tgl_lahir": _is_date,
    "tempat_lahir": lambda v: isinstance(v, str),
    "hub_krt": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 7,
    "no_kk": lambda v: isinstance(v, str) and len(v) == 16 and v.isdigit(),
    "disabilitas": lambda v: v in (0, 1) and not isinstance(v, bool),
    "jenis_disabilitas": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "status_hidup": lambda v: v in ("HIDUP", "MENINGGAL", "PINDAH"),
}
HOUSEHOLD_CHECKS: dict[str, Any] = {"alamat": _is_text}


def _check_fields(name: str, values: Any, checks: dict[str, Any], *, required: bool) -> list[str]:
    if not isinstance(values, dict) or (required and not values):
        return [f"{name} harus objek{' yang tidak kosong' if required else ''}"]
    out = []
    for field, value in values.items():
        if field not in checks:
            out.append(f"{name}.{field} tidak dikenal")
        elif value is not None and not checks[field](value):
            out.append(f"{name}.{field} tidak valid: {value!r}"[:120])
    if required and values.get("nama", "") is None:
        out.append(f"{name}.nama tidak boleh kosong")
    return out


def check_submission(endpoint: str, body: Any) -> list[str]:
    """What is wrong with a pushed document (empty: nothing). Unknown fields are errors, not ignored."""
    if not isinstance(body, dict):
        return ["dokumen harus objek JSON"]
    problems = []
    kind = body.get("jenis_usulan")
    if kind not in KINDS.get(endpoint, set()):
        problems.append(f"jenis_usulan {kind!r} tidak valid untuk /{endpoint}")
    if not _is_text(body.get("id_usulan")):
        problems.append("id_usulan wajib diisi")
    village = body.get("kode_desa")
    if not (isinstance(village, str) and len(village) == 10 and village.isdigit()):
        problems.append("kode_desa harus 10 digit")
    if body.get("id_rt") is not None and not _is_text(body.get("id_rt")):
        problems.append("id_rt harus teks atau null")
    if not _is_text(body.get("ref_hub_rt")) and not _is_text(body.get("id_rt")):
        problems.append("id_rt atau ref_hub_rt wajib diisi")
    member = kind in ("TAMBAH_ART", "PERBAIKAN_ART")
    allowed = set(COMMON)
    if endpoint == "prelist":
        allowed.add("alamat")
        if not _is_text(body.get("alamat")):
            problems.append("alamat wajib diisi")
    else:
        allowed |= {"perubahan", "sebelumnya"} | ({"id_art", "ref_hub_art"} if member else set())
        checks = MEMBER_CHECKS if member else HOUSEHOLD_CHECKS
        problems += _check_fields("perubahan", body.get("perubahan"), checks, required=True)
        if "sebelumnya" in body:
            problems += _check_fields("sebelumnya", body.get("sebelumnya"), checks, required=False)
        if kind == "TAMBAH_ART" and isinstance(body.get("perubahan"), dict):
            problems += [f"perubahan.{f} wajib untuk TAMBAH_ART" for f in ("nama", "nik", "hub_krt")
                         if body["perubahan"].get(f) is None]
        if kind == "PERBAIKAN_ART" and not (_is_text(body.get("id_art")) or _is_text(body.get("ref_hub_art"))):
            problems.append("id_art atau ref_hub_art wajib untuk PERBAIKAN_ART")
    problems += [f"{f} tidak dikenal" for f in sorted(set(body) - allowed)]
    return problems


def _receipt(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("polls", "dokumen")}


async def submission_status(request: Request) -> Response:
    early, fault, _ = await guard(request, paged=False)
    if early is not None:
        return early
    world: World = request.app.state.world
    entry = world.proposals.get(request.path_params["key"])
    if entry is None:
        return JSONResponse({"error": "usulan tidak ditemukan"}, status_code=404)
    entry["polls"] = int(entry["polls"]) + 1  # type: ignore[call-overload]
    entry["status"] = ("DITERIMA", "VERIVALI", "DISETUJUI")[min(2, int(entry["polls"]) // 2)]  # type: ignore[call-overload]
    return respond(request, _receipt(entry), fault)


async def admin_delete(request: Request) -> Response:
    if request.headers.get("X-Admin-Token") != request.app.state.admin_token:
        return JSONResponse({"error": "admin token required"}, status_code=401)
    body = await request.json()
    world: World = request.app.state.world
    return JSONResponse({"deleted": world.delete(int(body.get("count", 1)))})


async def admin_touch(request: Request) -> Response:
    if request.headers.get("X-Admin-Token") != request.app.state.admin_token:
        return JSONResponse({"error": "admin token required"}, status_code=401)
    body = await request.json()
    world: World = request.app.state.world
    return JSONResponse({"touched": world.touch(int(body.get("count", 1)))})


def create_app(world: World, credentials: Credentials, faults: FaultConfig | None = None,
               admin_token: str = "admin") -> Starlette:
    app = Starlette(routes=[
        Route("/api/v1/status", status),
        Route("/api/v1/rumah-tangga", households),
        Route("/api/v1/rekap", rekap),
        Route("/api/v1/usulan", submit, methods=["POST"]),
        Route("/api/v1/prelist", submit, methods=["POST"]),
        Route("/api/v1/usulan/{key}", submission_status),
        Route("/_admin/faults", admin_faults, methods=["GET", "PUT", "POST"]),
        Route("/_admin/touch", admin_touch, methods=["POST"]),
        Route("/_admin/delete", admin_delete, methods=["POST"]),
    ], exception_handlers={ValueError: bad_request})
    app.state.world = world
    app.state.credentials = credentials
    app.state.faults = Faults(faults)
    app.state.admin_token = admin_token
    return app
