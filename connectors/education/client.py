"""PIP/KIP recipients over HTTP: ``GET /pip/v2/penerima``, page-numbered, dates ``DD-MM-YYYY``."""

from __future__ import annotations

from typing import Any

import httpx

from connectors import parsing as p
from connectors.errors import BadPayload
from connectors.http import ClientOptions, Credentials, HttpClient, expect_dict, expect_list
from connectors.ports import EnrolmentRecord, EnrolmentStatus, InvalidRecord, Page

SYSTEM = "education"
PROGRAMME = "PIP"
STATUSES = {
    "SK TERBIT": EnrolmentStatus.active,
    "CAIR": EnrolmentStatus.active,
    "DITANGGUHKAN": EnrolmentStatus.suspended,
    "DIBATALKAN": EnrolmentStatus.ended,
}


def parse_record(raw: Any) -> EnrolmentRecord | InvalidRecord:
    if not isinstance(raw, dict):
        return InvalidRecord(key=None, version=None, reason="record is not an object", raw={"value": raw})
    key = raw.get("id_penerima") if isinstance(raw.get("id_penerima"), str) else None
    version = str(raw["rev"]) if isinstance(raw.get("rev"), int | str) else None
    try:
        status = raw.get("status_pencairan")
        if status not in STATUSES:
            raise ValueError(f"status_pencairan {status!r} is not a known status")
        return EnrolmentRecord(
            record_id=p.text(key, "id_penerima"), version=p.text(version, "rev"), programme_code=PROGRAMME,
            nik=p.text(raw.get("nik_siswa"), "nik_siswa"), name=p.text(raw.get("nama_siswa"), "nama_siswa"),
            village_code=p.village_code(raw.get("kd_desa")), status=STATUSES[status],
            period_start=p.dmy(raw.get("tgl_sk")), period_end=p.dmy(raw.get("tgl_akhir"), optional=True),
        )
    except ValueError as exc:
        return InvalidRecord(key=key, version=version, reason=str(exc), raw=raw)


def parse_page(body: Any) -> Page[EnrolmentRecord]:
    envelope = expect_dict(body, SYSTEM, "page")
    results = expect_list(envelope.get("results"), SYSTEM, "results")
    number, pages = envelope.get("page"), envelope.get("total_pages")
    if not isinstance(number, int) or not isinstance(pages, int):
        raise BadPayload(f"{SYSTEM}: page without page/total_pages", system=SYSTEM)
    records: list[EnrolmentRecord] = []
    invalid: list[InvalidRecord] = []
    for raw in results:
        parsed = parse_record(raw)
        if isinstance(parsed, InvalidRecord):
            invalid.append(parsed)
        else:
            records.append(parsed)
    total = envelope.get("total")
    return Page(number=number, records=records, invalid=invalid,
                next_cursor=str(number + 1) if number < pages else None,
                total=total if isinstance(total, int) else None)


class EducationClient:
    system = SYSTEM

    def __init__(self, base_url: str, credentials: Credentials, *, options: ClientOptions | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = HttpClient(SYSTEM, base_url, credentials,
                               options=options, transport=transport,
                               api_key_header="X-Api-Token")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ping(self) -> None:
        await self.http.request_json("GET", "/pip/v2/status")

    async def enrolments(self, *, cursor: str | None = None, region: str | None = None, period: str | None = None,
                         page_size: int = 100) -> Page[EnrolmentRecord]:
        params = {"kd_wilayah": p.region_digits(region) if region else None, "tahun": period,
                  "page": int(cursor or 1), "per_page": page_size}
        page: Page[EnrolmentRecord] = await self.http.request_json("GET", "/pip/v2/penerima", params=params,
                                                                   validate=parse_page)
        return page
