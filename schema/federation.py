"""Federation entities: how another subgraph's reference becomes a hub object.

A gateway resolving ``{ __typename: "Household", id: "..." }`` calls ``_entities``, which calls the
type's ``resolve_reference`` once per representation. ``resolve_entity`` batches those calls per
request and type into one repository call on the request's read session (``Context.read_session``:
the same transaction, with the caller's region scope set, that every other field of the request
reads through), so ``_entities`` reads exactly what every other query path reads: an out-of-scope
or unknown reference resolves to ``null``, the same as a row that does not exist.

The entities and how they resolve:

- ``Household(id)``, ``Person(id)`` (``schema/types/registry.py``) and ``Case(id)``
  (``schema/workflow/types.py``): region-scoped, by global ID through their ``ScopedRepository``::

      @classmethod
      async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Household | None:
          row = await resolve_entity(info, "Household", id, by_global_id("Household", HouseholdRepository))
          return cls.from_model(row) if row else None

- ``Programme(code)`` and ``Region(code)``: national reference data, ``resolve_public_entity``
  with a ``FetchPublic`` ``(session, keys) -> {key: row}``; anonymous callers resolve them too.

Unresolved references: every entity type, scoped or public, reports the keys that resolved to
nothing (out of scope, absent, malformed, or asked by an anonymous caller: deliberately
indistinguishable) to the hooks registered with ``add_unresolved_hook``, once per batch, after the
read. That is where the denied-read audit entry is written. The read session is read-only and is
rolled back when the operation ends, so a hook writes through its own transaction (the audit
writer does); a hook that raises fails the references of that batch (fail closed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from auth.principal import Principal
from hub.db.repository import ScopedRepository
from hub.errors import Invalid
from hub.metrics import ENTITY_REFERENCES
from schema.context import Context, Info
from schema.ids import from_global_id

K = TypeVar("K", bound=Hashable)
M = TypeVar("M")

FetchMany = Callable[[AsyncSession, Principal, Sequence[K]], Awaitable[Mapping[K, M]]]
FetchPublic = Callable[[AsyncSession, Sequence[K]], Awaitable[Mapping[K, M]]]
# (the request's context, the entity's type name, the keys that resolved to nothing, in request order)
OnUnresolved = Callable[[Context, str, Sequence[Any]], Awaitable[None]]

log = structlog.get_logger("slrt.federation")
_unresolved_hooks: list[OnUnresolved] = []


def add_unresolved_hook(hook: OnUnresolved) -> Callable[[], None]:
    """Call ``hook`` for every batch of references that resolve to nothing; returns its remover."""
    _unresolved_hooks.append(hook)
    return lambda: _unresolved_hooks.remove(hook)


def by_global_id(type_name: str, repository: type[ScopedRepository[Any]]) -> FetchMany[str, Any]:
    """Fetch rows by their opaque global IDs through a region-scoped repository.

    A malformed ID, or one naming another type, resolves to nothing rather than failing the
    whole ``_entities`` batch: the gateway asked for an object that, for this caller, does not exist.
    """

    async def fetch(session: AsyncSession, principal: Principal, ids: Sequence[str]) -> Mapping[str, Any]:
        wanted: dict[Any, list[str]] = {}
        for global_id in ids:
            try:
                wanted.setdefault(from_global_id(global_id, type_name), []).append(global_id)
            except Invalid:
                continue
        rows = await repository(session, principal, read_only=True).get_many(wanted)
        return {global_id: row for key, row in rows.items() for global_id in wanted[key]}

    return fetch


async def resolve_entity(info: Info, type_name: str, key: K, fetch_many: FetchMany[K, M]) -> M | None:
    """The row ``key`` names, if this request's principal may read it; otherwise ``None``."""

    async def load(context: Context, keys: Sequence[K]) -> Mapping[K, M]:
        principal = context.principal
        if principal is None:
            return {}  # anonymous callers read nothing personal, through any path
        async with context.read_session() as session:
            return await fetch_many(session, principal, keys)

    return await _loader(info.context, type_name, load).load(key)


async def resolve_public_entity(info: Info, type_name: str, key: K, fetch_many: FetchPublic[K, M]) -> M | None:
    """Like ``resolve_entity`` for national reference data (regions, the programme catalogue): any caller."""

    async def load(context: Context, keys: Sequence[K]) -> Mapping[K, M]:
        async with context.read_session() as session:
            return await fetch_many(session, keys)

    return await _loader(info.context, type_name, load).load(key)


def _loader(context: Context, type_name: str,
            fetch: Callable[[Context, Sequence[K]], Awaitable[Mapping[K, M]]]) -> DataLoader[K, M | None]:
    loader_key = f"federation:{type_name}"
    loader: DataLoader[K, M | None] | None = context.loaders.get(loader_key)
    if loader is None:
        async def batch(keys: list[K]) -> list[M | None]:
            found = await fetch(context, keys)
            missing = [k for k in keys if k not in found]
            _count(type_name, len(keys), len(missing))
            if missing:
                log.info("federation.references_unresolved", entity=type_name, count=len(missing))
                for hook in list(_unresolved_hooks):
                    await hook(context, type_name, missing)
            return [found.get(k) for k in keys]

        loader = context.loaders[loader_key] = DataLoader(batch)
    return loader


def _count(type_name: str, total: int, unresolved: int) -> None:
    if total > unresolved:
        ENTITY_REFERENCES.labels(type_name, "resolved").inc(total - unresolved)
    if unresolved:
        ENTITY_REFERENCES.labels(type_name, "unresolved").inc(unresolved)
