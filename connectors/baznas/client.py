"""Baznas over HTTP (API key ``X-Baznas-Key``): ``/v1/program``, ``/v1/mustahik``, ``/v1/rujukan``.

Referrals carry an ``Idempotency-Key``: sending the same referral twice returns the first answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from connectors import parsing as p
from connectors.errors import BadPayload
from connectors.http import ClientOptions, Credentials, HttpClient, expect_dict, expect_list
from connectors.ports import (
    EnrolmentRecord,
    EnrolmentStatus,
    InvalidRecord,
    Page,
    PartnerProgramme,
    Referral,
    ReferralState,
    ReferralStatus,
)

SYSTEM = "baznas"
STATUSES = {"aktif": EnrolmentStatus.active, "ditangguhkan": EnrolmentStatus.suspended,
            "selesai": EnrolmentStatus.ended}
REFERRAL_STATES = {"DITERIMA": ReferralState.received, "DIPROSES": ReferralState.in_review,
                   "DISETUJUI": ReferralState.approved, "DITOLAK": ReferralState.rejected}


def parse_record(raw: Any) -> EnrolmentRecord | InvalidRecord:
    if not isinstance(raw, dict):
        return InvalidRecord(key=None, version=None, reason="record is not an object", raw={"value": raw})
    key = raw.get("id_mustahik") if isinstance(raw.get("id_mustahik"), str) else None
    version = str(raw["versi"]) if isinstance(raw.get("versi"), int | str) else None
    try:
        status = raw.get("status")
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not a known status")
        return EnrolmentRecord(
            record_id=p.text(key, "id_mustahik"), version=p.text(version, "versi"),
            programme_code=p.text(raw.get("program"), "program"),
            nik=p.text(raw.get("nik"), "nik"), name=p.text(raw.get("nama"), "nama"),
            village_code=p.village_code(raw.get("kode_desa")), status=STATUSES[status],
            period_start=p.dmy(raw.get("mulai")), period_end=p.dmy(raw.get("selesai"), optional=True),
        )
    except ValueError as exc:
        return InvalidRecord(key=key, version=version, reason=str(exc), raw=raw)


def parse_page(body: Any) -> Page[EnrolmentRecord]:
    envelope = expect_dict(body, SYSTEM, "page")
    items = expect_list(envelope.get("items"), SYSTEM, "items")
    number, pages = envelope.get("page"), envelope.get("pages")
    if not isinstance(number, int) or not isinstance(pages, int):
        raise BadPayload(f"{SYSTEM}: page without page/pages", system=SYSTEM)
    records: list[EnrolmentRecord] = []
    invalid: list[InvalidRecord] = []
    for raw in items:
        parsed = parse_record(raw)
        if isinstance(parsed, InvalidRecord):
            invalid.append(parsed)
        else:
            records.append(parsed)
    return Page(number=number, records=records, invalid=invalid,
                next_cursor=str(number + 1) if number < pages else None)


def parse_referral(body: Any) -> ReferralStatus:
    envelope = expect_dict(body, SYSTEM, "referral")
    try:
        return ReferralStatus(referral_id=str(envelope["id_rujukan"]), state=REFERRAL_STATES[envelope["status"]],
                              updated_at=p.timestamp(envelope["diperbarui"]), note=envelope.get("catatan"))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadPayload(f"{SYSTEM}: unreadable referral ({type(exc).__name__})", system=SYSTEM) from None


class BaznasClient:
    system = SYSTEM

    def __init__(self, base_url: str, credentials: Credentials, *, options: ClientOptions | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = HttpClient(SYSTEM, base_url, credentials,
                               options=options, transport=transport,
                               api_key_header="X-Baznas-Key")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ping(self) -> None:
        await self.http.request_json("GET", "/v1/status")

    async def programmes(self) -> Sequence[PartnerProgramme]:
        def parse(body: Any) -> list[PartnerProgramme]:
            items = expect_list(expect_dict(body, SYSTEM, "programmes").get("items"), SYSTEM, "items")
            try:
                return [PartnerProgramme(code=str(i["kode_program"]), name=str(i["nama_program"]),
                                         description=str(i.get("deskripsi") or "")) for i in items]
            except (KeyError, TypeError) as exc:
                raise BadPayload(f"{SYSTEM}: unreadable programme ({type(exc).__name__})", system=SYSTEM) from None

        programmes: list[PartnerProgramme] = await self.http.request_json("GET", "/v1/program", validate=parse)
        return programmes

    async def enrolments(self, *, cursor: str | None = None, region: str | None = None, period: str | None = None,
                         page_size: int = 100) -> Page[EnrolmentRecord]:
        params = {"wilayah": p.region_digits(region) if region else None, "tahun": period,
                  "page": int(cursor or 1), "size": page_size}
        page: Page[EnrolmentRecord] = await self.http.request_json("GET", "/v1/mustahik", params=params,
                                                                   validate=parse_page)
        return page

    async def refer(self, referral: Referral) -> ReferralStatus:
        payload = {"program": referral.programme_code, "nik": referral.nik, "nama": referral.name,
                   "kode_desa": p.region_digits(referral.village_code), "alasan": referral.reason}
        status: ReferralStatus = await self.http.request_json(
            "POST", "/v1/rujukan", json=payload, headers={"Idempotency-Key": referral.idempotency_key},
            validate=parse_referral)
        return status

    async def referral_status(self, referral_id: str) -> ReferralStatus:
        status: ReferralStatus = await self.http.request_json("GET", f"/v1/rujukan/{referral_id}",
                                                              validate=parse_referral)
        return status
