from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal, Protocol

Kind = Literal["NIK", "KK"]
Sex = Literal["M", "F"]

IDENTIFIER_LENGTH: Final = 16

FLAG_UNKNOWN_REGION: Final = "unknown_region"
FLAG_IMPOSSIBLE_DATE: Final = "impossible_date"
FLAG_FUTURE_BIRTH_DATE: Final = "future_birth_date"
FLAG_ZERO_SERIAL: Final = "zero_serial"

# Only these four are trimmed. str.strip() with no argument would also eat
# NBSP, U+3000 and friends, silently mapping distinct inputs onto one NIK.
_ASCII_WHITESPACE: Final = " \t\r\n"
_ASCII_DIGITS: Final = frozenset("0123456789")
# `\d` and str.isdigit() both accept Unicode digits; [0-9] under re.ASCII does not.
_EXACT_DIGITS: Final = re.compile(r"[0-9]{16}", re.ASCII)
_DISTRICT_CODE: Final = re.compile(r"([0-9]{2})\.([0-9]{2})\.([0-9]{2})", re.ASCII)

_INVISIBLE_CATEGORIES: Final = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})
# Default-ignorable code points that Unicode does not put in Cf (combining
# grapheme joiner, Hangul fillers, variation selectors...): they render as
# nothing, so they are as dangerous as a zero-width space.
_INVISIBLE_RANGES: Final = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)

# Checked in this order when several problems coexist, so the reason reported
# for a given input is stable and the most security-relevant one wins.
_REASON_PRIORITY: Final = ("invisible_character", "non_ascii_digit", "non_digit")
_SCAN_LIMIT: Final = 64


