"""SIKS-NG over HTTP: ``/api/v1/rumah-tangga`` (households, cursor pages) and ``/api/v1/rekap`` (tallies).

Wire names are Indonesian (``id_rt``, ``desil``, ``anggota``, ``hub_krt`` ...); region codes are
undotted digits; dates ``YYYY-MM-DD``; sex ``1``/``2``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from connectors import parsing as p
from connectors.errors import BadPayload, Unavailable
from connectors.http import ClientOptions, Credentials, HttpClient, expect_dict, expect_list
from connectors.ports import (
    InvalidRecord,
    Page,
    RegionTally,
    RegistryHousehold,
    RegistryMember,
    Relationship,
    Removal,
    Sex,
    Submission,
    SubmissionReceipt,
)
from connectors.siks_ng.submissions import to_wire

SYSTEM = "siks-ng"

RELATIONSHIPS = {
    1: Relationship.head, 2: Relationship.spouse, 3: Relationship.child, 4: Relationship.other_relative,
    5: Relationship.grandchild, 6: Relationship.parent, 7: Relationship.other,
}
SEXES = {1: Sex.male, 2: Sex.female}


def parse_member(raw: Mapping[str, Any]) -> RegistryMember:
    sex = p.small_int(raw.get("jenis_kelamin"), "jenis_kelamin", 1, 2, optional=True)
    relationship = p.small_int(raw.get("hub_krt"), "hub_krt", 1, 7)
    return RegistryMember(
        member_id=p.text(raw.get("id_art"), "id_art"),
        # The NIK is kept as sent, valid or not: the hub flags bad NIKs, it does not drop people.
        nik=p.text(raw.get("nik"), "nik", required=False),
        name=p.text(raw.get("nama"), "nama"),
        sex=SEXES[sex] if sex is not None else None,
        birth_date=p.iso_date(raw.get("tgl_lahir"), optional=True),
        birth_place=p.text(raw.get("tempat_lahir"), "tempat_lahir", required=False) or None,
        relationship=RELATIONSHIPS[relationship or 7],
        kk_number=p.text(raw.get("no_kk"), "no_kk", required=False) or None,
        has_disability=bool(raw.get("disabilitas")),
    )


DELETED = "DIHAPUS"


def parse_household(raw: Any) -> RegistryHousehold | InvalidRecord | Removal:
    if not isinstance(raw, dict):
        return InvalidRecord(key=None, version=None, reason="record is not an object", raw={"value": raw})
    key = raw.get("id_rt") if isinstance(raw.get("id_rt"), str) else None
    version = str(raw["versi"]) if isinstance(raw.get("versi"), int | str) else None
    if raw.get("status") == DELETED:
        try:
            return Removal(key=p.text(key, "id_rt"), version=p.text(version, "versi"),
                           updated_at=p.timestamp(raw.get("tgl_update")),
                           village_code=p.village_code(raw.get("kode_desa")))
        except ValueError as exc:
            return InvalidRecord(key=key, version=version, reason=f"tombstone: {exc}", raw=raw)
    try:
        village = p.village_code(raw.get("kode_desa"))
    except ValueError:
        village = None
    try:
        members_raw = raw.get("anggota")
        if not isinstance(members_raw, list):
            raise ValueError("anggota is not a list")
        members = []
        for i, m in enumerate(members_raw):
            if not isinstance(m, dict):
                raise ValueError(f"anggota[{i}] is not an object")
            try:
                members.append(parse_member(m))
            except ValueError as exc:
                raise ValueError(f"anggota[{i}]: {exc}") from None
        return RegistryHousehold(
            household_id=p.text(key, "id_rt"),
            version=p.text(version, "versi"),
            updated_at=p.timestamp(raw.get("tgl_update")),
            village_code=p.village_code(raw.get("kode_desa")),
            address=p.text(raw.get("alamat"), "alamat", required=False),
            decile=p.small_int(raw.get("desil"), "desil", 1, 10, optional=True),
            members=tuple(members),
            raw=raw,
        )
    except ValueError as exc:
        return InvalidRecord(key=key, version=version, reason=str(exc), raw=raw, village_code=village)


def parse_page(body: Any) -> Page[RegistryHousehold]:
    envelope = expect_dict(body, SYSTEM, "page")
    data = expect_list(envelope.get("data"), SYSTEM, "data")
    declared = envelope.get("jumlah")
    if isinstance(declared, int) and declared != len(data):
        # The source says how many records it sent; fewer means the page was cut short.
        raise Unavailable(f"{SYSTEM}: page truncated ({len(data)} of {declared} records)", system=SYSTEM)
    number = envelope.get("halaman")
    if not isinstance(number, int):
        raise BadPayload(f"{SYSTEM}: page without halaman", system=SYSTEM)
    records: list[RegistryHousehold] = []
    invalid: list[InvalidRecord] = []
    removed: list[Removal] = []
    for raw in data:
        parsed = parse_household(raw)
        if isinstance(parsed, InvalidRecord):
            invalid.append(parsed)
        elif isinstance(parsed, Removal):
            removed.append(parsed)
        else:
            records.append(parsed)
    cursor = envelope.get("cursor_berikutnya")
    total = envelope.get("total")
    return Page(number=number, records=records, invalid=invalid,
                next_cursor=cursor if isinstance(cursor, str) and cursor else None,
                total=total if isinstance(total, int) else None, removed=removed)


class SiksNgClient:
    system = SYSTEM

    def __init__(self, base_url: str, credentials: Credentials, *, options: ClientOptions | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = HttpClient(SYSTEM, base_url, credentials, options=options, transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ping(self) -> None:
        await self.http.request_json("GET", "/api/v1/status")

    async def households(
        self,
        *,
        cursor: str | None = None,
        region: str | None = None,
        updated_since: datetime | None = None,
        page_size: int = 100,
    ) -> Page[RegistryHousehold]:
        params = {
            "kode_wilayah": p.region_digits(region) if region else None,
            "updated_since": updated_since.isoformat() if updated_since else None,
            "cursor": cursor,
            "limit": page_size,
        }
        page: Page[RegistryHousehold] = await self.http.request_json(
            "GET", "/api/v1/rumah-tangga", params=params, validate=parse_page)
        return page

    async def tallies(self, *, region: str | None = None) -> Sequence[RegionTally]:
        def parse(body: Any) -> list[RegionTally]:
            rows = expect_list(expect_dict(body, SYSTEM, "rekap").get("rekap"), SYSTEM, "rekap")
            try:
                return [RegionTally(region_code=p.region_dotted(str(r["kode_kecamatan"])),
                                    count=int(r["jumlah_rt"]), digest=str(r["hash"])) for r in rows]
            except (KeyError, TypeError, ValueError) as exc:
                raise BadPayload(f"{SYSTEM}: unreadable rekap ({exc})", system=SYSTEM) from None

        params = {"kode_wilayah": p.region_digits(region) if region else None}
        tallies: list[RegionTally] = await self.http.request_json("GET", "/api/v1/rekap", params=params,
                                                                  validate=parse)
        return tallies

    async def submit(self, submission: Submission) -> SubmissionReceipt:
        path, document = to_wire(submission)  # SIKS-NG's own field names (connectors.siks_ng.submissions)
        receipt: SubmissionReceipt = await self.http.request_json("POST", path, json=document,
                                                                  validate=parse_receipt)
        return receipt

    async def submission_status(self, key: str) -> SubmissionReceipt:
        receipt: SubmissionReceipt = await self.http.request_json("GET", f"/api/v1/usulan/{key}",
                                                                  validate=parse_receipt)
        return receipt


def parse_receipt(body: Any) -> SubmissionReceipt:
    envelope = expect_dict(body, SYSTEM, "receipt")
    try:
        return SubmissionReceipt(key=str(envelope["id_usulan"]), ticket=str(envelope["no_tiket"]),
                                 status=str(envelope["status"]))
    except KeyError as exc:
        raise BadPayload(f"{SYSTEM}: receipt without {exc}", system=SYSTEM) from None
