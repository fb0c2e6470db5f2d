"""Group commit for access-log entries: one INSERT and one commit for every entry that arrived
while the previous batch was being written.

Each request still waits until its own entry is committed (fail closed, and durable before the
response), but concurrent requests share the round trip and the WAL flush instead of paying one
each. There is no timer: a lone request is written at once; under load, batches grow by themselves.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from hub.audit.repository import AccessLogRepository
from hub.audit.service import ENTRY_COLUMNS, KINDS, OUTCOMES, Access, entry_row

log = logging.getLogger(__name__)

INSERT_ENTRY = (f"INSERT INTO access_logs ({', '.join(ENTRY_COLUMNS)}) "  # noqa: S608  constant column names
                f"VALUES ({', '.join(f'${i}' for i in range(1, len(ENTRY_COLUMNS) + 1))})")

MAX_BATCH = 500  # 500 rows x 18 columns stays far below PostgreSQL's 65,535 bind parameters
# Merge the GIN pending lists of the person and household ids after this many entries (migration 0013).
# An entry of a households page (200 ids) takes ~5 KB of pending list: a few hundred stay far below
# the 4 MB at which an insert would merge the list itself, inside a request's wait.
MERGE_EVERY = 256
MERGE_PENDING = "SELECT hub_access_logs_merge_pending()"


class AuditWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], max_batch: int = MAX_BATCH,
                 merge_every: int | None = MERGE_EVERY) -> None:
        self.sessionmaker = sessionmaker
        self.max_batch = max_batch
        self.merge_every = merge_every
        self._unmerged = 0  # entries written since the last merge of the pending lists began
        self._merge: asyncio.Task[None] | None = None
        self.merges = 0
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._held: AsyncConnection | None = None  # engine-bound: one connection kept for the log
        self._driver: Any = None  # its asyncpg connection
        self.batches = 0

    async def write(self, access: Access) -> None:
        """Return once the entry is committed; raise if it could not be."""
        if access.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {access.outcome!r}")
        if access.kind not in KINDS:
            raise ValueError(f"unknown kind {access.kind!r}")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entry_row(access), done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        # No shield: a cancelled request cancels only its own future; the batch it is in is written
        # regardless (``_drain`` skips futures that are already done).
        await done

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                await self._insert([values for values, _ in batch])
            except Exception as exc:  # every waiter gets the failure and withholds its response
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self.batches += 1
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        bind = self.sessionmaker.kw.get("bind")
        if isinstance(bind, AsyncEngine):
            # Straight on the driver: asyncpg's executemany (a lone row: execute) of one prepared
            # statement outside a transaction is atomic (one implicit transaction up to its Sync) and
            # committed, WAL flushed, when it returns: the guarantee of BEGIN ... COMMIT without their
            # round trips, and without the ORM session's per-request Python work (this runs on every
            # read).
            # Batches are written one at a time, so one connection, kept, serves them all: no pool
            # checkout per batch. After a failure it is dropped and the next batch takes a fresh one.
            fresh = self._held is None
            try:
                await self._execute(bind, rows)
            except Exception:
                await self.aclose(discard=True)
                if fresh:
                    raise
                # A kept connection can go stale (server restart, idle timeout): one more try on a new
                # one. The batch is atomic, so a failed first try wrote nothing.
                try:
                    await self._execute(bind, rows)
                except BaseException:
                    await self.aclose(discard=True)
                    raise
            except BaseException:
                await self.aclose(discard=True)
                raise
            self._merge_soon(bind, len(rows))
            return
        # Bound to a connection (tests, inside their transaction): a savepoint of it.
        async with self.sessionmaker() as session, session.begin():
            await AccessLogRepository(session).insert_many([dict(zip(ENTRY_COLUMNS, row, strict=True))
                                                             for row in rows])

    async def _execute(self, bind: AsyncEngine, values: list[tuple[Any, ...]]) -> None:
        if self._held is None:
            self._held = await bind.connect()
            self._driver = (await self._held.get_raw_connection()).driver_connection
        if len(values) == 1:  # a lone request (no load): the same one statement, without executemany's batching
            await self._driver.execute(INSERT_ENTRY, *values[0])
        else:
            await self._driver.executemany(INSERT_ENTRY, values)

    def _merge_soon(self, bind: AsyncEngine, written: int) -> None:
        """Every ``merge_every`` entries, merge the index pending lists the entries went to, in the
        background on a connection of its own: requests only ever append to the lists (cheap), and
        none waits for a merge. One merge at a time; entries written meanwhile count towards the next."""
        self._unmerged += written
        if self.merge_every is None or self._unmerged < self.merge_every:
            return
        if self._merge is not None and not self._merge.done():
            return
        self._unmerged = 0
        self._merge = asyncio.create_task(self._merge_pending(bind))

    async def _merge_pending(self, bind: AsyncEngine) -> None:
        try:
            async with bind.connect() as connection:
                pages = (await connection.exec_driver_sql(MERGE_PENDING)).scalar_one()
                await connection.commit()
            self.merges += 1
            log.debug("merged %s pending pages of the access log's id indexes", pages)
        except Exception:  # the next merge tries again; an insert merges a list that grows too long
            log.warning("could not merge the access log's GIN pending lists", exc_info=True)

    async def aclose(self, *, discard: bool = False) -> None:
        """Give the kept connection back (app shutdown), or, after a failed batch, ``discard`` it so the
        pool does not hand the same broken connection out again."""
        try:
            if not discard and self._merge is not None:
                await self._merge  # at shutdown: let a merge that began finish (it logs its own failure)
        finally:
            await self._release(discard)

    async def _release(self, discard: bool) -> None:
        held, self._held, self._driver = self._held, None, None
        if held is not None:
            try:
                if discard:
                    await held.invalidate()
                await held.close()
            except Exception:  # a broken connection: the pool discards it
                log.warning("access-log connection could not be closed cleanly", exc_info=True)