class InvalidIdentifier(ValueError):
    def __init__(
        self,
        kind: Kind,
        reason: str,
        message: str,
        *,
        position: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: Kind = kind
        self.code: str = f"INVALID_{kind}"
        self.reason: str = reason
        self.message: str = message
        # Index into the whitespace-trimmed input; never the value itself,
        # because identifiers are personal data and messages end up in logs.
        self.position: int | None = position

    def __repr__(self) -> str:
        return f"InvalidIdentifier(code={self.code!r}, reason={self.reason!r}, position={self.position!r})"


def _classify(char: str) -> str:
    if char == " ":
        return "non_digit"
    point = ord(char)
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES or any(
        lo <= point <= hi for lo, hi in _INVISIBLE_RANGES
    ):
        return "invisible_character"
    # NFKC is only used to *diagnose*: full-width '３' and superscript '³'
    # fold to ASCII under NFKC, Arabic-Indic and Devanagari digits do not but
    # carry a digit value. Either way they are rejected, never converted.
    folded = unicodedata.normalize("NFKC", char)
    if unicodedata.digit(char, None) is not None or (folded and all(c in _ASCII_DIGITS for c in folded)):
        return "non_ascii_digit"
    return "non_digit"


def _describe(char: str) -> str:
    name = unicodedata.name(char, "unnamed character")
    return f"U+{ord(char):04X} {name}"


def is_normalised(raw: object) -> bool:
    """True when ``raw`` is already what ``normalize_digits`` returns for it: 16 ASCII digits (as stored)."""
    return type(raw) is str and len(raw) == IDENTIFIER_LENGTH and raw.isascii() and raw.isdigit()


def normalize_digits(raw: str, *, kind: Kind = "NIK") -> str:
    if is_normalised(raw):
        return raw  # already normalised (as stored values are): what the checks below return for it
    if not isinstance(raw, str):
        raise InvalidIdentifier(kind, "not_string", f"{kind} must be given as text")
    trimmed = raw.strip(_ASCII_WHITESPACE)
    if not trimmed:
        raise InvalidIdentifier(kind, "empty", f"{kind} is empty")

    first_bad: dict[str, tuple[int, str]] = {}
    # Classifying is per-character Unicode work; a hostile megabyte of text
    # would be rejected anyway, so only its head is examined for the reason.
    for index, char in enumerate(trimmed[:_SCAN_LIMIT]):
        if char in _ASCII_DIGITS:
            continue
        reason = _classify(char)
        first_bad.setdefault(reason, (index, char))
        if reason == _REASON_PRIORITY[0]:
            break
    for reason in _REASON_PRIORITY:
        if reason in first_bad:
            index, char = first_bad[reason]
            raise InvalidIdentifier(
                kind,
                reason,
                f"{kind} must contain only ASCII digits 0-9; found {_describe(char)} at position {index + 1}",
                position=index,
            )

    if len(trimmed) != IDENTIFIER_LENGTH:
        raise InvalidIdentifier(
            kind,
            "length",
            f"{kind} must be exactly {IDENTIFIER_LENGTH} digits; got {len(trimmed)}",
        )
    # Redundant with the scan above by construction; kept as the single
    # authoritative acceptance test so a future edit to the scan cannot
    # widen what gets through.
    if _EXACT_DIGITS.fullmatch(trimmed) is None:  # pragma: no cover
        raise InvalidIdentifier(kind, "non_digit", f"{kind} must be 16 ASCII digits")
    return trimmed


def region_codes(digits: str) -> tuple[str, str, str]:
    province = digits[0:2]
    regency = f"{province}.{digits[2:4]}"
    return province, regency, f"{regency}.{digits[4:6]}"


def resolve_two_digit_year(day: int, month: int, yy: int, today: date) -> tuple[date | None, bool]:
    # Returns (date, is_future), or (None, False) when no calendar date exists.
    # The century is ambiguous: 20yy is preferred unless it lies after `today`,
    # then 19yy. Someone born in 1920 therefore reads as 2020 - a limit of the
    # format itself, not something parsing can recover.
    candidates: list[date] = []
    for century in (2000, 1900):
        try:
            candidates.append(date(century + yy, month, day))
        except ValueError:
            # Only 29 Feb can be valid in one century and not the other
            # (2000 is a leap year, 1900 is not).
            continue
    if not candidates:
        return None, False
    for candidate in candidates:
        if candidate <= today:
            return candidate, False
    return min(candidates), True


@dataclass(frozen=True, slots=True)
class ParsedNik:
    nik: str
    province_code: str
    regency_code: str
    district_code: str
    sex: Sex | None
    birth_date: date | None
    serial: int
    flags: frozenset[str]


def parse_nik(
    raw: str,
    *,
    known_regions: Container[str] | None = None,
    today: date | None = None,
) -> ParsedNik:
    nik = normalize_digits(raw, kind="NIK")
    province, regency, district = region_codes(nik)
    flags: set[str] = set()
    if known_regions is not None and district not in known_regions:
        flags.add(FLAG_UNKNOWN_REGION)

    encoded_day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex: Sex | None
    if 1 <= encoded_day <= 31:
        sex, day = "M", encoded_day
    elif 41 <= encoded_day <= 71:
        sex, day = "F", encoded_day - 40
    else:
        sex, day = None, 0

    plausible = sex is not None and 1 <= month <= 12
    birth_date = dated(plausible, day, month, yy, today, FLAG_FUTURE_BIRTH_DATE, flags)
    serial = serial_of(nik, flags)

    return ParsedNik(
        nik=nik,
        province_code=province,
        regency_code=regency,
        district_code=district,
        sex=sex,
        birth_date=birth_date,
        serial=serial,
        flags=frozenset(flags),
    )


def is_valid_nik(
    raw: str,
    *,
    strict: bool = False,
    known_regions: Container[str] | None = None,
    today: date | None = None,
) -> bool:
    # Default answers "is this structurally a NIK?"; strict=True also demands
    # that no semantic flag (bad date, zero serial, unknown region) was raised.
    return passes(parse_nik, raw, strict=strict, known_regions=known_regions, today=today)


class Flagged(Protocol):
    @property
    def flags(self) -> frozenset[str]: ...


def passes(parse: Callable[..., Flagged], raw: str, *, strict: bool, known_regions: Container[str] | None,
           today: date | None) -> bool:
    try:
        parsed = parse(raw, known_regions=known_regions, today=today)
    except InvalidIdentifier:
        return False
    return not (strict and parsed.flags)


def dated(plausible: bool, day: int, month: int, yy: int, today: date | None, future_flag: str,
          flags: set[str]) -> date | None:
    """The DDMMYY date of a NIK or KK, flagging an impossible or future one instead of failing."""
    if not plausible:
        flags.add(FLAG_IMPOSSIBLE_DATE)
        return None
    resolved, future = resolve_two_digit_year(day, month, yy, today if today is not None else date.today())
    if resolved is None:
        flags.add(FLAG_IMPOSSIBLE_DATE)
    elif future:
        flags.add(future_flag)
    return resolved


def serial_of(digits: str, flags: set[str]) -> int:
    serial = int(digits[12:16])
    if serial == 0:
        flags.add(FLAG_ZERO_SERIAL)
    return serial


def mask_identifier(raw: str, *, kind: Kind) -> str:
    # Refuses malformed input instead of masking it, so a partial mask can
    # never leak more digits than intended.
    return mask_digits(normalize_digits(raw, kind=kind))


def mask_digits(digits: str) -> str:
    """The mask of an identifier already normalised (16 ASCII digits): the first four and the last two."""
    return f"{digits[:4]}{'*' * 10}{digits[-2:]}"


def mask_nik(nik: str) -> str:
    return mask_identifier(nik, kind="NIK")


@functools.lru_cache(maxsize=8192)
def district_prefix(district_code: str) -> str:
    match = _DISTRICT_CODE.fullmatch(district_code)
    if match is None:
        raise ValueError(f"district code must look like '33.14.01', got {district_code!r}")
    return "".join(match.groups())


def build_nik(district_code: str, sex: str, birth_date: date, serial: int) -> str:
    # Hot path for the synthetic population (~400k calls): cached prefix,
    # cheap range checks, one f-string.
    if sex == "M":
        day = birth_date.day
    elif sex == "F":
        day = birth_date.day + 40
    else:
        raise ValueError(f"sex must be 'M' or 'F', got {sex!r}")
    if not 1 <= serial <= 9999:
        raise ValueError(f"serial must be in 1..9999, got {serial!r}")
    return (
        f"{district_prefix(district_code)}{day:02d}{birth_date.month:02d}"
        f"{birth_date.year % 100:02d}{serial:04d}"
    )
