from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import date
from typing import Final

from hub.identity.nik import (
    FLAG_UNKNOWN_REGION,
    dated,
    district_prefix,
    mask_identifier,
    normalize_digits,
    passes,
    region_codes,
    serial_of,
)

FLAG_FUTURE_ISSUE_DATE: Final = "future_issue_date"


@dataclass(frozen=True, slots=True)
class ParsedKk:
    kk: str
    province_code: str
    regency_code: str
    district_code: str
    issue_date: date | None
    serial: int
    flags: frozenset[str]


def parse_kk(
    raw: str,
    *,
    known_regions: Container[str] | None = None,
    today: date | None = None,
) -> ParsedKk:
    kk = normalize_digits(raw, kind="KK")
    province, regency, district = region_codes(kk)
    flags: set[str] = set()
    if known_regions is not None and district not in known_regions:
        flags.add(FLAG_UNKNOWN_REGION)

    # Unlike NIK there is no +40 sex offset: the day field is a plain day.
    day, month, yy = int(kk[6:8]), int(kk[8:10]), int(kk[10:12])
    plausible = 1 <= day <= 31 and 1 <= month <= 12
    issue_date = dated(plausible, day, month, yy, today, FLAG_FUTURE_ISSUE_DATE, flags)
    serial = serial_of(kk, flags)

    return ParsedKk(
        kk=kk,
        province_code=province,
        regency_code=regency,
        district_code=district,
        issue_date=issue_date,
        serial=serial,
        flags=frozenset(flags),
    )


def is_valid_kk(
    raw: str,
    *,
    strict: bool = False,
    known_regions: Container[str] | None = None,
    today: date | None = None,
) -> bool:
    return passes(parse_kk, raw, strict=strict, known_regions=known_regions, today=today)


def mask_kk(kk: str) -> str:
    return mask_identifier(kk, kind="KK")


def build_kk(district_code: str, issue_date: date, serial: int) -> str:
    if not 1 <= serial <= 9999:
        raise ValueError(f"serial must be in 1..9999, got {serial!r}")
    return (
        f"{district_prefix(district_code)}{issue_date.day:02d}"
        f"{issue_date.month:02d}{issue_date.year % 100:02d}{serial:04d}"
    )
