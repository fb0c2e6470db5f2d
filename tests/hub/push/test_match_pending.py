"""``match_pending`` enrols what waited for a person, once that person is in the registry."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal, RegionScope, Role
from hub.db.engine import set_scope
from hub.models import Enrolment, EnrolmentStatus, PendingEnrolment, Programme, ProgrammeLevel, TargetUnit
from hub.push import service as push_service
from tests.fixtures.factories import make_household, make_person

MINISTRY = Principal("kemensos", Role.ministry_system, RegionScope.national(), programmes=frozenset({"PKH"}),
                     client_id="kemensos-pkh")
NIK = "3314016012850007"
OTHER_NIK = "3314016112850008"


async def test_pending_items_are_matched_when_their_person_appears(session: AsyncSession) -> None:
    programme = Programme(code="PKH", name="PKH", owner_agency="Kemensos", level=ProgrammeLevel.central,
                          target_unit=TargetUnit.household)
    session.add(programme)
    await session.flush()
    result = await push_service.upsert_enrolments(session, MINISTRY, "PKH", [
        {"source_record_id": "a", "nik": NIK, "status": "active", "period_start": "2026-01-01"},
        {"source_record_id": "b", "nik": OTHER_NIK},
    ], "key-1")
    assert [r.outcome.value for r in result.results] == ["pending", "pending"]
    assert await push_service.match_pending(session) == 0

    household = await make_household(session, "33.14.01.2001")
    person = await make_person(session, household, nik=NIK)
    assert await push_service.match_pending(session) == 1

    enrolment = (await session.execute(select(Enrolment))).scalars().one()
    assert (enrolment.programme_id, enrolment.person_id, enrolment.household_id) == (
        programme.id, person.id, household.id)
    assert (enrolment.status, enrolment.period_start, enrolment.source_system, enrolment.source_record_id) == (
        EnrolmentStatus.active, date(2026, 1, 1), "kemensos-pkh", "a")
    assert enrolment.village_code == "33.14.01.2001"
    rows = {p.source_record_id: p for p in (await session.execute(select(PendingEnrolment))).scalars()}
    assert (rows["a"].enrolment_id, rows["a"].matched_at is not None) == (enrolment.id, True)
    assert (rows["b"].enrolment_id, rows["b"].matched_at) == (None, None)
    # Nothing left for "a"; "b" still waits.
    assert await push_service.match_pending(session) == 0


async def test_a_village_scoped_caller_cannot_see_district_level_pending_rows(session: AsyncSession) -> None:
    """Pending rows sit at the NIK's issuing district: only district or wider scopes match them."""
    programme = Programme(code="PKH", name="PKH", owner_agency="Kemensos", level=ProgrammeLevel.central,
                          target_unit=TargetUnit.household)
    session.add(programme)
    await session.flush()
    await push_service.upsert_enrolments(session, MINISTRY, "PKH", [{"source_record_id": "a", "nik": NIK}], "k")
    household = await make_household(session, "33.14.01.2001")
    await make_person(session, household, nik=NIK)
    village = Principal("fac", Role.facilitator, RegionScope.of("33.14.01.2001"))
    assert await push_service.match_pending(session, village) == 0
    district = Principal("sup", Role.supervisor, RegionScope.of("33.14.01"))
    assert await push_service.match_pending(session, district) == 1


async def test_row_level_security_hides_pending_rows_outside_the_scope(session: AsyncSession) -> None:
    programme = Programme(code="PKH", name="PKH", owner_agency="Kemensos", level=ProgrammeLevel.central,
                          target_unit=TargetUnit.household)
    session.add(programme)
    await session.flush()
    await push_service.upsert_enrolments(session, MINISTRY, "PKH", [{"source_record_id": "a", "nik": NIK}], "k")
    # No repository here: a plain SELECT, filtered only by PostgreSQL's policy on the transaction's scope.
    await set_scope(session, Principal("x", Role.supervisor, RegionScope.of("33.14.02")))
    assert (await session.execute(select(PendingEnrolment.id))).all() == []
    await set_scope(session, Principal("y", Role.supervisor, RegionScope.of("33.14.01")))
    assert len((await session.execute(select(PendingEnrolment.id))).all()) == 1


async def test_matching_goes_on_batch_after_batch(session: AsyncSession) -> None:
    programme = Programme(code="PKH", name="PKH", owner_agency="Kemensos", level=ProgrammeLevel.central,
                          target_unit=TargetUnit.household)
    session.add(programme)
    await session.flush()
    await push_service.upsert_enrolments(session, MINISTRY, "PKH", [
        {"source_record_id": "a", "nik": NIK}, {"source_record_id": "b", "nik": OTHER_NIK},
        {"source_record_id": "c", "nik": "3314016212850009"}], "k")
    household = await make_household(session, "33.14.01.2001")
    await make_person(session, household, nik=NIK)
    await make_person(session, household, nik=OTHER_NIK)
    assert await push_service.match_pending(session, batch=1) == 2
    assert len((await session.execute(select(Enrolment.id))).all()) == 2


async def test_the_job_runs_in_its_own_transaction(database_urls: dict[str, str]) -> None:
    from hub.push.jobs import match_pending_enrolments

    # Nothing committed is pending in the test database: the job connects, scopes itself and finds none.
    assert await match_pending_enrolments(database_urls["app"]) == 0
