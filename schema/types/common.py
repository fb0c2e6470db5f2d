"""Relay building blocks: the ``Node`` interface, opaque cursors, and connections."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from hub.errors import Invalid
from hub.paging import Page, PageRequest, page_request
from schema.context import Info

T = TypeVar("T")

_CURSOR_PREFIX = "cursor:v1:"


@strawberry.interface(description="Anything with a global ID. Fetch any of them again with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque global ID, stable across requests. Treat it as a string; do not parse it.")


N = TypeVar("N")


def build(cls: type[N], values: dict[str, Any]) -> N:
    """An instance of strawberry type ``cls`` from its field values, without the generated ``__init__``.

    ``from_model`` of the types that appear hundreds of times per response use this, reading the ORM
    row's ``__dict__`` (all columns are loaded) instead of its instrumented attributes: it is about a
    third of the cost per object. ``values`` must name every field of ``cls``.
    """
    instance = object.__new__(cls)
    instance.__dict__ = values
    return instance


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset just after ``cursor`` (0 without one)."""
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")).decode()
        if raw.startswith(_CURSOR_PREFIX):
            return int(raw.removeprefix(_CURSOR_PREFIX)) + 1
    except (ValueError, binascii.Error, UnicodeError):
        pass
    raise Invalid("not a valid cursor: pass an `endCursor` or edge `cursor` this API returned", field="after")


def encode_keyset_cursor(position: int, key: str) -> str:
    """A cursor that also carries the item's sort key, for lists paged by key rather than offset
    (the access log: page 1,000 of a million entries must cost what page 1 costs)."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}:{key}".encode()).decode().rstrip("=")


def decode_keyset_cursor(cursor: str | None) -> tuple[int, str | None]:
    """(the position just after ``cursor``, its sort key); (0, None) without one. Offset cursors of
    other lists are refused, as any other string is."""
    if cursor is None:
        return 0, None
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")).decode()
        position, sep, key = raw.removeprefix(_CURSOR_PREFIX).partition(":")
        if raw.startswith(_CURSOR_PREFIX) and sep and key:
            return int(position) + 1, key
    except (ValueError, binascii.Error, UnicodeError):
        pass
    raise Invalid("not a valid cursor: pass an `endCursor` or edge `cursor` this API returned", field="after")


First = Annotated[int | None, strawberry.argument(
    description="How many items to return: 20 when omitted, at most 100 (more is a PAGE_TOO_LARGE error).")]
After = Annotated[str | None, strawberry.argument(
    description="Continue after this cursor (`pageInfo.endCursor` of the previous page).")]


def page_args(info: Info, first: int | None, after: str | None) -> PageRequest:
    return page_request(first, decode_cursor(after), info.context.settings.page_max)


def keyset_args(info: Info, first: int | None, after: str | None) -> tuple[PageRequest, str | None]:
    """The page request and the sort key to continue after (``None``: from the start)."""
    position, key = decode_keyset_cursor(after)
    return page_request(first, position, info.context.settings.page_max), key


@strawberry.type(description="Where this page sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when `after: endCursor` returns more items.")
    has_previous_page: bool = strawberry.field(description="True when this page does not start the list.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item on this page.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item on this page: pass it as `after` to get the next page.")


@strawberry.type(description="One item of a page, with the cursor that points at it.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list that can grow. Ask for more with `first` (at most 100) "
                             "and `after: pageInfo.endCursor`.")
class Connection(Generic[T]):
    # The edges and their cursors are built only when ``edges`` is selected: most clients read
    # ``nodes``, and a cursor and an Edge for each of a page's hundred items cost more than its nodes.
    def _edges(self) -> list[Edge[T]]:
        cursor = self._cursor
        return [Edge(cursor=cursor(i), node=item) for i, item in enumerate(self._items)]

    edges: list[Edge[T]] = strawberry.field(resolver=_edges, description="The items on this page with their "
                                                                         "cursors.")
    page_info: PageInfo = strawberry.field(description="Whether there are more pages, and their cursors.")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]
    _items: strawberry.Private[Sequence[T]]
    _cursor: strawberry.Private[Callable[[int], str]]  # the cursor of the item at an index of this page

    @strawberry.field(description="Items this page is taken from, for the same filters and the caller's "
                                  "scope. Costs one count query: ask for it only when you show it.")
    async def total_count(self) -> int:
        return await self._count()

    @strawberry.field(description="The items on this page, without cursors.")
    def nodes(self) -> list[T]:
        return list(self._items)


def connection(items: Sequence[T], page: Page[Any], count: Callable[[], Awaitable[int]],
               keys: Sequence[str] | None = None) -> Connection[T]:
    """Wrap converted ``items`` of ``page`` (which says where the page starts and whether more follow).

    ``keys``: the sort key of each item, for a list paged by key (``keyset_args``); the cursors then
    carry them. Without: offset cursors.
    """
    offset = page.offset
    cursor: Callable[[int], str]
    if keys is None:
        def cursor(index: int) -> str:
            return encode_cursor(offset + index)
    else:
        if len(keys) != len(items):
            raise ValueError(f"{len(keys)} sort keys for {len(items)} items")
        given = keys

        def cursor(index: int) -> str:
            return encode_keyset_cursor(offset + index, given[index])
    info = PageInfo(
        has_next_page=page.has_next,
        has_previous_page=offset > 0,
        start_cursor=cursor(0) if items else None,
        end_cursor=cursor(len(items) - 1) if items else None,
    )
    return Connection(page_info=info, _count=count, _items=items, _cursor=cursor)
