"""Dukcapil over HTTP with OAuth2 client credentials: ``POST /api/v1/verifikasi-nik``.

The answer carries per-field results (``SESUAI`` / ``TIDAK SESUAI`` with a similarity score),
a reference and a time: never the registry's own data. A 429 carries ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors import parsing as p
from connectors.errors import BadPayload
from connectors.http import ClientOptions, Credentials, HttpClient, expect_dict
from connectors.ports import FieldMatch, NikCheck, NikEvidence

SYSTEM = "dukcapil"
FIELDS = {"NAMA_LGKP": "name", "TGL_LHR": "birth_date", "TMPT_LHR": "birth_place"}


def parse_result(body: Any) -> NikEvidence:
    envelope = expect_dict(body, SYSTEM, "result")
    try:
        hasil = envelope["hasil"]
        fields: dict[str, FieldMatch] = {}
        for wire, ours in FIELDS.items():
            entry = hasil[wire]
            score = entry.get("skor")
            fields[ours] = FieldMatch(matched=entry["status"] == "SESUAI",
                                      similarity=float(score) if score is not None else None)
        return NikEvidence(reference=str(envelope["ref_id"]), checked_at=p.timestamp(envelope["waktu"]),
                           nik_found=hasil["NIK"] == "DITEMUKAN", fields=fields)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadPayload(f"{SYSTEM}: unreadable verification result ({type(exc).__name__})", system=SYSTEM) from None


class DukcapilClient:
    system = SYSTEM

    def __init__(self, base_url: str, credentials: Credentials, *, options: ClientOptions | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = HttpClient(SYSTEM, base_url, credentials, options=options, transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ping(self) -> None:
        await self.http.request_json("GET", "/api/v1/status")

    async def verify(self, check: NikCheck) -> NikEvidence:
        payload = {"NIK": check.nik, "NAMA_LGKP": check.name, "TGL_LHR": check.birth_date.strftime("%d-%m-%Y"),
                   "TMPT_LHR": check.birth_place, "TUJUAN": check.purpose}
        evidence: NikEvidence = await self.http.request_json("POST", "/api/v1/verifikasi-nik", json=payload,
                                                             validate=parse_result)
        return evidence
