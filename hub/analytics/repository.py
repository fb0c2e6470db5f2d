"""Every analytics figure as one SQL statement over the rows the principal may read.

Each table a statement touches is narrowed with ``scope_clause`` (through ``ScopedRepository.readable``
where the table is the statement's own FROM, in the ON clause where it is outer-joined), so the
figures for a facilitator are computed from their village's rows only; row-level security applies
the same rule again underneath.

Three building blocks are shared by the figures:

- ``registry``: households the social registry knows (a decile is set and the record is not archived);
- ``links``: programme-list households that are not registry households, linked to the registry
  household they belong to, by a valid NIK shared with a registry member or by a name + birth date
  + address match the service scored (passed in as ``name_matches``);
- ``effective``: active enrolments in the chosen programmes, each resolved to its registry household
  (itself, or the linked one) and that household's decile; ``unit_id`` is the household counted
  (the registry household when known, else the enrolled household).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CTE,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    and_,
    any_,
    case,
    delete,
    exists,
    extract,
    func,
    insert,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, distinct_on
from sqlalchemy.orm import aliased
from sqlalchemy.types import Boolean, Date, Float, String, Uuid

from auth.permissions import Permission
from hub.db.repository import ScopedRepository, scope_clause
from hub.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Complaint,
    Enrolment,
    EnrolmentStatus,
    Household,
    LifeStatus,
    Need,
    Person,
    Programme,
    Proposal,
    RecordStatus,
    Region,
    Relationship,
    Review,
)

# Age groups used by the profiles; the upper bound is exclusive.
AGE_GROUPS: tuple[tuple[str, int, int], ...] = (
    ("0-5", 0, 6), ("6-17", 6, 18), ("18-59", 18, 60), ("60+", 60, 200),
)
NOT_IN_REGISTRY = 0  # the decile bucket for enrolled households the registry does not know
PREPARED_STATISTICS = 10
ANALYTICS_WORK_MEM = "64MB"


def enrolled_units(effective: Any, members: Any) -> tuple[Any, Any]:
    """Each enrolled unit per programme and registry decile (``NOT_IN_REGISTRY`` when unmatched), and
    the persons it counts: a list naming the household counts its living members (``members``), a
    list naming persons counts those listed. Shared by the live coverage and the summary writer."""
    decile_key = func.coalesce(effective.c.decile, NOT_IN_REGISTRY)
    per_household = (
        select(effective.c.programme_id, decile_key.label("decile"), effective.c.unit_id,
               effective.c.enrolled_household_id,
               func.bool_or(effective.c.person_id.is_(None)).label("whole"),
               func.count(effective.c.person_id.distinct()).label("listed"))
        .group_by(effective.c.programme_id, decile_key, effective.c.unit_id, effective.c.enrolled_household_id)
        .subquery("per_household"))
    persons = case((per_household.c.whole, func.coalesce(members.c.n, 0)), else_=per_household.c.listed)
    return per_household, persons


@dataclass(frozen=True, slots=True)
class NameMatch:
    """A programme-list household linked to a registry household by name, birth date and address."""

    list_household_id: uuid.UUID
    registry_household_id: uuid.UUID
    score: float


@dataclass(frozen=True, slots=True)
class MatchCandidate:
    list_household_id: uuid.UUID
    list_name: str
    list_address: str
    registry_household_id: uuid.UUID
    registry_name: str
    registry_address: str


_PREPARED = MetaData()
PREPARED_REGISTRY = Table("analytics_registry", _PREPARED, Column("household_id", Uuid()),
                          Column("decile", SmallInteger()), prefixes=["TEMPORARY"])
PREPARED_EFFECTIVE = Table(
    "analytics_effective", _PREPARED, Column("programme_id", Uuid()), Column("enrolled_household_id", Uuid()),
    Column("person_id", Uuid()), Column("registry_household_id", Uuid()), Column("unit_id", Uuid()),
    Column("decile", SmallInteger()), Column("method", String()), Column("score", Float()),
    prefixes=["TEMPORARY"])
PREPARED_PERSONS = Table(
    "analytics_persons", _PREPARED, Column("id", Uuid()), Column("household_id", Uuid()), Column("sex", String()),
    Column("birth_date", Date()), Column("has_disability", Boolean()), prefixes=["TEMPORARY"])
# Private to the connection, gone at commit; dropped first in case this transaction prepared before.
PREPARED_DDL = (
    "DROP TABLE IF EXISTS pg_temp.analytics_registry, pg_temp.analytics_effective, pg_temp.analytics_persons",
    "CREATE TEMPORARY TABLE analytics_persons (id uuid, household_id uuid, sex text, birth_date date, "
    "has_disability boolean) ON COMMIT DROP",
    "CREATE TEMPORARY TABLE analytics_registry (household_id uuid, decile smallint) ON COMMIT DROP",
    "CREATE TEMPORARY TABLE analytics_effective (programme_id uuid, enrolled_household_id uuid, person_id uuid, "
    "registry_household_id uuid, unit_id uuid, decile smallint, method text, score float8) ON COMMIT DROP",
)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _key(programme_ids: Sequence[uuid.UUID], name_matches: Sequence[NameMatch]) -> tuple[Any, ...]:
    return tuple(programme_ids), tuple(name_matches)


class AnalyticsRepository(ScopedRepository[Household]):
    model = Household
    read_permission = Permission.read_aggregates  # counts only; the household lists also need read_small_cells
    programme_scoped = False  # counts and targeting lists cover the registry (see analytics.service)
    _prepared: tuple[tuple[Any, ...], Table, Table] | None = None

    # -- scope helpers: the only way the statements below narrow a table -------------------------

    def _on_scope(self, alias: Any) -> ColumnElement[bool]:
        """The principal's scope on ``alias`` as a join condition (for outer joins)."""
        clause = scope_clause(alias, self.principal)
        return true() if clause is None else clause

    async def tune(self) -> None:
        """Settings for this transaction only. Sorts and hashes get room (the figures aggregate whole
        regencies), and every statement is planned for its own parameters: after five runs on a
        pooled connection PostgreSQL may switch a prepared statement to a generic plan, which does
        not know how few rows a village's scope selects and can nest loops for minutes. JIT is off:
        these statements cost enough to trigger it, and compiling their ~150 expressions took 3 of
        the 3.5 seconds a district's coverage needed at 100,000 households, to save milliseconds."""
        await self.session.execute(text(f"SET LOCAL work_mem = '{ANALYTICS_WORK_MEM}'"))
        await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        await self.session.execute(text("SET LOCAL jit = off"))

    async def _rows(self, stmt: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in (await self.session.execute(stmt)).all()]

    def _scoped(self, stmt: Any, *aliases: Any) -> Any:
        for alias in aliases:
            stmt = self.readable(stmt, model=alias)
        return stmt

    # -- building blocks ------------------------------------------------------------------------

    def _registry(self) -> CTE:
        h = aliased(Household)
        stmt = select(h.id.label("household_id"), h.decile.label("decile")).where(
            h.decile.is_not(None), h.status != RecordStatus.archived)
        registry: CTE = self._scoped(stmt, h).cte("registry")
        return registry

    def _nik_links(self) -> Any:
        """(list household, registry household) pairs sharing a valid NIK; the first registry household
        by id when several match. Starts from the few list households, then the NIK index."""
        lh, lp, rp, rh = aliased(Household), aliased(Person), aliased(Person), aliased(Household)
        list_households = self._scoped(
            select(lh.id).where(lh.decile.is_(None), lh.status != RecordStatus.archived), lh).scalar_subquery()
        stmt = (
            select(lp.household_id.label("list_household_id"),
                   rp.household_id.label("registry_household_id"))
            .join(rp, and_(rp.nik == lp.nik, rp.nik_valid.is_(True)))
            .join(rh, rh.id == rp.household_id)
            # = ANY(ARRAY(...)): an index scan for the few list households' members, not a scan of persons.
            .where(lp.household_id == any_(func.array(list_households, type_=ARRAY(Uuid()))),
                   lp.nik_valid.is_(True), rh.decile.is_not(None), rh.status != RecordStatus.archived)
            .ext(distinct_on(lp.household_id))
            .order_by(lp.household_id, rp.household_id)
        )
        return self._scoped(stmt, lp, rp, rh)

    def _links(self, name_matches: Sequence[NameMatch]) -> CTE:
        nik = self._nik_links().subquery("nik_links")
        by_nik = select(nik.c.list_household_id, nik.c.registry_household_id,
                        literal("nik", String).label("method"), literal(100.0, Float).label("score"))
        list_ids = func.unnest(literal([m.list_household_id for m in name_matches], ARRAY(Uuid())))
        reg_ids = func.unnest(literal([m.registry_household_id for m in name_matches], ARRAY(Uuid())))
        scores = func.unnest(literal([m.score for m in name_matches], ARRAY(Float())))
        by_name = select(list_ids.label("list_household_id"), reg_ids.label("registry_household_id"),
                         literal("name", String).label("method"), scores.label("score"))
        # Small, and computed once: keeps the planner from re-planning it into every join.
        links: CTE = union_all(by_nik, by_name).cte("links").prefix_with("MATERIALIZED")
        return links

    def _effective(self, programme_ids: Sequence[uuid.UUID], registry: CTE, links: CTE) -> CTE:
        e = aliased(Enrolment)
        direct = registry.alias("direct")
        linked = registry.alias("linked")
        registry_household_id = func.coalesce(direct.c.household_id, linked.c.household_id)
        stmt = (
            select(
                e.programme_id,
                e.household_id.label("enrolled_household_id"),
                e.person_id,
                registry_household_id.label("registry_household_id"),
                func.coalesce(registry_household_id, e.household_id).label("unit_id"),
                func.coalesce(direct.c.decile, linked.c.decile).label("decile"),
                case((direct.c.household_id.is_not(None), "registry"),
                     (linked.c.household_id.is_not(None), links.c.method), else_=None).label("method"),
                case((direct.c.household_id.is_not(None), 100.0),
                     (linked.c.household_id.is_not(None), links.c.score), else_=None).label("score"),
            )
            .outerjoin(direct, direct.c.household_id == e.household_id)
            .outerjoin(links, and_(direct.c.household_id.is_(None), links.c.list_household_id == e.household_id))
            .outerjoin(linked, linked.c.household_id == links.c.registry_household_id)
            .where(e.status == EnrolmentStatus.active, e.programme_id.in_(list(programme_ids)))
        )
        effective: CTE = self._scoped(stmt, e).cte("effective")
        return effective

    def _base(self, programme_ids: Sequence[uuid.UUID],
              name_matches: Sequence[NameMatch]) -> tuple[Any, Any, Any]:
        """(registry, links, effective) as CTEs, or the tables ``prepare`` filled for these arguments."""
        if self._prepared is not None:
            if self._prepared[0] != _key(programme_ids, name_matches):
                raise ValueError("prepared for other programmes or matches; use a fresh repository")
            return self._prepared[1], None, self._prepared[2]
        registry = self._registry()
        links = self._links(name_matches)
        return registry, links, self._effective(programme_ids, registry, links)

    async def prepare(self, programme_ids: Sequence[uuid.UUID], name_matches: Sequence[NameMatch]) -> None:
        """Compute the registry and the effective enrolments once for the figures that follow in this
        transaction, into temporary tables dropped at commit. The rows come from the same scoped
        statements; each figure then reads them instead of recomputing them (the dashboard's four
        figures share them)."""
        registry_cte, _, effective_cte = self._base(programme_ids, name_matches)
        for ddl in PREPARED_DDL:
            await self.session.execute(text(ddl))
        await self.session.execute(insert(PREPARED_REGISTRY).from_select(
            ["household_id", "decile"], select(registry_cte.c.household_id, registry_cte.c.decile)))
        columns = [c.name for c in PREPARED_EFFECTIVE.columns]
        await self.session.execute(insert(PREPARED_EFFECTIVE).from_select(
            columns, select(*[effective_cte.c[name] for name in columns])))
        living = self._living()
        await self.session.execute(insert(PREPARED_PERSONS).from_select(
            [c.name for c in PREPARED_PERSONS.columns], select(*[living.c[c.name] for c in PREPARED_PERSONS.columns])))
        # Row counts and a rough n_distinct are all the figures' plans need: a 3,000-row sample instead
        # of the default 30,000 per table (ANALYZE took ~0.4 s of a regency's dashboard).
        await self.session.execute(text(f"SET LOCAL default_statistics_target = {PREPARED_STATISTICS}"))
        await self.session.execute(text(f"ANALYZE {PREPARED_REGISTRY.name}, {PREPARED_EFFECTIVE.name}, "
                                        f"{PREPARED_PERSONS.name}"))
        self._prepared = (_key(programme_ids, name_matches), PREPARED_REGISTRY, PREPARED_EFFECTIVE)

    def _living(self) -> Any:
        """Living, non-archived persons in scope (the prepared copy when there is one)."""
        if self._prepared is not None:
            return PREPARED_PERSONS
        p = aliased(Person)
        stmt = select(p.id, p.household_id, p.sex, p.birth_date, p.has_disability).where(
            p.life_status == LifeStatus.alive, p.status != RecordStatus.archived)
        return self._scoped(stmt, p).subquery("living")

    def _member_counts(self) -> CTE:
        """Members per household: one scan of persons serves the figure."""
        living = self._living()
        stmt = select(living.c.household_id, func.count().label("n")).group_by(living.c.household_id)
        members: CTE = stmt.cte("members").prefix_with("MATERIALIZED")
        return members

    # -- matching -------------------------------------------------------------------------------

    async def name_match_candidates(self, programme_ids: Sequence[uuid.UUID]) -> list[MatchCandidate]:
        """Enrolled list persons whose NIK is missing or invalid, paired with registry persons born the
        same day (the blocking key); the service scores names and addresses."""
        lp, lh, rp, rh, e = (aliased(Person), aliased(Household), aliased(Person), aliased(Household),
                             aliased(Enrolment))
        nik = self._nik_links().subquery("nik_links")
        enrolled = self._scoped(
            select(e.id).where(e.household_id == lh.id, e.status == EnrolmentStatus.active,
                               e.programme_id.in_(list(programme_ids))), e)
        # The few list members to match, computed first (MATERIALIZED): the planner then hashes them
        # against the registry's members by birth date instead of nesting loops over households.
        targets = self._scoped(
            select(lh.id.label("household_id"), lp.name, lh.address, lp.birth_date)
            .join(lh, lh.id == lp.household_id)
            .where(or_(lp.nik_valid.is_(False), lp.nik == ""), lp.birth_date.is_not(None),
                   lh.decile.is_(None), lh.status != RecordStatus.archived, exists(enrolled),
                   not_(exists(select(nik.c.list_household_id).where(nik.c.list_household_id == lh.id)))),
            lp, lh).cte("targets").prefix_with("MATERIALIZED")
        stmt = (
            select(targets.c.household_id, targets.c.name, targets.c.address, rh.id, rp.name, rh.address)
            .select_from(targets)
            .join(rp, rp.birth_date == targets.c.birth_date)
            .join(rh, rh.id == rp.household_id)
            .where(rh.decile.is_not(None), rh.status != RecordStatus.archived)
        )
        rows = await self._rows(self._scoped(stmt, rp, rh))
        return [MatchCandidate(*row) for row in rows]

    # -- figures --------------------------------------------------------------------------------

    async def coverage(self, programme_ids: Sequence[uuid.UUID],
                       name_matches: Sequence[NameMatch]) -> list[tuple[Any, ...]]:
        """Per programme and decile (0 = not in the registry): registry households and persons,
        whether the decile is in the programme's band, enrolled households and persons (the members
        of an enrolled household, or the persons enrolled one by one)."""
        registry, _, effective = self._base(programme_ids, name_matches)
        members = self._member_counts()
        reg_households = select(registry.c.decile, func.count().label("n")).group_by(registry.c.decile).cte("rh")
        reg_persons = (select(registry.c.decile, func.sum(members.c.n).label("n"))
                       .join(members, members.c.household_id == registry.c.household_id)
                       .group_by(registry.c.decile).cte("rp"))
        per_household, persons = enrolled_units(effective, members)
        enrolled = (
            select(per_household.c.programme_id, per_household.c.decile,
                   func.count(per_household.c.unit_id.distinct()).label("households"),
                   func.sum(persons).label("persons"))
            .outerjoin(members, members.c.household_id == per_household.c.enrolled_household_id)
            .group_by(per_household.c.programme_id, per_household.c.decile)
            .cte("enrolled")
        )
        deciles = func.generate_series(NOT_IN_REGISTRY, 10).table_valued("decile").render_derived(name="d")
        prog = aliased(Programme)
        in_band = and_(deciles.c.decile >= func.coalesce(prog.decile_min, 1),
                       deciles.c.decile <= func.coalesce(prog.decile_max, 10),
                       or_(prog.decile_min.is_not(None), prog.decile_max.is_not(None)))
        stmt = (
            select(prog.id, deciles.c.decile, in_band.label("in_band"),
                   func.coalesce(reg_households.c.n, 0), func.coalesce(reg_persons.c.n, 0).cast(Integer),
                   func.coalesce(enrolled.c.households, 0), func.coalesce(enrolled.c.persons, 0).cast(Integer))
            .select_from(prog)
            .join(deciles, true())
            .outerjoin(reg_households, reg_households.c.decile == deciles.c.decile)
            .outerjoin(reg_persons, reg_persons.c.decile == deciles.c.decile)
            .outerjoin(enrolled, and_(enrolled.c.programme_id == prog.id, enrolled.c.decile == deciles.c.decile))
            .where(prog.id.in_(list(programme_ids)))
            .order_by(prog.code, deciles.c.decile)
        )
        return await self._rows(stmt)

    async def overlap(self, programme_ids: Sequence[uuid.UUID],
                      name_matches: Sequence[NameMatch]) -> list[tuple[Any, ...]]:
        """(bitmask, households): bit i set when the household receives ``programme_ids[i]``.
        Mask 0 counts registry households that receive none of them."""
        registry, _, effective = self._base(programme_ids, name_matches)
        bit = case({pid: 1 << i for i, pid in enumerate(programme_ids)}, value=effective.c.programme_id, else_=0)
        masks = (select(effective.c.unit_id, func.bit_or(bit).label("mask"))
                 .group_by(effective.c.unit_id).cte("masks"))
        combos = select(masks.c.mask, func.count().label("n")).group_by(masks.c.mask)
        none = select(literal(0, Integer).label("mask"), func.count().label("n")).select_from(registry).where(
            not_(exists(select(effective.c.unit_id).where(effective.c.unit_id == registry.c.household_id))))
        stmt = union_all(combos, none)
        return await self._rows(stmt)

    async def targeting(self, programme_ids: Sequence[uuid.UUID],
                        name_matches: Sequence[NameMatch]) -> list[tuple[Any, ...]]:
        """Per programme: exclusion (registry households in the band, not enrolled), inclusion outside
        the band, enrolled households not found in the registry, and how enrolments were matched."""
        registry, _, effective = self._base(programme_ids, name_matches)
        prog = aliased(Programme)
        has_band = or_(prog.decile_min.is_not(None), prog.decile_max.is_not(None))
        low, high = func.coalesce(prog.decile_min, 1), func.coalesce(prog.decile_max, 10)
        enrolled_here = select(effective.c.unit_id).where(
            effective.c.programme_id == prog.id, effective.c.registry_household_id == registry.c.household_id)
        exclusion = (
            select(prog.id.label("programme_id"), func.count().label("n"))
            .select_from(prog)
            .join(registry, and_(has_band, registry.c.decile >= low, registry.c.decile <= high))
            .where(prog.id.in_(list(programme_ids)), not_(exists(enrolled_here)))
            .group_by(prog.id)
            .cte("exclusion")
        )
        unit = effective.c.unit_id.distinct()
        in_registry = effective.c.registry_household_id.is_not(None)
        outside = and_(in_registry, or_(effective.c.decile < low, effective.c.decile > high), has_band)
        enrolled = (
            select(
                effective.c.programme_id,
                func.count(unit).label("enrolled"),
                func.count(unit).filter(outside).label("outside_band"),
                func.count(unit).filter(not_(in_registry)).label("not_in_registry"),
                func.count(unit).filter(effective.c.method == "registry").label("direct"),
                func.count(unit).filter(effective.c.method == "nik").label("by_nik"),
                func.count(unit).filter(effective.c.method == "name").label("by_name"),
            )
            .join(prog, prog.id == effective.c.programme_id)
            .group_by(effective.c.programme_id)
            .cte("enrolled")
        )
        outer = aliased(Programme)
        stmt = (
            select(outer.id,
                   case((or_(outer.decile_min.is_not(None), outer.decile_max.is_not(None)),
                         func.coalesce(exclusion.c.n, 0)), else_=None),
                   func.coalesce(enrolled.c.enrolled, 0), func.coalesce(enrolled.c.outside_band, 0),
                   func.coalesce(enrolled.c.not_in_registry, 0), func.coalesce(enrolled.c.direct, 0),
                   func.coalesce(enrolled.c.by_nik, 0), func.coalesce(enrolled.c.by_name, 0))
            .outerjoin(exclusion, exclusion.c.programme_id == outer.id)
            .outerjoin(enrolled, enrolled.c.programme_id == outer.id)
            .where(outer.id.in_(list(programme_ids)))
            .order_by(outer.code)
        )
        return await self._rows(stmt)

    async def flagged(self, programme_id: uuid.UUID, name_matches: Sequence[NameMatch], *,
                      kind: str | None, limit: int, offset: int) -> tuple[int, list[tuple[Any, ...]]]:
        """Households to follow up for one programme: (total, page of rows). ``kind`` is ``exclusion``,
        ``outside_band``, ``not_in_registry`` or ``None`` for all three."""
        registry, _, effective = self._base([programme_id], name_matches)
        prog = aliased(Programme)
        low, high = func.coalesce(prog.decile_min, 1), func.coalesce(prog.decile_max, 10)
        has_band = or_(prog.decile_min.is_not(None), prog.decile_max.is_not(None))
        enrolled_here = select(effective.c.unit_id).where(effective.c.registry_household_id == registry.c.household_id)
        exclusion = (
            select(registry.c.household_id, literal("exclusion", String).label("kind"), registry.c.decile,
                   literal(None, String).label("method"), literal(None, Float).label("score"))
            .join(prog, prog.id == programme_id)
            .where(has_band, registry.c.decile >= low, registry.c.decile <= high, not_(exists(enrolled_here)))
        )
        kind_expr = case((effective.c.registry_household_id.is_(None), "not_in_registry"), else_="outside_band")
        inclusion = (
            select(effective.c.unit_id.label("household_id"), kind_expr.label("kind"), effective.c.decile,
                   effective.c.method, effective.c.score)
            .join(prog, prog.id == effective.c.programme_id)
            .where(or_(effective.c.registry_household_id.is_(None),
                       and_(has_band, or_(effective.c.decile < low, effective.c.decile > high))))
            .distinct()
        )
        flags = union_all(exclusion, inclusion).subquery("flags")
        chosen = select(flags).where(flags.c.kind == kind).subquery("chosen") if kind is not None else flags
        h = aliased(Household)
        head = aliased(Person)
        head_of = self._scoped(
            select(head.name).where(head.household_id == h.id)
            .order_by((head.relationship_to_head != Relationship.head), head.birth_date).limit(1), head
        ).scalar_subquery()
        head_nik = self._scoped(
            select(head.nik).where(head.household_id == h.id)
            .order_by((head.relationship_to_head != Relationship.head), head.birth_date).limit(1), head
        ).scalar_subquery()
        stmt = self._scoped(
            select(func.count().over().label("total"), h.id, chosen.c.kind, chosen.c.decile, chosen.c.method,
                   chosen.c.score, h.address, h.village_code, h.registry_id, head_of, head_nik)
            .join(h, h.id == chosen.c.household_id)
            .order_by(chosen.c.kind, h.village_code, h.id)
            .limit(limit).offset(offset), h)
        rows = await self._rows(stmt)
        if rows:
            return int(rows[0][0]), rows
        total = (await self.session.execute(select(func.count()).select_from(chosen))).scalar_one()
        return int(total), rows

    async def profiles(self, programme_ids: Sequence[uuid.UUID], name_matches: Sequence[NameMatch],
                       as_of: date) -> list[tuple[Any, ...]]:
        """Registry members by sex, age group and disability: how many, how many live in a household
        that receives one of the programmes, how many have a need recorded (for them or their household)."""
        registry, _, effective = self._base(programme_ids, name_matches)
        p = self._living()
        n = aliased(Need)
        # Younger than N years on as_of <=> born after as_of minus N years: date comparisons against
        # constants, cheaper per row than age().
        age_group = case(*[(p.c.birth_date > _years_before(as_of, hi), label) for label, _, hi in AGE_GROUPS],
                         else_="unknown")
        # Outer joins to distinct sets: hash joins, where an EXISTS or IN inside FILTER may be run
        # again for every person.
        covered = (select(effective.c.registry_household_id.label("household_id"))
                   .where(effective.c.registry_household_id.is_not(None)).distinct().subquery("covered"))
        need_households = self._scoped(select(n.household_id).where(n.person_id.is_(None)).distinct(),
                                       n).subquery("need_households")
        n2 = aliased(Need)
        need_persons = self._scoped(select(n2.person_id).where(n2.person_id.is_not(None)).distinct(),
                                    n2).subquery("need_persons")
        enrolled = covered.c.household_id.is_not(None)
        need = or_(need_households.c.household_id.is_not(None), need_persons.c.person_id.is_not(None))
        sex = func.coalesce(p.c.sex, "unknown")
        stmt = (
            select(sex.label("sex"), age_group.label("age_group"), p.c.has_disability, func.count(),
                   func.count().filter(enrolled), func.count().filter(need))
            .select_from(p)
            .join(registry, registry.c.household_id == p.c.household_id)
            .outerjoin(covered, covered.c.household_id == p.c.household_id)
            .outerjoin(need_households, need_households.c.household_id == p.c.household_id)
            .outerjoin(need_persons, need_persons.c.person_id == p.c.id)
            .group_by(sex, age_group, p.c.has_disability)
            .order_by(sex, age_group, p.c.has_disability))
        return await self._rows(stmt)

    async def proposals_by_status(self) -> list[tuple[Any, ...]]:
        p = aliased(Proposal)
        stmt = select(p.kind, p.status, func.count()).group_by(p.kind, p.status).order_by(p.kind, p.status)
        return await self._rows(self._scoped(stmt, p))

    async def reviews_by_decision(self) -> list[tuple[Any, ...]]:
        r = aliased(Review)
        stmt = (select(r.subject_type, r.decision, func.count()).group_by(r.subject_type, r.decision)
                .order_by(r.subject_type, r.decision))
        return await self._rows(self._scoped(stmt, r))

    async def submissions_by_category(self) -> list[tuple[Any, ...]]:
        """Needs and complaints by category and status, in one statement."""
        n, c = aliased(Need), aliased(Complaint)
        needs = self._scoped(select(literal("need", String).label("kind"), n.category, n.status,
                                    func.count().label("n")).group_by(n.category, n.status), n)
        complaints = self._scoped(select(literal("complaint", String).label("kind"), c.category, c.status,
                                         func.count().label("n")).group_by(c.category, c.status), c)
        stmt = union_all(needs, complaints).order_by(literal_column("kind"), literal_column("category"),
                                                     literal_column("status"))
        return await self._rows(stmt)

    async def case_sla(self, now: datetime) -> list[tuple[Any, ...]]:
        """Per district: cases, open (not yet ``informed``), overdue (open past ``due_at``)."""
        c = aliased(Case)
        unfinished = c.status != CaseStatus.informed
        stmt = self._scoped(
            select(c.district_code, Region.name, func.count(), func.count().filter(unfinished),
                   func.count().filter(and_(unfinished, c.due_at < now)))
            .outerjoin(Region, Region.code == c.district_code)
            .group_by(c.district_code, Region.name).order_by(c.district_code), c)
        return await self._rows(stmt)

    async def case_step_times(self) -> list[tuple[Any, ...]]:
        """Per district and step (the status a case moved to): how many moves and the median hours
        since the case's previous step (or since the case was created, for its first step)."""
        ev, c = aliased(CaseEvent), aliased(Case)
        previous = func.lag(ev.at).over(partition_by=ev.case_id, order_by=ev.at)
        steps = self._scoped(
            select(ev.district_code, ev.to_status,
                   (ev.at - func.coalesce(previous, c.created_at)).label("took"))
            .join(c, c.id == ev.case_id), ev, c).subquery("steps")
        hours = extract("epoch", steps.c.took) / 3600.0
        stmt = (select(steps.c.district_code, steps.c.to_status, func.count(),
                       func.percentile_cont(0.5).within_group(hours))
                .group_by(steps.c.district_code, steps.c.to_status)
                .order_by(steps.c.district_code, steps.c.to_status))
        return await self._rows(stmt)

    async def programmes(self, codes: Sequence[str] | None) -> Sequence[Programme]:
        """The catalogue (not region-scoped): the named programmes, or all of them."""
        stmt = select(Programme).order_by(Programme.code)
        if codes is not None:
            stmt = stmt.where(Programme.code.in_(list(codes)))
        return (await self.session.execute(stmt)).scalars().all()

    async def region(self, code: str) -> Region | None:
        return await self.session.get(Region, code)

    async def regions(self, codes: Sequence[str]) -> Sequence[Region]:
        stmt = select(Region).where(Region.code.in_(list(codes))).order_by(Region.code)
        return (await self.session.execute(stmt)).scalars().all()




