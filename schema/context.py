from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from auth.principal import Principal
from hub.config import Settings
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

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """The request's read session, held exclusively for the ``async with`` block."""
        async with self._session_lock:
            if self._session is None:
                # The transaction begins with the first statement (autobegin), the scope's when signed in.
                session = self.sessionmaker()
                if self.principal is not None:
                    try:
                        await set_scope(session, self.principal)
                    except BaseException:
                        # Never keep a session whose scope was not set: the next read opens a new one.
                        await session.close()
                        raise
                self._session = session
            yield self._session

    async def close(self) -> None:
        """End the request's reads: close its session and drop its DataLoaders.

        A loader's batch function holds this context, and the context holds the loader: a cycle
        that would keep every row the request read (snapshots, futures) alive until a garbage
        collection. Under load those collections took up to ~190 ms each and stalled every request
        in flight (the p99 of benchmarks.api). Dropped here, the rows go when the request does."""
        self.loaders.clear()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


Info = strawberry.Info[Context, None]
