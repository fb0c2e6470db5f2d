"""Per-request DataLoaders of the workflow types: one query per batch, whatever the page size.

The nested connections (a submission's reviews, a case's history) are loaded by (parent, page):
keys asking for the same page of different parents are answered by one statement, and their
``totalCount`` by one grouped count. Loaders by ID serve ``node(id:)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from auth.principal import Principal
from hub.models import Case, CaseEvent, Review
from hub.paging import PageRequest
from hub.workflow import service as workflow_service
from hub.workflow.schemas import SubmissionKind
from schema.context import Context
from schema.workflow.boundary import read_session

K = TypeVar("K")
V = TypeVar("V")
Row = TypeVar("Row")

# (parent id, page) -> one page (``limit + 1`` rows) of that parent's children.
PageKey = tuple[uuid.UUID, PageRequest]
PagesOf = Callable[[AsyncSession, Principal, Sequence[uuid.UUID], PageRequest], Awaitable[dict[uuid.UUID, list[Row]]]]
CountsOf = Callable[[AsyncSession, Principal, Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, int]]]


def _loader(context: Context, name: str, load: Callable[[list[K]], Awaitable[Sequence[V]]]) -> DataLoader[K, V]:
    loader = context.loaders.get(name)
    if loader is None:
        loader = context.loaders[name] = DataLoader(load_fn=load)
    return loader


def _by_page(key: PageKey) -> tuple[int, int]:
    return key[1].offset, key[1].limit


def _pages(context: Context, pages_of: PagesOf[Row]) -> Callable[[list[PageKey]], Awaitable[list[list[Row]]]]:
    async def load(keys: list[PageKey]) -> list[list[Row]]:
        found: dict[PageKey, list[Row]] = {}
        async with read_session(context) as (session, principal):
            for _, group in groupby(sorted(keys, key=_by_page), key=_by_page):
                same = list(group)
                pages = await pages_of(session, principal, [k[0] for k in same], same[0][1])
                found.update({k: pages.get(k[0], []) for k in same})
        return [found[k] for k in keys]

    return load


def _counts(context: Context, counts_of: CountsOf) -> Callable[[list[uuid.UUID]], Awaitable[list[int]]]:
    async def load(ids: list[uuid.UUID]) -> list[int]:
        async with read_session(context) as (session, principal):
            counts = await counts_of(session, principal, ids)
        return [counts.get(i, 0) for i in ids]

    return load


def case_event_pages(context: Context) -> DataLoader[PageKey, list[CaseEvent]]:
    return _loader(context, "workflow.case_event_pages", _pages(context, workflow_service.case_event_pages))


def case_event_counts(context: Context) -> DataLoader[uuid.UUID, int]:
    return _loader(context, "workflow.case_event_counts", _counts(context, workflow_service.case_event_counts))


def review_pages(context: Context) -> DataLoader[PageKey, list[Review]]:
    return _loader(context, "workflow.review_pages", _pages(context, workflow_service.review_pages))


def review_counts(context: Context) -> DataLoader[uuid.UUID, int]:
    return _loader(context, "workflow.review_counts", _counts(context, workflow_service.review_counts))


def reviews(context: Context) -> DataLoader[uuid.UUID, Review | None]:
    """Reviews by ID, for ``node(id:)``: null unless the caller may read the reviewed submission."""
    async def load(ids: list[uuid.UUID]) -> list[Review | None]:
        async with read_session(context) as (session, principal):
            found = await workflow_service.get_reviews(session, principal, ids)
        return [found.get(i) for i in ids]

    return _loader(context, "workflow.reviews", load)


def cases(context: Context) -> DataLoader[uuid.UUID, Case | None]:
    async def load(ids: list[uuid.UUID]) -> list[Case | None]:
        async with read_session(context) as (session, principal):
            found = await workflow_service.get_cases(session, principal, ids)
        return [found.get(i) for i in ids]

    return _loader(context, "workflow.cases", load)


def submissions(context: Context, kind: SubmissionKind) -> DataLoader[uuid.UUID, Any | None]:
    """Needs, complaints or proposals by ID (one loader per kind)."""
    async def load(ids: list[uuid.UUID]) -> list[Any | None]:
        async with read_session(context) as (session, principal):
            found = await workflow_service.get_submissions(session, principal, kind, ids)
        return [found.get(i) for i in ids]

    return _loader(context, f"workflow.{kind.value}s", load)