# -- the summary ----------------------------------------------------------------------------------

# Advisory lock class for a regency's summary: the refresh holds it exclusively while it rewrites the
# regency, a reader tries for it shared and reads live figures when it cannot have it at once.
SUMMARY_LOCK_CLASS = 0x534C52  # "SLR"
_SUMMARY_LOCK = "SELECT pg_{kind}(:cls, hashtext(:regency))"


@dataclass(frozen=True, slots=True)
class SummaryState:
    regency_code: str
    refreshed_at: datetime
    as_of: date


def _age_group(column: Any, as_of: date) -> Any:
    return case(*[(column > _years_before(as_of, hi), label) for label, _, hi in AGE_GROUPS], else_="unknown")


class SummaryWriter(AnalyticsRepository):
    """Rewrites the summary rows of the caller's scope (one regency) from the live statements above,
    run for every programme of the catalogue: the figures for any choice of programmes are then sums
    over the stored programme sets. Runs inside the caller's transaction; row-level security keeps
    the DELETE and the INSERTs inside the scope."""

    async def lock(self, regency_code: str) -> None:
        await self.session.execute(text(_SUMMARY_LOCK.format(kind="advisory_xact_lock")),
                                   {"cls": SUMMARY_LOCK_CLASS, "regency": regency_code})

    async def write(self, programme_ids: Sequence[uuid.UUID], name_matches: Sequence[NameMatch],
                    as_of: date) -> None:
        from hub.models import SummaryEnrolled, SummaryNameMatches, SummaryPersons, SummaryUnit

        for model in (SummaryUnit, SummaryEnrolled, SummaryPersons, SummaryNameMatches):
            await self.session.execute(delete(model).where(model.id.in_(self.readable(select(model.id), model=model))))
        await self.prepare(programme_ids, name_matches)
        await self.session.execute(text("DROP TABLE IF EXISTS pg_temp.analytics_unit_sets"))
        await self.session.execute(text(_UNIT_SETS_DDL))
        await self.session.execute(text(_UNIT_SETS))
        await self.session.execute(text("ANALYZE analytics_unit_sets"))
        h = aliased(Household)
        codes = [h.province_code, h.regency_code, h.district_code, h.village_code]
        region_names = [c.key for c in codes]
        sets = UNIT_SETS
        await self.session.execute(insert(SummaryUnit).from_select(
            [*region_names, "decile", "programmes", "direct", "by_nik", "by_name", "households", "persons"],
            self._scoped(
                select(*codes, sets.c.decile, sets.c.programmes, sets.c.direct, sets.c.by_nik, sets.c.by_name,
                       func.count(), func.sum(sets.c.persons))
                .join(h, h.id == sets.c.unit_id)
                .group_by(*codes, sets.c.decile, sets.c.programmes, sets.c.direct, sets.c.by_nik, sets.c.by_name),
                h)))
        # Enrolled households and persons per programme and decile, as in ``coverage``.
        effective = PREPARED_EFFECTIVE
        members = self._member_counts()
        per_household, persons = enrolled_units(effective, members)
        await self.session.execute(insert(SummaryEnrolled).from_select(
            [*region_names, "programme_id", "decile", "households", "persons"],
            self._scoped(
                select(*codes, per_household.c.programme_id, per_household.c.decile,
                       func.count(per_household.c.unit_id.distinct()), func.sum(persons))
                .select_from(per_household)
                .join(h, h.id == per_household.c.unit_id)
                .outerjoin(members, members.c.household_id == per_household.c.enrolled_household_id)
                .group_by(*codes, per_household.c.programme_id, per_household.c.decile), h)))
        # Profiles: living registry members, as in ``profiles``.
        p = PREPARED_PERSONS
        n, n2 = aliased(Need), aliased(Need)
        need_households = self._scoped(select(n.household_id).where(n.person_id.is_(None)).distinct(),
                                       n).subquery("need_households")
        need_persons = self._scoped(select(n2.person_id).where(n2.person_id.is_not(None)).distinct(),
                                    n2).subquery("need_persons")
        need = or_(need_households.c.household_id.is_not(None), need_persons.c.person_id.is_not(None))
        sex = func.coalesce(p.c.sex, "unknown")
        age_group = _age_group(p.c.birth_date, as_of)
        await self.session.execute(insert(SummaryPersons).from_select(
            [*region_names, "programmes", "sex", "age_group", "has_disability", "persons", "with_need"],
            self._scoped(
                select(*codes, sets.c.programmes, sex, age_group, p.c.has_disability, func.count(),
                       func.count().filter(need))
                .select_from(p)
                .join(sets, and_(sets.c.unit_id == p.c.household_id, sets.c.decile != NOT_IN_REGISTRY))
                .join(h, h.id == p.c.household_id)
                .outerjoin(need_households, need_households.c.household_id == p.c.household_id)
                .outerjoin(need_persons, need_persons.c.person_id == p.c.id)
                .group_by(*codes, sets.c.programmes, sex, age_group, p.c.has_disability), h)))
        # Name matches, by the programmes their list household is enrolled in.
        if name_matches:
            e = aliased(Enrolment)
            listed = func.unnest(literal([m.list_household_id for m in name_matches], ARRAY(Uuid()))).table_valued(
                "id").render_derived(name="m")
            enrolled_in = self._scoped(
                select(func.array_agg(aggregate_order_by(e.programme_id.distinct(), e.programme_id)))
                .where(e.household_id == listed.c.id, e.status == EnrolmentStatus.active), e).scalar_subquery()
            per_list = (select(*codes, enrolled_in.label("programmes")).select_from(listed)
                        .join(h, h.id == listed.c.id))
            per_list_sq = self._scoped(per_list, h).subquery("per_list")
            await self.session.execute(insert(SummaryNameMatches).from_select(
                [*region_names, "programmes", "households"],
                select(*[per_list_sq.c[name] for name in region_names], per_list_sq.c.programmes, func.count())
                .where(per_list_sq.c.programmes.is_not(None))
                .group_by(*[per_list_sq.c[name] for name in region_names], per_list_sq.c.programmes)))


