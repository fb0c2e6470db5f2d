"""Hot read statements run straight on the session's asyncpg connection.

SQLAlchemy spends most of a by-id read's database CPU around the statement rather than in it: a
greenlet per call, a cache key walked over the whole statement, a compiled-cache lookup, parameter
post-processing, an execution context and a result object. For the few statements the read API runs
on every request, ``PreparedRead`` does that work once: the repository builds the statement once per
shape (table, principal's scope, method) with ``bindparam`` placeholders for what varies, SQLAlchemy
compiles it once, and each call only fills in the values and runs the compiled SQL with asyncpg's own
prepared-statement cache. The SQL text and the values sent are exactly what SQLAlchemy would send,
bind and result processing use SQLAlchemy's own processors, and the statement runs on the session's
connection in the session's transaction (with its scope setting).

Observability is kept: listeners for ``before_cursor_execute`` on the engine (statement counters in
tests) see every statement run here, with its SQL and parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import ClauseElement
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

_VARIANTS_MAX = 256
_DRIVER = "hub.db.driver"  # session.info key: (session transaction, Connection, adapted asyncpg connection)


async def _connection(session: AsyncSession) -> tuple[Connection, Any]:
    """The session's connection for its current transaction, and SQLAlchemy's adapter around asyncpg.

    Looked up once per session transaction: ``session.connection()`` costs a greenlet switch."""
    sync = session.sync_session
    cached = _kept(sync)
    if cached is not None and cached[1].in_transaction():
        return cached[1], cached[2]
    # What ``session.connection()`` does, less the ``AsyncConnection`` proxy it makes (unused here).
    connection = await greenlet_spawn(sync.connection)
    adapted = connection.connection.dbapi_connection
    sync.info[_DRIVER] = (sync._transaction, connection, adapted)
    return connection, adapted


def _kept(sync: Any) -> tuple[Any, Connection, Any] | None:
    """What ``_connection`` kept for the session's current transaction, if anything."""
    cached = sync.info.get(_DRIVER)
    return cached if cached is not None and cached[0] is sync._transaction else None


def _announce(connection: Connection, sql: str, args: tuple[Any, ...]) -> None:
    """Fire ``before_cursor_execute`` for a statement sent here (statement counters, logging)."""
    for listener in connection.dispatch.before_cursor_execute:
        listener(connection, None, sql, args, None, False)


async def run(session: AsyncSession, sql: str, args: Sequence[Any]) -> list[Any]:
    """``sql`` (asyncpg's ``$n`` style) in the session's transaction: its asyncpg records."""
    connection, adapted = await _connection(session)
    _announce(connection, sql, tuple(args))
    async with adapted._execute_mutex:
        if adapted._transaction is None:
            # SQLAlchemy's adapter sends BEGIN lazily, before a transaction's first statement.
            await adapted._start_transaction()
        try:
            return await adapted._connection.fetch(sql, *args)  # type: ignore[no-any-return]
        except Exception as error:
            adapted._handle_exception(error)  # the same translation as SQLAlchemy's (raises)
            raise


