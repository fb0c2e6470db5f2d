"""A small hand-built population whose every figure is worked out by hand in ``expected.md``-style
comments below, used by the analytics tests and by the browser test (committed to its own database).

Villages: A = 33.14.01.2001 (Keden), B = 33.14.01.2002 (Trobayan), both in district 33.14.01
(Kalijambe); C = 33.14.02.2001 (Karangwaru) in district 33.14.02 (Plupuh). All in regency 33.14.

Registry households (decile): A1 1, A2 1, A3 2, A4 3, A5 5, A6 7, A7..A12 1 (six, nobody enrolled);
B1 1, B2 2; C1 1. Programme-list households (no decile): L1 (its member shares a valid NIK with A2's
child -> linked by NIK), L2 (invalid NIK, same name and birth date as A4's head -> linked by name),
L3 (invalid NIK, nobody born that day -> not in the registry).

Programmes (band): PKH 1-2, BPNT 1-3, PIP 1-4 (individual), BAZNAS (no band).
Active enrolments: PKH A1 A3 A6 B1 C1 (A2's PKH has ended); BPNT A1 A2 A5 C1;
PIP A1's child, L1, L2, L3; BAZNAS A3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import region_codes
from hub.identity import build_nik
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
    ProgrammeLevel,
    Proposal,
    Relationship,
    Review,
    Sex,
    SubmissionStatus,
    TargetUnit,
)

VILLAGE_A = "33.14.01.2001"
VILLAGE_B = "33.14.01.2002"
VILLAGE_C = "33.14.02.2001"
DISTRICT_AB = "33.14.01"
DISTRICT_C = "33.14.02"
REGENCY = "33.14"
AS_OF = date(2026, 1, 1)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROGRAMME_CODES = ["BAZNAS", "BPNT", "PIP", "PKH"]


@dataclass
class Population:
    programmes: dict[str, Programme] = field(default_factory=dict)
    households: dict[str, Household] = field(default_factory=dict)
    persons: dict[str, Person] = field(default_factory=dict)


def _at(day: int, month: int = 12, hour: int = 0) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


async def build_population(session: AsyncSession) -> Population:
    pop = Population()
    serial = iter(range(1, 10_000))

    def nik(village: str, sex: Sex, born: date) -> str:
        return build_nik(".".join(village.split(".")[:3]), sex.value, born, next(serial))

    async def household(key: str, village: str, decile: int | None, address: str, source: str = "siks-ng",
                        **kw: Any) -> Household:
        h = Household(address=address, decile=decile, source_system=source,
                      registry_id=f"R-{key}" if decile else None, **region_codes(village), **kw)
        session.add(h)
        pop.households[key] = h
        return h

    async def person(key: str, h: Household, name: str, sex: Sex, born: date, *, rel: Relationship =
                     Relationship.head, disabled: bool = False, nik_value: str | None = None,
                     nik_valid: bool = True, **kw: Any) -> Person:
        p = Person(nik=nik_value if nik_value is not None else nik(h.village_code, sex, born), nik_valid=nik_valid,
                   name=name, sex=sex, birth_date=born, relationship_to_head=rel, has_disability=disabled,
                   disabilities=["physical"] if disabled else [], household_id=h.id,
                   province_code=h.province_code, regency_code=h.regency_code, district_code=h.district_code,
                   village_code=h.village_code, source_system=h.source_system, **kw)
        session.add(p)
        pop.persons[key] = p
        return p

    # -- registry --
    a1 = await household("A1", VILLAGE_A, 1, "Dusun Krajan RT 01 RW 01")
    a2 = await household("A2", VILLAGE_A, 1, "Dusun Krajan RT 01 RW 02")
    a3 = await household("A3", VILLAGE_A, 2, "Dusun Ngasem RT 03 RW 01")
    a4 = await household("A4", VILLAGE_A, 3, "Dusun Krajan RT 02 RW 01")
    a5 = await household("A5", VILLAGE_A, 5, "Dusun Ngasem RT 04 RW 02")
    a6 = await household("A6", VILLAGE_A, 7, "Dusun Ngasem RT 05 RW 02")
    extra = [await household(f"A{i}", VILLAGE_A, 1, f"Dusun Tegal RT 0{i - 6} RW 03") for i in range(7, 13)]
    b1 = await household("B1", VILLAGE_B, 1, "Dusun Trobayan RT 01 RW 01")
    b2 = await household("B2", VILLAGE_B, 2, "Dusun Trobayan RT 02 RW 01")
    c1 = await household("C1", VILLAGE_C, 1, "Dusun Karangwaru RT 01 RW 01")
    # -- programme lists --
    l1 = await household("L1", VILLAGE_A, None, "Krajan 1/2", source="pip-list")
    l2 = await household("L2", VILLAGE_A, None, "Dsn. Krajan RT 2 RW 1", source="pip-list")
    l3 = await household("L3", VILLAGE_A, None, "Dusun Jati RT 09", source="pip-list")
    await session.flush()

    await person("A1.head", a1, "Sutarno", Sex.male, date(1980, 1, 1))
    await person("A1.spouse", a1, "Sri Wahyuni", Sex.female, date(1982, 6, 1), rel=Relationship.spouse)
    await person("A1.child", a1, "Dewi Lestari", Sex.female, date(2015, 8, 17), rel=Relationship.child)
    await person("A2.head", a2, "Suparmi", Sex.female, date(1975, 3, 3))
    a2_child = await person("A2.child", a2, "Budi Santoso", Sex.male, date(2012, 4, 4), rel=Relationship.child)
    await person("A3.head", a3, "Mbah Karto", Sex.male, date(1950, 7, 7), disabled=True)
    await person("A4.head", a4, "Siti Aminah", Sex.female, date(1990, 5, 5))
    await person("A4.child", a4, "Rizky Pratama", Sex.male, date(2018, 9, 9), rel=Relationship.child)
    await person("A5.head", a5, "Bambang Sutrisno", Sex.male, date(1990, 5, 5))
    await person("A5.late", a5, "Sarmin", Sex.male, date(1940, 1, 1), rel=Relationship.parent,
                 life_status=LifeStatus.deceased)
    await person("A6.head", a6, "Painem", Sex.female, date(1960, 2, 2), disabled=True)
    for i, h in enumerate(extra, start=7):
        await person(f"A{i}.head", h, f"Warga Tegal {i}", Sex.male, date(1970, 1, i))
    await person("B1.head", b1, "Sumini", Sex.female, date(1988, 8, 8))
    await person("B2.head", b2, "Slamet", Sex.male, date(1991, 1, 1))
    await person("C1.head", c1, "Wagiman", Sex.male, date(2000, 10, 10), disabled=True)
    await person("L1.student", l1, "BUDI SANTOSO", Sex.male, date(2012, 4, 4), nik_value=a2_child.nik)
    await person("L2.student", l2, "SITI AMINAH", Sex.female, date(1990, 5, 5), nik_value="", nik_valid=False)
    await person("L3.student", l3, "Joko Susilo", Sex.male, date(1999, 9, 9), nik_value="123", nik_valid=False)

    def programme(code: str, low: int | None, high: int | None, unit: TargetUnit,
                  level: ProgrammeLevel = ProgrammeLevel.central) -> Programme:
        p = Programme(code=code, name=f"Programme {code}", owner_agency="Kemensos", level=level,
                      target_unit=unit, decile_min=low, decile_max=high)
        session.add(p)
        pop.programmes[code] = p
        return p

    pkh = programme("PKH", 1, 2, TargetUnit.household)
    bpnt = programme("BPNT", 1, 3, TargetUnit.household)
    pip = programme("PIP", 1, 4, TargetUnit.individual)
    baznas = programme("BAZNAS", None, None, TargetUnit.household, ProgrammeLevel.non_government)
    await session.flush()

    def enrol(prog: Programme, h: Household, person_key: str | None = None,
              status: EnrolmentStatus = EnrolmentStatus.active) -> None:
        person_id = pop.persons[person_key].id if person_key else None
        session.add(Enrolment(programme_id=prog.id, household_id=h.id, person_id=person_id, status=status,
                              source_system=prog.code.lower(), province_code=h.province_code,
                              regency_code=h.regency_code, district_code=h.district_code,
                              village_code=h.village_code))

    for h in (a1, a3, a6, b1, c1):
        enrol(pkh, h)
    enrol(pkh, a2, status=EnrolmentStatus.ended)
    for h in (a1, a2, a5, c1):
        enrol(bpnt, h)
    enrol(pip, a1, "A1.child")
    enrol(pip, l1, "L1.student")
    enrol(pip, l2, "L2.student")
    enrol(pip, l3, "L3.student")
    enrol(baznas, a3)

    def scoped(h: Household) -> dict[str, str]:
        return region_codes(h.village_code)

    session.add(Need(household_id=a1.id, category="health", recorded_by="fac-a", **scoped(a1)))
    need_a3 = Need(household_id=a3.id, person_id=pop.persons["A3.head"].id, category="disability_aid",
                   status=SubmissionStatus.approved, recorded_by="fac-a", **scoped(a3))
    session.add(need_a3)
    session.add(Need(household_id=b1.id, category="education", recorded_by="fac-b", **scoped(b1)))
    session.add(Complaint(household_id=a2.id, category="targeting", recorded_by="fac-a", **scoped(a2)))
    session.add(Complaint(household_id=c1.id, category="service", status=SubmissionStatus.rejected,
                          recorded_by="fac-c", **scoped(c1)))
    session.add(Proposal(kind="new_household", payload={"address": "Dusun Baru"}, submitted_by="fac-a",
                         **region_codes(VILLAGE_A)))
    session.add(Proposal(kind="correction", household_id=a5.id, payload={"address": "Dusun Ngasem RT 04"},
                         status=SubmissionStatus.approved, submitted_by="fac-a", **scoped(a5)))
    await session.flush()
    session.add(Review(subject_type="need", subject_id=need_a3.id, reviewer="sup-ab",
                       decision=SubmissionStatus.approved, **scoped(a3)))

    case1 = Case(household_id=a3.id, need_id=need_a3.id, programme_id=baznas.id, status=CaseStatus.informed,
                 created_at=_at(1), due_at=_at(15), **scoped(a3))
    case2 = Case(household_id=a1.id, programme_id=pkh.id, status=CaseStatus.referred, created_at=_at(10),
                 due_at=_at(20), **scoped(a1))
    case3 = Case(household_id=b1.id, status=CaseStatus.open, created_at=_at(28),
                 due_at=datetime(2026, 1, 10, tzinfo=UTC), **scoped(b1))
    case4 = Case(household_id=c1.id, status=CaseStatus.open, created_at=_at(1), due_at=_at(15), **scoped(c1))
    session.add_all([case1, case2, case3, case4])
    await session.flush()
    for case_, to_status, at in ((case1, "referred", _at(2)), (case1, "approved", _at(4)),
                                 (case1, "informed", _at(5)), (case2, "referred", _at(11, hour=12))):
        session.add(CaseEvent(case_id=case_.id, actor="mgr", role="manager", to_status=to_status, at=at,
                              **region_codes(case_.village_code)))
    await session.flush()
    return pop
