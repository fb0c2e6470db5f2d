"""Prepared hot reads on the driver send what SQLAlchemy sends and return what it returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import ARRAY, Enum, String, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.db.driver import _LIST, _convert, _shortcut
from hub.db.engine import set_scope
from hub.db.repository import Snapshot
from hub.enrolment.repository import EnrolmentRepository
from hub.household.repository import _ORDER, HouseholdRepository
from hub.household.schemas import HouseholdFilter, HouseholdOrder
from hub.models import (
    EnrolmentStatus,
    Household,
    Person,
    Programme,
    ProgrammeLevel,
    RecordStatus,
    Relationship,
    Sex,
    TargetUnit,
)
from hub.paging import PageRequest
from hub.person.repository import _MEMBER_ORDER, PersonRepository
from hub.programme.repository import ProgrammeRepository
from tests.fixtures.factories import make_household, make_person
from tests.fixtures.read_api import make_enrolment
from tests.fixtures.statements import sent

VILLAGE_A = "33.14.01.2001"
VILLAGE_B = "33.72.01.1001"  # another regency


def manager(*codes: str) -> Principal:
    return Principal(subject="manager-1", role=Role.manager, scope=RegionScope.of(*codes))


async def both(session: AsyncSession, prepared: Callable[[], Awaitable[list[Any]]],
               plain: Callable[[], Awaitable[list[Any]]]) -> list[dict[str, Any]]:
    """The rows of the prepared read and of the same statement run by SQLAlchemy: equal, in the same
    order, with the same value types, from the same SQL and parameters."""
    with sent(session) as by_driver:
        fast = await prepared()
    with sent(session) as by_sqlalchemy:
        slow = await plain()
    assert by_driver == by_sqlalchemy
    assert len(by_driver) == 1
    assert all(type(row) is Snapshot for row in fast + slow)
    assert [vars(row) for row in fast] == [vars(row) for row in slow]
    assert [[type(v) for v in vars(row).values()] for row in fast] == \
           [[type(v) for v in vars(row).values()] for row in slow]
    return [vars(row) for row in fast]


async def test_prepared_reads_match_sqlalchemy_and_keep_the_scope(session: AsyncSession) -> None:
    inside = await make_household(session, VILLAGE_A)
    outside = await make_household(session, VILLAGE_B)
    members = [await make_person(session, inside) for _ in range(3)]
    stranger = await make_person(session, outside)
    who = manager("33.14")
    await set_scope(session, who)
    households = HouseholdRepository(session, who, read_only=True)
    persons = PersonRepository(session, who, read_only=True)
    ids = [inside.id, outside.id]

    rows = await both(session, lambda: households._prepared_snapshots(
        "get_many", lambda: households.readable().where(Household.id.in_(bindparam(
            "ids", type_=Household.id.type, expanding=True))), {"ids": ids}),
        lambda: households._snapshots(households.readable().where(Household.id.in_(ids))))
    assert [r["id"] for r in rows] == [inside.id]  # the other regency is out of scope
    assert set(await households.get_many(ids)) == {inside.id}
    assert (await households.get(inside.id)).id == inside.id

    member_ids = [inside.id, outside.id]
    grouped = await persons.by_household_ids(member_ids)
    expected = await persons._snapshots(
        persons.readable().where(Person.household_id.in_(member_ids)).order_by(*_MEMBER_ORDER))
    assert [vars(p) for p in grouped[inside.id]] == [vars(p) for p in expected]
    assert {p.id for p in grouped[inside.id]} == {m.id for m in members}
    assert outside.id not in grouped

    found = await persons.by_nik(members[0].nik)
    assert found is not None
    assert found.id == members[0].id
    assert await persons.by_nik(stranger.nik) is None  # out of scope reads as absent


async def test_prepared_reads_are_counted_and_vary_with_the_number_of_ids(session: AsyncSession) -> None:
    session.add_all([Programme(code=f"T-{i}", name=f"Test {i}", owner_agency="Kemensos", level=ProgrammeLevel.central,
                               target_unit=TargetUnit.household, decile_max=i or None) for i in range(3)])
    await session.flush()
    programmes = ProgrammeRepository(session, read_only=True)
    some = list((await session.scalars(select(Programme.id).where(Programme.code.startswith("T-")))).all())
    assert len(some) == 3
    for n in (1, len(some), 1):
        with sent(session) as seen:
            got = await programmes.get_many(some[:n])
        assert len(seen) == 1
        assert len(seen[0][1]) == n
        assert set(got) == set(some[:n])
        plain = ProgrammeRepository(session)
        orm = await plain.get_many(some[:n])
        for id_, row in got.items():
            assert vars(row) == {k: v for k, v in vars(orm[id_]).items() if not k.startswith("_")}


async def test_a_principal_without_the_right_reads_nothing_through_prepared_reads(session: AsyncSession) -> None:
    household = await make_household(session, VILLAGE_A)
    await make_person(session, household)
    auditor = Principal(subject="auditor-1", role=Role.auditor, scope=RegionScope.national())
    assert await HouseholdRepository(session, auditor, read_only=True).get_many([household.id]) == {}
    assert await PersonRepository(session, auditor, read_only=True).by_household_ids([household.id]) == {}


async def test_a_prepared_enrolment_page_matches_sqlalchemy(session: AsyncSession) -> None:
    household = await make_household(session, VILLAGE_A)
    person = await make_person(session, household)
    programme = Programme(code="T-PAGE", name="Test", owner_agency="Kemensos", level=ProgrammeLevel.central,
                          target_unit=TargetUnit.household)
    session.add(programme)
    await session.flush()
    for status in (EnrolmentStatus.active, EnrolmentStatus.active, EnrolmentStatus.suspended):
        await make_enrolment(session, programme, household, person, status=status)
    who = manager("33.14")
    await set_scope(session, who)
    repository = EnrolmentRepository(session, who, read_only=True)
    for status in (None, EnrolmentStatus.active):
        for page in (PageRequest(offset=0, limit=1), PageRequest(offset=1, limit=5)):
            with sent(session) as by_sqlalchemy:
                expected = await repository._snapshots(
                    repository._page_of([programme.id], status, page.offset, page.limit + 1))
            with sent(session) as seen:
                got = (await repository.pages_by_programme([programme.id], status, page))[programme.id]
            assert seen == by_sqlalchemy  # the same SQL and values
            assert len(seen) == 1
            assert [vars(e) for e in got] == [vars(e) for e in expected]
            assert all(type(e.status) is EnrolmentStatus for e in got)
    everything = (await repository.pages_by_programme([programme.id], None, PageRequest(offset=0, limit=10)))
    assert len(everything[programme.id]) == 3


async def test_a_prepared_households_page_matches_the_filtered_statement(session: AsyncSession) -> None:
    for village, decile in ((VILLAGE_A, 1), (VILLAGE_A, 5), ("33.14.02.2001", 9), (VILLAGE_B, 3)):
        await make_household(session, village, decile=decile)
    who = manager("33.14")
    await set_scope(session, who)
    repository = HouseholdRepository(session, who, read_only=True)
    since = datetime(2000, 1, 1, tzinfo=UTC)
    wanted_ones = [HouseholdFilter(), HouseholdFilter(region_code=VILLAGE_A), HouseholdFilter(region_code="33.14.01"),
                   HouseholdFilter(region_code="33.14", decile_min=2, decile_max=9, updated_since=since),
                   HouseholdFilter(region_code=VILLAGE_B), HouseholdFilter(region_code="33.14.01.2001.9")]
    for wanted in wanted_ones:
        for order in HouseholdOrder:
            for page in (PageRequest(offset=0, limit=1), PageRequest(offset=1, limit=10)):
                with sent(session) as by_sqlalchemy:
                    expected = await repository._snapshots(
                        repository.filtered(wanted).order_by(*_ORDER[order]).offset(page.offset).limit(page.limit + 1))
                with sent(session) as seen:
                    got = await repository.page(wanted, order, page)
                assert [vars(h) for h in got] == [vars(h) for h in expected], (wanted, order, page)
                if wanted.region_code not in who.scope.codes:
                    # (Filtering on a region of the scope itself, SQLAlchemy binds the one memoised clause twice.)
                    assert seen == by_sqlalchemy  # the same SQL and values
    everything = await repository.page(HouseholdFilter(), HouseholdOrder.decile_asc, PageRequest(offset=0, limit=10))
    assert [h.decile for h in everything] == [1, 5, 9]  # scope applies: the other regency is absent


async def test_enum_and_array_columns_convert_as_sqlalchemy_converts_them(session: AsyncSession) -> None:
    # the shortcuts for enum and array columns (hub.db.driver._shortcut) against SQLAlchemy's processors
    household = await make_household(session, VILLAGE_A)
    plain = await make_person(session, household, sex=None)
    flagged = await make_person(session, household, sex=Sex.female, relationship_to_head=Relationship.child)
    nested = await make_person(session, household)
    await session.execute(update(Person).where(Person.id == flagged.id).values(
        nik_flags=["duplicate", "unknown_region"], disabilities=["netra"]))
    await session.execute(text("UPDATE persons SET disabilities = '{{a,b},{c,d}}', nik_flags = '{NULL,x}' "
                               "WHERE id = :id"), {"id": nested.id})
    who = manager("33.14")
    await set_scope(session, who)
    persons = PersonRepository(session, who, read_only=True)
    ids = [household.id]
    rows = await both(session, lambda: persons._prepared_snapshots(
        ("test", "members"), lambda: persons.readable().where(Person.household_id.in_(bindparam(
            "ids", type_=Person.household_id.type, expanding=True))).order_by(Person.created_at, Person.id),
        {"ids": ids}),
        lambda: persons._snapshots(persons.readable().where(Person.household_id.in_(ids))
                                   .order_by(Person.created_at, Person.id)))
    by_id = {row["id"]: row for row in rows}
    assert by_id[plain.id]["sex"] is None
    assert by_id[plain.id]["disabilities"] == []
    assert by_id[flagged.id]["sex"] is Sex.female
    assert by_id[flagged.id]["relationship_to_head"] is Relationship.child
    assert by_id[flagged.id]["nik_flags"] == ["duplicate", "unknown_region"]
    assert by_id[nested.id]["disabilities"] == [["a", "b"], ["c", "d"]]
    assert by_id[nested.id]["nik_flags"] == [None, "x"]


def test_the_enum_and_array_shortcuts_only_apply_to_sqlalchemys_own_processors() -> None:
    dialect = postgresql_asyncpg.dialect()
    status = Person.__table__.c.status.type
    shortcut = _shortcut(status.dialect_impl(dialect), dialect, 1043)
    assert isinstance(shortcut, dict)
    processor = status._cached_result_processor(dialect, 1043)
    for value in ("active", "proposed", "archived", None):
        assert shortcut[value] is processor(value)
    assert _shortcut(Person.__table__.c.disabilities.type.dialect_impl(dialect), dialect, 1015) is _LIST
    assert _shortcut(Person.__table__.c.name.type.dialect_impl(dialect), dialect, 1043) is None
    assert _shortcut(ARRAY(String, as_tuple=True).dialect_impl(dialect), dialect, 1015) is None
    enums = ARRAY(Enum(RecordStatus, name="record_status", native_enum=False))  # an item processor
    assert _shortcut(enums.dialect_impl(dialect), dialect, 1015) is None

    # a value outside the enum fails as SQLAlchemy fails; lists are kept, nested ones processed
    array = ARRAY(String)
    rows: list[dict[str, Any]] = [{"s": "active", "a": ["x"]}, {"s": None, "a": (["y"],)}, {"s": "bogus", "a": None}]
    processors = [("a", array._cached_result_processor(dialect, 1015), _LIST),
                  ("s", processor, shortcut)]
    with pytest.raises(LookupError, match="'bogus' is not among the defined enum values"):
        _convert(rows, processors)
    assert rows[0] == {"s": RecordStatus.active, "a": ["x"]}
    assert rows[1] == {"s": None, "a": [["y"]]}