class _Begun:
    """What SQLAlchemy's asyncpg adapter keeps (``_transaction``, else an asyncpg ``Transaction``) for a
    transaction that ``begin`` began: the adapter only ever ends it, by ``commit()`` or ``rollback()``."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def commit(self) -> None:
        await self._connection.execute("COMMIT")

    async def rollback(self) -> None:
        await self._connection.execute("ROLLBACK")


async def begin(session: AsyncSession, statement: str) -> bool:
    """Begin the session's transaction with ``statement`` (SQL without parameters) as its first
    statement, in one round trip: ``BEGIN; <statement>`` as one simple query.

    Otherwise the adapter sends BEGIN on its own before the first statement, a round trip of its own on
    every request. The transaction is then the adapter's to end, as any other (commit, rollback, the
    pool's reset). False, with nothing sent, when the session's transaction has already begun, or when
    the adapter would begin it otherwise (an isolation level, read only, deferrable, autocommit): the
    caller runs its statement with ``run``."""
    connection, adapted = await _connection(session)
    if (adapted._transaction is not None or adapted.isolation_level is not None or adapted.readonly
            or adapted.deferrable):
        return False
    sql = "BEGIN; " + statement
    async with adapted._execute_mutex:
        if adapted._transaction is not None:  # a sibling's statement began it meanwhile
            return False
        _announce(connection, sql, ())
        asyncpg_connection = adapted._connection
        adapted._transaction = _Begun(asyncpg_connection)
        try:
            await asyncpg_connection.execute(sql)
        except BaseException as error:
            # The transaction stays the adapter's to end, whatever happened. Interrupted (the request
            # was cancelled) before the server's reply was read, nothing here can tell whether BEGIN
            # and the scope took effect: the connection's status is not updated yet. Were the
            # transaction forgotten, the pool would hand the connection out still inside it, with
            # this caller's scope. Ended by the adapter, its ROLLBACK ends it (or is a mere warning
            # when there is none), or fails and the pool discards the connection.
            if isinstance(error, Exception):
                adapted._handle_exception(error)  # the same translation as SQLAlchemy's (raises)
            raise
    return True


async def close(session: AsyncSession) -> None:
    """``await session.close()``, without its greenlet for a session whose transaction ``begin`` began.

    ``AsyncSession.close`` runs the sync close in a new greenlet so that the adapter can await its
    ROLLBACK from inside it. Here the ROLLBACK is awaited first, straight on asyncpg (what the adapter's
    rollback does), after which the sync close has nothing left to await (the adapter's rollback and the
    pool's reset see no transaction): it runs as a plain call. Any other session (a transaction the
    adapter began, a connection shared with a test, a failed ROLLBACK) is closed by ``session.close()``.
    tests/hub/db/test_begin.py checks the connection comes back to the pool clean either way."""
    sync = session.sync_session
    cached = _kept(sync)
    adapted = cached[2] if cached is not None else None
    if adapted is None or type(adapted._transaction) is not _Begun:
        await session.close()
        return
    try:
        ended = await _rollback_begun(adapted)
    except BaseException:
        # Interrupted (the request was cancelled) while ending the transaction: SQLAlchemy's close ends
        # what is left (its rollback, or the pool discards the connection), so it is never left checked
        # out with the caller's scope.
        await session.close()
        raise
    if ended:
        sync.close()
    else:
        await session.close()


async def _rollback_begun(adapted: Any) -> bool:
    """ROLLBACK of a transaction ``begin`` began, on asyncpg; False when there is none or it failed."""
    async with adapted._execute_mutex:
        transaction = adapted._transaction
        if type(transaction) is not _Begun:
            return False
        try:
            await transaction.rollback()
        except Exception:
            return False  # the adapter's own rollback, in session.close(), tries again and reports it
        adapted._transaction = None
        return True


class _Variant:
    """The SQL for one set of IN-list lengths, and where each ``$n`` value comes from."""

    __slots__ = ("slots", "sql")

    def __init__(self, sql: str, slots: list[tuple[str | None, int, Callable[[Any], Any] | None, Any]]) -> None:
        self.sql = sql
        # (parameter name or None for a value fixed in the statement, index in an IN list or -1,
        #  bind processor, the fixed value)
        self.slots = slots

    def args(self, params: dict[str, Any]) -> list[Any]:
        out = []
        for name, index, processor, fixed in self.slots:
            if name is None:
                out.append(fixed)
                continue
            value = params[name] if index < 0 else params[name][index]
            out.append(value if processor is None else processor(value))
        return out


class PreparedRead:
    """One select compiled once; ``fetch`` runs it with the values of its named ``bindparam``\\ s.

    Built from a statement whose per-call values are all named bind parameters (``params`` names);
    everything else in it (scope codes, constants) is fixed with the statement. Rows come back as
    tuples of the selected columns' values, processed as SQLAlchemy processes them.
    """

    def __init__(self, statement: ClauseElement, dialect: Any, params: Sequence[str]) -> None:
        self.dialect = dialect
        self.compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        binds = self.compiled.binds
        # A parameter can be compiled away (``false() AND ...`` for a principal who may read nothing).
        self.params = tuple(name for name in params if name in binds)
        for name in self.params:
            if binds[name].literal_execute:
                raise ValueError(f"bind parameter {name!r} is rendered into the SQL; it cannot vary")
        self.expanding = tuple(name for name in self.params if binds[name].expanding)
        columns = self.compiled._result_columns or []
        self.keys: tuple[str, ...] = tuple(column.keyname for column in columns)
        self._template: dict[str, Any] = dict.fromkeys(self.keys)
        self._types = [column.type for column in columns]
        self._variants: dict[tuple[int, ...], _Variant] = {}
        self._processors: list[_Processor] | None = None

    def _variant(self, params: dict[str, Any]) -> _Variant:
        lengths = tuple(len(params[name]) for name in self.expanding)
        variant = self._variants.get(lengths)
        if variant is None:
            state = self.compiled.construct_expanded_state(params)
            expanded = {name: (source, index) for source, names in state.parameter_expansion.items()
                        for index, name in enumerate(names)}
            slots: list[tuple[str | None, int, Callable[[Any], Any] | None, Any]] = []
            for name in state.positiontup or ():
                processor = state.processors.get(name)
                source, index = expanded.get(name, (name, -1))
                if source in self.params:
                    slots.append((source, index, processor, None))
                else:
                    value = state.parameters[name]
                    slots.append((None, -1, None, value if processor is None else processor(value)))
            if len(self._variants) >= _VARIANTS_MAX:
                self._variants.clear()  # batches of ever new sizes: keep the recent ones only
            variant = self._variants[lengths] = _Variant(state.statement, slots)
        return variant

    async def fetch(self, session: AsyncSession, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows, each a dict of result key to value, processed as SQLAlchemy processes them."""
        variant = self._variant(params)
        records = await run(session, variant.sql, variant.args(params))
        processors = self._processors
        if processors is None:
            processors = self._processors = await self._result_processors(session, variant.sql)
        keys = self.keys
        # Every record of one statement has its columns: checked once here, not per row by
        # ``zip(strict=True)``, which costs asyncpg records nearly as much again as the dict itself.
        if records and len(records[0]) != len(keys):
            raise ValueError(f"the statement returned {len(records[0])} columns, {len(keys)} expected")
        # Each row starts as a copy of a dict of the keys (cloned at its final size, where building it
        # key by key resizes it three times for a persons row) and takes the record's values in place.
        copy = self._template.copy
        rows = []
        for record in records:
            row = copy()
            row.update(zip(keys, record, strict=False))
            rows.append(row)
        if processors:
            _convert(rows, processors)
        return rows

    async def _result_processors(self, session: AsyncSession, sql: str) -> list[_Processor]:
        # A result processor may depend on the column's type as the server reports it (numerics).
        _, adapted = await _connection(session)
        async with adapted._execute_mutex:  # sibling resolvers may share the connection
            attributes = (await adapted._connection.prepare(sql)).get_attributes()
        found: list[_Processor] = []
        for key, type_, attribute in zip(self.keys, self._types, attributes, strict=True):
            oid = attribute.type.oid
            processor = type_._cached_result_processor(self.dialect, oid)
            if processor is not None:
                found.append((key, processor, _shortcut(type_.dialect_impl(self.dialect), self.dialect, oid)))
        return found


