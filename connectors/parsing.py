"""Small translators from the sources' formats. Each raises ``ValueError`` with a reason an admin can read."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

_VILLAGE_DIGITS = re.compile(r"^\d{10}$")
_VILLAGE_DOTTED = re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
_REGION_DOTTED = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


def village_code(value: Any) -> str:
    """``3314012001`` or ``33.14.01.2001`` -> ``33.14.01.2001``."""
    text = str(value).strip() if value is not None else ""
    if _VILLAGE_DOTTED.match(text):
        return text
    if _VILLAGE_DIGITS.match(text):
        return f"{text[:2]}.{text[2:4]}.{text[4:6]}.{text[6:]}"
    raise ValueError(f"village code {text!r} is not 10 digits")


def region_digits(code: str) -> str:
    """A hub region code (``33.14``) in the undotted form most sources use (``3314``)."""
    if not _REGION_DOTTED.match(code):
        raise ValueError(f"not a region code: {code!r}")
    return code.replace(".", "")


def region_dotted(digits: str) -> str:
    cuts = [2, 4, 6, 10]
    parts = []
    start = 0
    for end in cuts:
        if len(digits) < end:
            break
        parts.append(digits[start:end])
        start = end
    if not parts or start != len(digits):
        raise ValueError(f"not a region code: {digits!r}")
    return ".".join(parts)


def dmy(value: Any, *, optional: bool = False) -> date | None:
    """``DD-MM-YYYY`` -> date."""
    if value in (None, "") and optional:
        return None
    try:
        return datetime.strptime(str(value), "%d-%m-%Y").date()
    except ValueError:
        raise ValueError(f"date {value!r} is not DD-MM-YYYY") from None


def iso_date(value: Any, *, optional: bool = False) -> date | None:
    if value in (None, "") and optional:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"date {value!r} is not YYYY-MM-DD") from None


def timestamp(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"timestamp {value!r} is not ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def text(value: Any, name: str, *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"{name} is missing")
        return ""
    if not isinstance(value, str | int):
        raise ValueError(f"{name} is not text")
    return str(value).strip()


def small_int(value: Any, name: str, low: int, high: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} {value!r} is not a number")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not low <= number <= high:
        raise ValueError(f"{name} {number} is outside {low}..{high}")
    return number
