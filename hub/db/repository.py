"""All SQL lives in repositories built on these two classes.

``ScopedRepository.readable`` is the one place that narrows a statement to a principal's regions.
Lists, single reads, look-ups by NIK or KK, counts, aggregates, DataLoaders, ``node`` and federation
``_entities`` all start from it; ``tests/hub/test_scope_lint.py`` fails on any other filter on
region columns. Out-of-scope rows are simply absent, so they read exactly like rows that do not exist.
PostgreSQL row-level security applies the same rule again underneath (``hub/migrations/security.py``).
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, false, func, or_, select
from sqlalchemy.exc import MultipleResultsFound
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from auth.permissions import Permission, can, programme_scoped
from auth.principal import NATIONAL, Principal, RegionScope
from hub.db.base import Base, RegionScoped
from hub.db.driver import PreparedRead
from hub.errors import NotFound

M = TypeVar("M", bound=Base)
S = TypeVar("S", bound=Base)


class Snapshot:
    """A read-only copy of one row, shaped like the model: its column attributes and nothing else (no
    session, no relationships, no change tracking). ``__dict__`` holds exactly the columns, as a loaded
    ORM instance's does, so code reading either works on both."""

    def __repr__(self) -> str:
        return f"Snapshot({self.__dict__!r})"


# Prepared hot reads by (repository, shape, scope): bounded by the shapes and the scopes in use.
_PREPARED: dict[Hashable, PreparedRead] = {}
_PREPARED_MAX = 4096


class RepositoryBase(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession, *, read_only: bool = False) -> None:
        """``read_only``: plain selects of the model return ``Snapshot``s instead of ORM instances.

        For the read API, which only converts rows to its types: building an ORM instance (identity
        map, instance state, attribute events) costs several times more than the row itself. Never
        for code that changes what it reads.
        """
        self.session = session
        self.read_only = read_only

    def _snapshots_apply(self, statement: Select[Any]) -> bool:
        if not self.read_only or statement._with_options or statement._setup_joins or statement._from_obj:
            return False  # eager loads need the ORM; a join may repeat a row, which only the ORM folds
        described = statement.column_descriptions
        return len(described) == 1 and described[0]["expr"] is self.model

    async def _snapshots(self, statement: Select[Any]) -> list[M]:
        # Executed on the session's connection, in its transaction (and its scope setting), as one
        # Core statement: the same SQL, the same column types, no ORM loading.
        result = await (await self.session.connection()).execute(statement)
        keys = list(result.keys())
        rows: list[Any] = []
        for values in result:
            row = object.__new__(Snapshot)
            row.__dict__ = dict(zip(keys, values, strict=True))
            rows.append(row)
        return rows

    def _shape_key(self) -> Hashable:
        """Everything besides the call's values that a prepared statement of this repository depends on."""
        return ()

    async def _prepared_snapshots(self, shape: Hashable, build: Callable[[], Select[Any]],
                                  params: dict[str, Any]) -> list[M]:
        """Snapshots from a hot statement built once per shape (``build``: with a named ``bindparam`` for
        each of ``params``), compiled once and run on the driver (``hub.db.driver``)."""
        # The model too: a repository class may be built for several tables (SubmissionRepository).
        key = (type(self), self.model, shape, self._shape_key())
        prepared = _PREPARED.get(key)
        if prepared is None:
            statement = build()
            if not self._snapshots_apply(statement):
                raise ValueError("a prepared read selects the repository's model only")
            if len(_PREPARED) >= _PREPARED_MAX:
                _PREPARED.clear()
            dialect = self.session.get_bind().dialect  # the app's one dialect (postgresql+asyncpg)
            prepared = _PREPARED[key] = PreparedRead(statement, dialect, list(params))
        rows: list[Any] = []
        for columns in await prepared.fetch(self.session, params):
            row = object.__new__(Snapshot)
            row.__dict__ = columns
            rows.append(row)
        return rows

    async def get_one_or_none(self, statement: Select[M]) -> M | None:
        if self._snapshots_apply(statement):
            rows = await self._snapshots(statement)
            if len(rows) > 1:
                raise MultipleResultsFound("Multiple rows were found when one or none was required")
            return rows[0] if rows else None
        result = await self.session.execute(statement)
        return result.scalars().unique().one_or_none()

    async def get_all(self, statement: Select[M]) -> Sequence[M]:
        if self._snapshots_apply(statement):
            return await self._snapshots(statement)
        result = await self.session.execute(statement)
        return result.scalars().unique().all()

    async def count(self, statement: Select[Any]) -> int:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int((await self.session.execute(counted)).scalar_one())

    def add(self, obj: M) -> M:
        self.session.add(obj)
        return obj

    async def flush(self) -> None:
        await self.session.flush()


