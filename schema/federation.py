"""Federation entities: how another subgraph's reference becomes a hub object.

A gateway resolving ``{ __typename: "Household", id: "..." }`` calls ``_entities``, which calls the
type's ``resolve_reference`` once per representation. ``resolve_entity`` batches those calls per
request and type into one repository call, in one transaction with the caller's region scope set,
so ``_entities`` reads exactly what every other query path reads: an out-of-scope or unknown
reference resolves to ``null``, the same as a row that does not exist.

How a region-scoped type becomes an entity (Household, Person, Case: keyed by their global ``id``)::

    @strawberry.federation.type(keys=["id"], description=...)
    class Household:
        ...
        @classmethod
        async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Household | None:
            row = await resolve_entity(info, "Household", id, by_global_id("Household", HouseholdRepository))
            return cls.from_model(row) if row else None

A type keyed by something else (Programme by ``code``) passes its own ``FetchMany``: an async
function ``(session, principal, keys) -> {key: row}`` that calls its repository, e.g.
``lambda s, p, codes: ProgrammeRepository(s, p).get_many_by_code(codes)``.

``on_unresolved`` is where the audit trail hooks in: it receives the keys that resolved to
nothing (out of scope or absent; the two are deliberately indistinguishable) and is awaited
inside the same transaction, so a denied-read audit entry commits with the read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from auth.principal import Principal
from hub.db.engine import unit_of_work
from hub.db.repository import ScopedRepository
from hub.errors import Invalid
from hub.metrics import ENTITY_REFERENCES
from schema.context import Info
from schema.ids import from_global_id

K = TypeVar("K", bound=Hashable)
M = TypeVar("M")

FetchMany = Callable[[AsyncSession, Principal, Sequence[K]], Awaitable[Mapping[K, M]]]
FetchPublic = Callable[[AsyncSession, Sequence[K]], Awaitable[Mapping[K, M]]]
OnUnresolved = Callable[[AsyncSession, Principal, str, Sequence[Any]], Awaitable[None]]

log = structlog.get_logger("slrt.federation")


def by_global_id(type_name: str, repository: type[ScopedRepository[Any]]) -> FetchMany[str, Any]:
    """Fetch rows by their opaque global IDs through a region-scoped repository.

    A malformed ID, or one naming another type, resolves to nothing rather than failing the
    whole ``_entities`` batch: the gateway asked for an object that, for this caller, does not exist.
    """

    async def fetch(session: AsyncSession, principal: Principal, ids: Sequence[str]) -> Mapping[str, Any]:
        wanted = {}
        for global_id in ids:
            try:
                wanted[from_global_id(global_id, type_name)] = global_id
            except Invalid:
                continue
        rows = await repository(session, principal).get_many(wanted)
        return {wanted[key]: row for key, row in rows.items()}

    return fetch


async def resolve_entity(
    info: Info,
    type_name: str,
    key: K,
    fetch_many: FetchMany[K, M],
    on_unresolved: OnUnresolved | None = None,
) -> M | None:
    """The row ``key`` names, if this request's principal may read it; otherwise ``None``."""
    loaders = info.context.loaders
    loader_key = f"federation:{type_name}"
    loader: DataLoader[K, M | None] | None = loaders.get(loader_key)
    if loader is None:
        loader = DataLoader(_batch(info, type_name, fetch_many, on_unresolved))
        loaders[loader_key] = loader
    return await loader.load(key)


async def resolve_public_entity(info: Info, type_name: str, key: K, fetch_many: FetchPublic[K, M]) -> M | None:
    """Like ``resolve_entity`` for reference data that is not personal (regions): no principal needed."""
    loaders = info.context.loaders
    loader_key = f"federation:{type_name}"
    loader: DataLoader[K, M | None] | None = loaders.get(loader_key)
    if loader is None:
        sessionmaker = info.context.sessionmaker

        async def load(keys: list[K]) -> list[M | None]:
            async with sessionmaker() as session:
                found = await fetch_many(session, keys)
            _count(type_name, len(keys), len(keys) - len(found))
            return [found.get(k) for k in keys]

        loader = DataLoader(load)
        loaders[loader_key] = loader
    return await loader.load(key)


def _count(type_name: str, total: int, unresolved: int) -> None:
    if total > unresolved:
        ENTITY_REFERENCES.labels(type_name, "resolved").inc(total - unresolved)
    if unresolved:
        ENTITY_REFERENCES.labels(type_name, "unresolved").inc(unresolved)


def _batch(
    info: Info, type_name: str, fetch_many: FetchMany[K, M], on_unresolved: OnUnresolved | None
) -> Callable[[list[K]], Awaitable[list[M | None]]]:
    context = info.context

    async def load(keys: list[K]) -> list[M | None]:
        principal = context.principal
        if principal is None:
            # Anonymous callers read nothing personal, through any path.
            _count(type_name, len(keys), len(keys))
            return [None] * len(keys)
        async with unit_of_work(context.sessionmaker, principal) as session:
            found = await fetch_many(session, principal, keys)
            missing = [k for k in keys if k not in found]
            if missing and on_unresolved is not None:
                await on_unresolved(session, principal, type_name, missing)
        _count(type_name, len(keys), len(missing))
        if missing:
            log.info("federation.references_unresolved", entity=type_name, count=len(missing))
        return [found.get(k) for k in keys]

    return load