# Per counted household: its decile (0: not in the registry), the programmes it receives and how,
# and its living members. From the prepared tables of this transaction only.
_UNIT_SETS_DDL = (
    "CREATE TEMPORARY TABLE analytics_unit_sets (unit_id uuid, decile smallint, programmes uuid[], "
    "direct uuid[], by_nik uuid[], by_name uuid[], persons integer) ON COMMIT DROP")
_UNIT_SETS = """
INSERT INTO analytics_unit_sets
WITH u AS (
    SELECT unit_id, max(decile) AS decile,
           array_agg(DISTINCT programme_id ORDER BY programme_id) AS programmes,
           array_agg(DISTINCT programme_id ORDER BY programme_id) FILTER (WHERE method = 'registry') AS direct,
           array_agg(DISTINCT programme_id ORDER BY programme_id) FILTER (WHERE method = 'nik') AS by_nik,
           array_agg(DISTINCT programme_id ORDER BY programme_id) FILTER (WHERE method = 'name') AS by_name
    FROM analytics_effective GROUP BY unit_id
), members AS (
    SELECT household_id, count(*) AS n FROM analytics_persons GROUP BY household_id
)
SELECT r.household_id, r.decile, coalesce(u.programmes, '{}'), coalesce(u.direct, '{}'),
       coalesce(u.by_nik, '{}'), coalesce(u.by_name, '{}'), coalesce(m.n, 0)
FROM analytics_registry r
LEFT JOIN u ON u.unit_id = r.household_id
LEFT JOIN members m ON m.household_id = r.household_id
UNION ALL
SELECT u.unit_id, 0, u.programmes, coalesce(u.direct, '{}'), coalesce(u.by_nik, '{}'), coalesce(u.by_name, '{}'), 0
FROM u WHERE u.decile IS NULL
"""
UNIT_SETS = Table(
    "analytics_unit_sets", _PREPARED, Column("unit_id", Uuid()), Column("decile", SmallInteger()),
    Column("programmes", ARRAY(Uuid())), Column("direct", ARRAY(Uuid())), Column("by_nik", ARRAY(Uuid())),
    Column("by_name", ARRAY(Uuid())), Column("persons", Integer()), prefixes=["TEMPORARY"])