def scope_clause(model: type[RegionScoped], principal: Principal) -> ColumnElement[bool] | None:
    """The WHERE clause for a principal's regions; ``None`` for national scope."""
    return region_clause(model, principal.scope)


def region_clause(model: type[RegionScoped], scope: RegionScope) -> ColumnElement[bool] | None:
    """The WHERE clause for a set of regions at any level; ``None`` for the whole nation."""
    if isinstance(model, type):
        # Built once per table and scope: clause elements are immutable, and a reused one also keeps
        # its memoised cache key, so the statement cache lookup is cheaper too (hot on every read).
        return _region_clause_of_table(model, scope)  # type: ignore[arg-type]  # classes hash
    return _build_region_clause(model, scope)  # an alias (analytics): built per statement


@functools.lru_cache(maxsize=4096)
def _region_clause_of_table(model: type[RegionScoped], scope: RegionScope) -> ColumnElement[bool] | None:
    return _build_region_clause(model, scope)


def _build_region_clause(model: type[RegionScoped], scope: RegionScope) -> ColumnElement[bool] | None:
    if scope.is_national:
        return None
    columns = (model.province_code, model.regency_code, model.district_code, model.village_code)
    parts = [column.in_(codes) for level, column in enumerate(columns, start=1)
             if (codes := scope.at_level(level))]
    if not parts:
        return false()
    return or_(*parts)


def managed_clause(column: ColumnElement[Any], scope: RegionScope) -> ColumnElement[bool] | None:
    """The WHERE clause for rows placed by one dotted ``region_code`` (a connector: the region it pulls and
    whose IT admins manage it) within ``scope``: the region itself or any below it. ``None`` for the
    whole nation; a NULL code (a national connector) only matches national scope."""
    if scope.is_national:
        return None
    codes = sorted(c for c in scope.codes if c != NATIONAL)
    if not codes:
        return false()
    return or_(column.in_(codes), *[column.startswith(code + ".", autoescape=True) for code in codes])


def programme_clause(model: type[Any], programmes: Iterable[str]) -> ColumnElement[bool] | None:
    """Rows that concern one of ``programmes`` (codes), for a programme-scoped principal.

    Enrolments, pending enrolments and cases: those of the programmes themselves (so a household's
    enrolments in other programmes stay out of reach). Other rows about one household: those of
    households enrolled in or referred (a case) to one of the programmes. ``None`` for tables not about
    one household (reviews, case events: reached through their subject or case)."""
    from hub.models import Case, Enrolment, Partner, Programme

    codes = sorted(programmes)
    programme_ids = select(Programme.id).where(Programme.code.in_(codes))
    if model.__tablename__ in ("enrolments", "pending_enrolments"):
        return model.programme_id.in_(programme_ids)  # type: ignore[no-any-return]
    referred_here = or_(Case.programme_id.in_(programme_ids),
                        Case.partner_id.in_(select(Partner.id).where(Partner.code.in_(codes))))
    if model.__tablename__ == "cases":
        return referred_here
    household = model.id if model.__tablename__ == "households" else getattr(model, "household_id", None)
    if household is None:
        return None
    enrolled = select(Enrolment.household_id).where(Enrolment.programme_id.in_(programme_ids))
    referred = select(Case.household_id).where(referred_here)
    return or_(household.in_(enrolled), household.in_(referred))


