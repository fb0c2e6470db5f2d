"""Per-request DataLoaders: every nested list or parent link is one statement per batch, never per row.

A loader is created on first use in a request (``Context.loaders``) and dies with it, so nothing
cached outlives the caller's scope. Loaders of region-scoped rows require a signed-in caller.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from itertools import groupby
from typing import TypeVar

from strawberry.dataloader import DataLoader

from hub.enrolment.repository import EnrolmentRepository
from hub.family.repository import FamilyRepository
from hub.household.repository import HouseholdRepository
from hub.models import Enrolment, EnrolmentStatus, Family, Household, Partner, Person, Programme
from hub.paging import PageRequest
from hub.partner.repository import PartnerRepository
from hub.person.repository import PersonRepository
from hub.programme.repository import ProgrammeRepository
from schema.context import Context

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

# (programme id, status filter, page) -> one page of that programme's enrolments.
EnrolmentPageKey = tuple[uuid.UUID, EnrolmentStatus | None, PageRequest]
EnrolmentCountKey = tuple[uuid.UUID, EnrolmentStatus | None]


def then(future: Awaitable[V], convert: Callable[[V], T]) -> Awaitable[T]:
    """A future of ``convert(<what future gives>)``; ``future``'s error, or ``convert``'s, as its error.

    For resolvers that only wait for a DataLoader and convert what it gives: returning this future
    instead of being a coroutine lets the compiled executor complete a list's objects together once
    their futures are done (``schema.executor._Deferred``), instead of a task and four coroutines
    per object. Any executor can still simply await it."""
    result: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def done(source: asyncio.Future[V]) -> None:
        if result.done():  # cancelled by its awaiter
            return
        if source.cancelled():
            result.cancel()
            return
        error = source.exception()
        if error is not None:
            result.set_exception(error)
            return
        try:
            result.set_result(convert(source.result()))
        except Exception as exc:
            result.set_exception(exc)

    asyncio.ensure_future(future).add_done_callback(done)
    return result


def _loader(context: Context, name: str,
            load: Callable[[Context, list[K]], Awaitable[Sequence[V]]]) -> DataLoader[K, V]:
    loader = context.loaders.get(name)
    if loader is None:
        async def batch(keys: list[K]) -> Sequence[V]:
            return await load(context, keys)

        loader = context.loaders[name] = DataLoader(load_fn=batch)
    return loader


async def _households(context: Context, ids: list[uuid.UUID]) -> list[Household | None]:
    principal = context.require_principal()
    async with context.read_session() as session:
        found = await HouseholdRepository(session, principal, read_only=True).get_many(ids)
    return [found.get(i) for i in ids]


async def _persons(context: Context, ids: list[uuid.UUID]) -> list[Person | None]:
    principal = context.require_principal()
    async with context.read_session() as session:
        found = await PersonRepository(session, principal, read_only=True).get_many(ids)
    return [found.get(i) for i in ids]


async def _families(context: Context, ids: list[uuid.UUID]) -> list[Family | None]:
    principal = context.require_principal()
    async with context.read_session() as session:
        found = await FamilyRepository(session, principal, read_only=True).get_many(ids)
    return [found.get(i) for i in ids]


async def _enrolments(context: Context, ids: list[uuid.UUID]) -> list[Enrolment | None]:
    principal = context.require_principal()
    async with context.read_session() as session:
        found = await EnrolmentRepository(session, principal, read_only=True).get_many(ids)
    return [found.get(i) for i in ids]


async def _members_of_households(context: Context, ids: list[uuid.UUID]) -> list[list[Person]]:
    principal = context.require_principal()
    async with context.read_session() as session:
        found = await PersonRepository(session, principal, read_only=True).by_household_ids(ids)
    return [found.get(i, []) for i in ids]


async def _members_of_families(context: Context, ids: list[uuid.UUID]) -> list[list[Person]]:
    principal = context.require_principal()
    async with context.read_session() as session:
        found = await PersonRepository(session, principal, read_only=True).by_family_ids(ids)
    return [found.get(i, []) for i in ids]


async def _families_of_households(context: Context, ids: list[uuid.UUID]) -> list[list[Family]]:
    principal = context.require_principal()
    async with context.read_session() as session:
        found = await FamilyRepository(session, principal, read_only=True).by_household_ids(ids)
    return [found.get(i, []) for i in ids]


async def _enrolments_of_households(context: Context, ids: list[uuid.UUID]) -> list[list[Enrolment]]:
    principal = context.require_principal()
    async with context.read_session() as session:
        found = await EnrolmentRepository(session, principal, read_only=True).by_household_ids(ids)
    return [found.get(i, []) for i in ids]


async def _enrolments_of_persons(context: Context, ids: list[uuid.UUID]) -> list[list[Enrolment]]:
    principal = context.require_principal()
    async with context.read_session() as session:
        found = await EnrolmentRepository(session, principal, read_only=True).by_person_ids(ids)
    return [found.get(i, []) for i in ids]


def _by_query(key: EnrolmentPageKey) -> tuple[str, int, int]:
    status, page = key[1], key[2]
    return (status.value if status else "", page.offset, page.limit)


async def _enrolment_pages(context: Context, keys: list[EnrolmentPageKey]) -> list[list[Enrolment]]:
    # Keys asking for the same status and page are answered by one statement.
    principal = context.require_principal()
    found: dict[EnrolmentPageKey, list[Enrolment]] = {}
    async with context.read_session() as session:
        repository = EnrolmentRepository(session, principal, read_only=True)
        for _, group in groupby(sorted(keys, key=_by_query), key=_by_query):
            same = list(group)
            status, page = same[0][1], same[0][2]
            pages = await repository.pages_by_programme([k[0] for k in same], status, page)
            for key in same:
                found[key] = pages.get(key[0], [])
    return [found[k] for k in keys]


async def _enrolment_counts(context: Context, keys: list[EnrolmentCountKey]) -> list[int]:
    principal = context.require_principal()
    found: dict[EnrolmentCountKey, int] = {}
    async with context.read_session() as session:
        repository = EnrolmentRepository(session, principal, read_only=True)
        for status in {k[1] for k in keys}:
            ids = [k[0] for k in keys if k[1] == status]
            counts = await repository.counts_by_programme(ids, status)
            found.update({(i, status): counts.get(i, 0) for i in ids})
    return [found[k] for k in keys]


async def _programmes(context: Context, ids: list[uuid.UUID]) -> list[Programme | None]:
    async with context.read_session() as session:
        found = await ProgrammeRepository(session, read_only=True).get_many(ids)
    return [found.get(i) for i in ids]


async def _partners(context: Context, ids: list[uuid.UUID]) -> list[Partner | None]:
    async with context.read_session() as session:
        found = await PartnerRepository(session, read_only=True).get_many(ids)
    return [found.get(i) for i in ids]


def households(context: Context) -> DataLoader[uuid.UUID, Household | None]:
    return _loader(context, "households", _households)


def persons(context: Context) -> DataLoader[uuid.UUID, Person | None]:
    return _loader(context, "persons", _persons)


def families(context: Context) -> DataLoader[uuid.UUID, Family | None]:
    return _loader(context, "families", _families)


def enrolments(context: Context) -> DataLoader[uuid.UUID, Enrolment | None]:
    return _loader(context, "enrolments", _enrolments)


def members_of_household(context: Context) -> DataLoader[uuid.UUID, list[Person]]:
    return _loader(context, "members_of_household", _members_of_households)


def members_of_family(context: Context) -> DataLoader[uuid.UUID, list[Person]]:
    return _loader(context, "members_of_family", _members_of_families)


def families_of_household(context: Context) -> DataLoader[uuid.UUID, list[Family]]:
    return _loader(context, "families_of_household", _families_of_households)


def enrolments_of_household(context: Context) -> DataLoader[uuid.UUID, list[Enrolment]]:
    return _loader(context, "enrolments_of_household", _enrolments_of_households)


def enrolments_of_person(context: Context) -> DataLoader[uuid.UUID, list[Enrolment]]:
    return _loader(context, "enrolments_of_person", _enrolments_of_persons)


def enrolment_pages(context: Context) -> DataLoader[EnrolmentPageKey, list[Enrolment]]:
    return _loader(context, "enrolment_pages", _enrolment_pages)


def enrolment_counts(context: Context) -> DataLoader[EnrolmentCountKey, int]:
    return _loader(context, "enrolment_counts", _enrolment_counts)


def programmes(context: Context) -> DataLoader[uuid.UUID, Programme | None]:
    return _loader(context, "programmes", _programmes)


def partners(context: Context) -> DataLoader[uuid.UUID, Partner | None]:
    return _loader(context, "partners", _partners)