class SummaryReader(AnalyticsRepository):
    """The figures from the summary tables, in the same shape as ``AnalyticsRepository``'s: sums over
    the stored rows of the caller's scope. Name matches are not needed (they were resolved when the
    summary was written) and are ignored."""

    _units: list[tuple[Any, ...]] | None = None

    async def state(self) -> SummaryState | None:
        """The summary's refresh time if the caller's scope is one whole regency that has a summary and
        no refresh of it is running; the shared lock then keeps it unchanged to the end of the
        transaction. ``None``: compute live."""
        from hub.models import SummaryRefresh

        codes = self.principal.scope.codes
        if self.principal.scope.is_national or len(codes) != 1:
            return None
        (regency,) = codes
        if regency.count(".") != 1:
            return None
        got: bool = (await self.session.execute(text(_SUMMARY_LOCK.format(kind="try_advisory_xact_lock_shared")),
                                          {"cls": SUMMARY_LOCK_CLASS, "regency": regency})).scalar_one()
        if not got:
            return None
        stmt = self.readable(select(SummaryRefresh), model=SummaryRefresh)
        row = (await self.session.execute(stmt)).scalars().first()
        if row is None or row.regency_code != regency:
            return None
        return SummaryState(row.regency_code, row.refreshed_at, row.as_of)

    async def _programme_rows(self, programme_ids: Sequence[uuid.UUID]) -> list[Programme]:
        wanted = set(programme_ids)
        return [p for p in await self.programmes(None) if p.id in wanted]

    async def _unit_rows(self) -> list[tuple[Any, ...]]:
        from hub.models import SummaryUnit

        if self._units is None:
            u = aliased(SummaryUnit)
            keys = (u.decile, u.programmes, u.direct, u.by_nik, u.by_name)
            self._units = await self._rows(self._scoped(
                select(*keys, func.sum(u.households), func.sum(u.persons)).group_by(*keys), u))
        return self._units

    async def name_match_count(self, programme_ids: Sequence[uuid.UUID]) -> int:
        from hub.models import SummaryNameMatches

        m = aliased(SummaryNameMatches)
        chosen = literal(list(programme_ids), ARRAY(Uuid()))
        stmt = self._scoped(select(func.coalesce(func.sum(m.households), 0)).where(m.programmes.op("&&")(chosen)), m)
        return int((await self.session.execute(stmt)).scalar_one())

    async def coverage(self, programme_ids: Sequence[uuid.UUID],
                       name_matches: Sequence[NameMatch]) -> list[tuple[Any, ...]]:
        from hub.models import SummaryEnrolled

        reg_households: dict[int, int] = {}
        reg_persons: dict[int, int] = {}
        for decile, _, _, _, _, households, persons in await self._unit_rows():
            if decile != NOT_IN_REGISTRY:
                reg_households[decile] = reg_households.get(decile, 0) + int(households)
                reg_persons[decile] = reg_persons.get(decile, 0) + int(persons)
        s = aliased(SummaryEnrolled)
        enrolled = {(pid, decile): (int(h), int(p)) for pid, decile, h, p in await self._rows(self._scoped(
            select(s.programme_id, s.decile, func.sum(s.households), func.sum(s.persons))
            .where(s.programme_id.in_(list(programme_ids))).group_by(s.programme_id, s.decile), s))}
        out = []
        for prog in await self._programme_rows(programme_ids):
            has_band = prog.decile_min is not None or prog.decile_max is not None
            low = prog.decile_min if prog.decile_min is not None else 1
            high = prog.decile_max if prog.decile_max is not None else 10
            for decile in range(NOT_IN_REGISTRY, 11):
                enr_h, enr_p = enrolled.get((prog.id, decile), (0, 0))
                out.append((prog.id, decile, has_band and low <= decile <= high, reg_households.get(decile, 0),
                            reg_persons.get(decile, 0), enr_h, enr_p))
        return out

    async def overlap(self, programme_ids: Sequence[uuid.UUID],
                      name_matches: Sequence[NameMatch]) -> list[tuple[Any, ...]]:
        bits = {pid: 1 << i for i, pid in enumerate(programme_ids)}
        counts: dict[int, int] = {}
        for decile, programmes, _, _, _, households, _ in await self._unit_rows():
            mask = 0
            for pid in programmes:
                mask |= bits.get(pid, 0)
            if mask or decile != NOT_IN_REGISTRY:
                counts[mask] = counts.get(mask, 0) + int(households)
        return sorted(counts.items())

    async def targeting(self, programme_ids: Sequence[uuid.UUID],
                        name_matches: Sequence[NameMatch]) -> list[tuple[Any, ...]]:
        units = await self._unit_rows()
        out = []
        for prog in await self._programme_rows(programme_ids):
            has_band = prog.decile_min is not None or prog.decile_max is not None
            low = prog.decile_min if prog.decile_min is not None else 1
            high = prog.decile_max if prog.decile_max is not None else 10
            exclusion = enrolled = outside = missing = direct = by_nik = by_name = 0
            for decile, programmes, direct_set, nik_set, name_set, households, _ in units:
                n = int(households)
                in_registry = decile != NOT_IN_REGISTRY
                if prog.id not in programmes:
                    if has_band and in_registry and low <= decile <= high:
                        exclusion += n
                    continue
                enrolled += n
                outside += n if has_band and in_registry and not low <= decile <= high else 0
                missing += 0 if in_registry else n
                direct += n if prog.id in direct_set else 0
                by_nik += n if prog.id in nik_set else 0
                by_name += n if prog.id in name_set else 0
            out.append((prog.id, exclusion if has_band else None, enrolled, outside, missing, direct, by_nik,
                        by_name))
        return out

    async def profiles(self, programme_ids: Sequence[uuid.UUID], name_matches: Sequence[NameMatch],
                       as_of: date) -> list[tuple[Any, ...]]:
        """By sex, age group (on the summary's ``as_of``; the service reads the summary only for that
        day) and disability."""
        from hub.models import SummaryPersons

        s = aliased(SummaryPersons)
        chosen = literal(list(programme_ids), ARRAY(Uuid()))
        stmt = self._scoped(
            select(s.sex, s.age_group, s.has_disability, func.sum(s.persons),
                   func.coalesce(func.sum(s.persons).filter(s.programmes.op("&&")(chosen)), 0), func.sum(s.with_need))
            .group_by(s.sex, s.age_group, s.has_disability)
            .order_by(s.sex, s.age_group, s.has_disability), s)
        return [(sex, age, disabled, int(n), int(enrolled), int(need))
                for sex, age, disabled, n, enrolled, need in await self._rows(stmt)]
