from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from auth.principal import Principal
from hub.config import Settings
from hub.db import driver
from hub.db.engine import set_scope
from hub.errors import HubError
from hub.masking import Visibility, visibility_of
from hub.sync.service import SyncQueue


@dataclass
class Context:
    request: Request
    response: Any
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    principal: Principal | None
    # Where runSync queues runs for the workers (schema.app wires the procrastinate queue).
    sync_queue: SyncQueue | None = None
    # Per-request DataLoaders, created lazily by schema.loaders.
    loaders: dict[str, Any] = field(default_factory=dict)
    # One read transaction per request, opened on first use, its scope set once (RLS).
    _session: AsyncSession | None = None
    # Sibling fields resolve concurrently; one AsyncSession must not run two statements at once.
    _session_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set by ``close``: a read that starts afterwards would open a session nobody closes.
    _closed: bool = False
    # ``visibility()``: with the principal it was decided for.
    _visibility: tuple[Principal | None, Visibility] | None = None

    def require_principal(self) -> Principal:
        """The caller, for anything that reads personal data; anonymous callers get UNAUTHENTICATED."""
        if self.principal is None:
            raise HubError("sign in to read personal data", code="UNAUTHENTICATED")
        return self.principal

    def visibility(self) -> Visibility:
        """What the caller may see of a person (``hub.masking.visibility_of``), decided once per request
        rather than once per members list (fifty on a households page)."""
        cached = self._visibility
        if cached is None or cached[0] is not self.principal:
            cached = self._visibility = (self.principal, visibility_of(self.principal))
        return cached[1]

    def read_session(self) -> _ReadSession:
        """The request's read session, held exclusively for the ``async with`` block."""
        return _ReadSession(self)

    async def close(self) -> None:
        """End the request's reads: close its session and drop its DataLoaders.

        A loader's batch function holds this context, and the context holds the loader: a cycle
        that would keep every row the request read (snapshots, futures) alive until a garbage
        collection. Under load those collections took up to ~190 ms each and stalled every request
        in flight (the p99 of benchmarks.api). Dropped here, the rows go when the request does."""
        self._closed = True
        self.loaders.clear()
        if self._session is not None:
            session, self._session = self._session, None
            await driver.close(session)


class _ReadSession:
    """``async with context.read_session() as session``: what ``async with lock: ...; yield session``
    does, as a class (every read of every request enters one: no generator and its context manager)."""

    __slots__ = ("context",)

    def __init__(self, context: Context) -> None:
        self.context = context

    async def __aenter__(self) -> AsyncSession:
        context = self.context
        await context._session_lock.acquire()
        try:
            if context._closed:
                # A DataLoader batch can still start after the response was made (its field was
                # cancelled when a sibling failed): it must not open a session, which would hold a
                # pooled connection until garbage collection.
                raise RuntimeError("the request's reads have ended")
            if context._session is None:
                # The transaction begins with the first statement (autobegin), the scope's when signed in.
                session = context.sessionmaker()
                if context.principal is not None:
                    try:
                        await set_scope(session, context.principal)
                    except BaseException:
                        # Never keep a session whose scope was not set: the next read opens a new one.
                        await session.close()
                        raise
                if context._closed:  # closed while the scope was being set: ``close`` did not see it
                    await driver.close(session)
                    raise RuntimeError("the request's reads have ended")
                context._session = session
        except BaseException:
            context._session_lock.release()
            raise
        return context._session

    async def __aexit__(self, *exc_info: object) -> None:
        self.context._session_lock.release()


Info = strawberry.Info[Context, None]
