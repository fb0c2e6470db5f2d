"""Page requests shared by every list: a maximum page size that the API enforces, never silently."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from hub.errors import Invalid

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class PageRequest:
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    offset: int
    has_next: bool


def page_request(first: int | None, offset: int, maximum: int) -> PageRequest:
    """Validate ``first`` (``None``: the default size) against ``maximum``; above it is an error, not a cut."""
    limit = min(DEFAULT_PAGE_SIZE, maximum) if first is None else first
    if limit > maximum:
        raise Invalid(f"`first` may be at most {maximum}; ask for the next page with `after`",
                      code="PAGE_TOO_LARGE", field="first", maximum=maximum)
    if limit < 0:
        raise Invalid("`first` may not be negative", field="first")
    if offset < 0:
        raise Invalid("not a valid cursor", field="after")
    return PageRequest(offset=offset, limit=limit)


def to_page(rows: Sequence[T], request: PageRequest) -> Page[T]:
    """``rows`` fetched with ``limit + 1``: the extra row only says that another page exists."""
    return Page(items=rows[: request.limit], offset=request.offset, has_next=len(rows) > request.limit)


def time_key(when: datetime, id_: uuid.UUID) -> str:
    """Where a row sits in a newest-first list ordered by (time, id), as text for a cursor."""
    return f"{when.isoformat()}|{id_}"


def parse_time_key(key: str) -> tuple[datetime, uuid.UUID]:
    """The (time, id) of ``time_key``; anything else is INVALID_INPUT on ``after``."""
    when, _, id_ = key.partition("|")
    try:
        parsed = datetime.fromisoformat(when), uuid.UUID(id_)
    except ValueError as exc:
        raise Invalid("not a valid cursor: pass an `endCursor` or edge `cursor` this API returned",
                      field="after") from exc
    if parsed[0].tzinfo is None:
        raise Invalid("not a valid cursor: pass an `endCursor` or edge `cursor` this API returned", field="after")
    return parsed