# A result processor, and what it amounts to for most values: a dictionary look-up (an enum's
# values), ``_LIST`` (an array of items without a processor: the list asyncpg returns), or None.
_Processor = tuple[str, Callable[[Any], Any], "dict[Any, Any] | object | None"]
_LIST = object()


def _convert(rows: list[dict[str, Any]], processors: list[_Processor]) -> None:
    """Apply the result processors to the rows in place, column by column."""
    for key, processor, shortcut in processors:
        if shortcut is _LIST:
            for row in rows:
                value = row[key]
                # a one-dimensional list: list(value) is what the processor returns, and the record's
                # list is this row's own
                if value is not None and (type(value) is not list
                                          or (value and isinstance(value[0], list | tuple))):
                    row[key] = processor(value)
        elif shortcut is not None:
            lookup = cast(dict[Any, Any], shortcut)
            for row in rows:
                try:
                    row[key] = lookup[row[key]]
                except KeyError:
                    row[key] = processor(row[key])  # raises SQLAlchemy's LookupError
        else:
            for row in rows:
                row[key] = processor(row[key])


def _shortcut(impl: Any, dialect: Any, oid: int) -> dict[Any, Any] | object | None:
    """What SQLAlchemy's result processor for ``impl`` does to common values, done inline: one call per
    value of each enum and array column of every row was most of the conversion's cost. Only for the
    processors whose code is known (SQLAlchemy's own ``Enum`` and ``ARRAY``); the processor itself still
    handles whatever the shortcut does not (a value outside the enum raises the same error)."""
    if (isinstance(impl, sqltypes.Enum) and type(impl).result_processor is sqltypes.Enum.result_processor
            and super(sqltypes.Enum, impl).result_processor(dialect, oid) is None):
        return impl._object_lookup  # Enum's processor: _object_lookup[value], LookupError if absent
    if (isinstance(impl, sqltypes.ARRAY) and type(impl).result_processor is postgresql.ARRAY.result_processor
            and not impl.as_tuple and impl.dimensions in (None, 1) and not getattr(impl, "_against_native_enum", True)
            and impl.item_type.dialect_impl(dialect).result_processor(dialect, oid) is None):
        # ARRAY's processor without an item processor: list(value), or lists of lists for nested ones
        return _LIST
    return None