class ScopedRepository(RepositoryBase[S]):
    """A repository over a region-scoped table, bound to one principal."""

    # The permission a principal needs to read any row through this repository, and one more that also
    # opens it (enrolments: ``read_programme_enrolments``, for ministry systems).
    read_permission: ClassVar[Permission] = Permission.read_personal_data
    also_read_with: ClassVar[Permission | None] = None
    # A programme-scoped principal (programme owner, ministry system) reads only the rows about its
    # programmes. Aggregates opt out: they count the registry, with small-cell protection.
    programme_scoped: ClassVar[bool] = True

    def __init__(self, session: AsyncSession, principal: Principal, *, read_only: bool = False) -> None:
        super().__init__(session, read_only=read_only)
        self.principal = principal

    def _shape_key(self) -> Hashable:
        # What ``readable`` depends on: the role's permissions, the regions and the programmes.
        return (self.principal.role, self.principal.scope, self.principal.programmes)

    def readable(self, statement: Select[Any] | None = None, model: type[Any] | None = None) -> Select[Any]:
        """``statement`` (default: select the model) narrowed to the rows this principal may read."""
        target: type[RegionScoped] = model or self.model  # type: ignore[assignment]
        stmt = statement if statement is not None else select(target)
        if not (can(self.principal, self.read_permission)
                or (self.also_read_with is not None and can(self.principal, self.also_read_with))):
            # A role without the right (an auditor, a connector admin) reads nothing, whatever its regions.
            return stmt.where(false())
        stmt = self._in_regions(stmt, target)
        if self.programme_scoped and programme_scoped(self.principal):
            owned = programme_clause(target, self.principal.programmes)
            stmt = stmt if owned is None else stmt.where(owned)
        return stmt

    def for_push(self, statement: Select[Any] | None = None, model: type[Any] | None = None) -> Select[Any]:
        """``statement`` narrowed for a ministry push matching its items: region scope only.

        A push must find a registered person who is not yet in the pushing programme, so programme scope
        does not apply; the rows found never leave the hub (a push answers with outcomes and enrolment
        ids only). Needs ``Permission.push``; without it nothing matches.
        """
        target: type[RegionScoped] = model or self.model  # type: ignore[assignment]
        stmt = statement if statement is not None else select(target)
        if not can(self.principal, Permission.push):
            return stmt.where(false())
        return self._in_regions(stmt, target)

    def _in_regions(self, stmt: Select[Any], target: type[RegionScoped]) -> Select[Any]:
        if not hasattr(target, "province_code") and hasattr(target, "region_code"):
            # A configuration row placed by one dotted code (connectors), not the four region columns.
            clause = managed_clause(target.region_code, self.principal.scope)
        else:
            clause = scope_clause(target, self.principal)
        return stmt if clause is None else stmt.where(clause)

    def within(self, statement: Select[Any], region_code: str, model: type[Any] | None = None) -> Select[Any]:
        """Narrow ``statement`` to one region a caller asked for. Only ever narrows: scope still applies."""
        target: type[RegionScoped] = model or self.model  # type: ignore[assignment]
        clause = region_clause(target, RegionScope.of(region_code))
        return statement if clause is None else statement.where(clause)

    def within_level(self, statement: Select[Any], level: int, codes: Any,
                     model: type[Any] | None = None) -> Select[Any]:
        """``within`` for a region of a known ``level`` whose code comes as ``codes`` (a list of the one code, or
        an expanding bind parameter of a prepared statement): the same clause ``within`` adds."""
        target: type[RegionScoped] = model or self.model  # type: ignore[assignment]
        columns = (target.province_code, target.regency_code, target.district_code, target.village_code)
        return statement.where(or_(columns[level - 1].in_(codes)))

    async def get(self, id_: uuid.UUID) -> S:
        if self.read_only:
            rows = await self._prepared_snapshots("get", lambda: self.readable().where(
                self.model.id == bindparam("id", type_=self.model.id.type)), {"id": id_})  # type: ignore[attr-defined]
            if not rows:
                raise NotFound(f"{self.model.__name__} not found")
            return rows[0]
        row = await self.get_one_or_none(self.readable().where(self.model.id == id_))  # type: ignore[attr-defined]
        if row is None:
            raise NotFound(f"{self.model.__name__} not found")
        return row

    async def grouped_by(self, key: InstrumentedAttribute[Any], ids: Iterable[uuid.UUID],
                         *order: ColumnElement[Any] | InstrumentedAttribute[Any]) -> dict[uuid.UUID, list[S]]:
        """The readable rows whose ``key`` is one of ``ids``, in ``order``, grouped by their ``key`` (the
        batch of a DataLoader by household, family or person). Prepared once per key when read only, so a
        repository passes the same ``order`` for a key on every call."""
        wanted = list(set(ids))
        grouped: dict[uuid.UUID, list[S]] = defaultdict(list)
        if not wanted:
            return grouped
        rows: Sequence[S]
        if self.read_only:
            rows = await self._prepared_snapshots(("grouped", key.key), lambda: self.readable().where(
                key.in_(bindparam("ids", type_=key.type, expanding=True))).order_by(*order), {"ids": wanted})
        else:
            rows = await self.get_all(self.readable().where(key.in_(wanted)).order_by(*order))
        for row in rows:
            grouped[getattr(row, key.key)].append(row)
        return grouped

    async def get_many(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, S]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        if self.read_only:
            snapshots = await self._prepared_snapshots("get_many", lambda: self.readable().where(
                self.model.id.in_(bindparam("ids", type_=self.model.id.type, expanding=True))),  # type: ignore[attr-defined]
                {"ids": wanted})
            return {row.id: row for row in snapshots}  # type: ignore[attr-defined]
        rows = await self.get_all(self.readable().where(self.model.id.in_(wanted)))  # type: ignore[attr-defined]
        return {row.id: row for row in rows}  # type: ignore[attr-defined]

    def writable_region(self, village_code: str) -> bool:
        """Writes go only where the principal may read: the region comes from the server's data."""
        return self.principal.scope.contains(village_code)
