"""PBI-JK members over HTTP with OAuth2 client credentials: ``GET /pbi/peserta``.

BPJS-style envelope (``metaData`` + ``response``), offset paging, camelCase names, dates ``DD-MM-YYYY``.
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors import parsing as p
from connectors.errors import BadPayload
from connectors.http import ClientOptions, Credentials, HttpClient, expect_dict, expect_list
from connectors.ports import EnrolmentRecord, EnrolmentStatus, InvalidRecord, Page

SYSTEM = "health"
PROGRAMME = "PBI-JK"
STATUSES = {
    "AKTIF": EnrolmentStatus.active,
    "NONAKTIF": EnrolmentStatus.suspended,
    "MENINGGAL": EnrolmentStatus.ended,
    "KELUAR": EnrolmentStatus.ended,
}


def parse_record(raw: Any) -> EnrolmentRecord | InvalidRecord:
    if not isinstance(raw, dict):
        return InvalidRecord(key=None, version=None, reason="record is not an object", raw={"value": raw})
    key = raw.get("noKartu") if isinstance(raw.get("noKartu"), str) else None
    version = str(raw["versi"]) if isinstance(raw.get("versi"), int | str) else None
    try:
        status_obj = raw.get("statusPeserta")
        status = status_obj.get("nama") if isinstance(status_obj, dict) else None
        if status not in STATUSES:
            raise ValueError(f"statusPeserta {status!r} is not a known status")
        return EnrolmentRecord(
            record_id=p.text(key, "noKartu"), version=p.text(version, "versi"), programme_code=PROGRAMME,
            nik=p.text(raw.get("nik"), "nik"), name=p.text(raw.get("nama"), "nama"),
            village_code=p.village_code(raw.get("kdDesa")), status=STATUSES[status],
            period_start=p.dmy(raw.get("tglMulai")), period_end=p.dmy(raw.get("tglAkhir"), optional=True),
        )
    except ValueError as exc:
        return InvalidRecord(key=key, version=version, reason=str(exc), raw=raw)


def parse_page(body: Any, *, offset: int, limit: int) -> Page[EnrolmentRecord]:
    envelope = expect_dict(body, SYSTEM, "page")
    meta = expect_dict(envelope.get("metaData"), SYSTEM, "metaData")
    if str(meta.get("code")) != "200":
        raise BadPayload(f"{SYSTEM}: metaData.code {meta.get('code')!r}", system=SYSTEM)
    response = expect_dict(envelope.get("response"), SYSTEM, "response")
    items = expect_list(response.get("list"), SYSTEM, "list")
    count, got_offset = response.get("count"), response.get("offset")
    if not isinstance(count, int) or not isinstance(got_offset, int):
        raise BadPayload(f"{SYSTEM}: response without count/offset", system=SYSTEM)
    records: list[EnrolmentRecord] = []
    invalid: list[InvalidRecord] = []
    for raw in items:
        parsed = parse_record(raw)
        if isinstance(parsed, InvalidRecord):
            invalid.append(parsed)
        else:
            records.append(parsed)
    following = offset + limit
    return Page(number=got_offset // limit + 1, records=records, invalid=invalid,
                next_cursor=str(following) if following < count else None, total=count)


class HealthClient:
    system = SYSTEM

    def __init__(self, base_url: str, credentials: Credentials, *, options: ClientOptions | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = HttpClient(SYSTEM, base_url, credentials, options=options, transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ping(self) -> None:
        await self.http.request_json("GET", "/pbi/status")

    async def enrolments(self, *, cursor: str | None = None, region: str | None = None, period: str | None = None,
                         page_size: int = 100) -> Page[EnrolmentRecord]:
        offset = int(cursor or 0)
        params = {"kdWilayah": p.region_digits(region) if region else None, "periode": period,
                  "offset": offset, "limit": page_size}
        page: Page[EnrolmentRecord] = await self.http.request_json(
            "GET", "/pbi/peserta", params=params,
            validate=lambda body: parse_page(body, offset=offset, limit=page_size))
        return page
