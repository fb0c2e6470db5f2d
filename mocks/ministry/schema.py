"""The ministry subgraph's schema.

It extends three hub entities with what only the ministry knows, declaring each with the hub's key
and only its own fields: ``Region(code)`` with education figures, ``Programme(code)`` with the
budget line, ``Person(id)`` with school enrolment. Its root fields start queries here and let the
gateway fetch the rest from the hub (``schoolEnrolments { student { name } }``), where the caller's
region scope decides what comes back: the ministry's own data never widens what the hub shows.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from mocks.ministry import data


@strawberry.type(description="Education figures the ministry reports for one region and school year.")
class RegionEducation:
    year: int = strawberry.field(description="School year the figures are for (the year it starts).")
    schools: int = strawberry.field(description="Primary and secondary schools in the region.")
    students: int = strawberry.field(description="Students enrolled in those schools.")
    pip_recipients: int = strawberry.field(description="Students receiving PIP (Program Indonesia Pintar).")
    pip_budget_million_idr: int = strawberry.field(description="PIP budget allocated, in millions of rupiah.")
    pip_disbursed_million_idr: int = strawberry.field(description="PIP funds disbursed, in millions of rupiah.")

    @classmethod
    def from_data(cls, row: data.RegionEducation) -> RegionEducation:
        return cls(year=data.YEAR, schools=row.schools, students=row.students, pip_recipients=row.pip_recipients,
                   pip_budget_million_idr=row.pip_budget_million_idr,
                   pip_disbursed_million_idr=row.pip_disbursed_million_idr)


@strawberry.federation.type(keys=["code"], description="A Kemendagri region, as the education ministry sees it.")
class Region:
    code: str = strawberry.field(description="Dotted Kemendagri region code.")

    @strawberry.field(description="The ministry's education figures for this region; null where it reports none.")
    def education(self) -> RegionEducation | None:
        row = data.EDUCATION_BY_REGION.get(self.code)
        return RegionEducation.from_data(row) if row else None

    @classmethod
    def resolve_reference(cls, code: str) -> Region:
        return cls(code=code)


@strawberry.type(description="A programme's national budget line as the education ministry reports it.")
class ProgrammeBudget:
    programme_code: str = strawberry.field(description="The hub's programme code, e.g. `PIP`.")
    year: int = strawberry.field(description="Budget year.")
    allocated_million_idr: int = strawberry.field(description="Allocated, in millions of rupiah.")
    disbursed_million_idr: int = strawberry.field(description="Disbursed so far, in millions of rupiah.")

    @classmethod
    def from_data(cls, row: data.ProgrammeBudget) -> ProgrammeBudget:
        return cls(programme_code=row.programme_code, year=data.YEAR, allocated_million_idr=row.allocated_million_idr,
                   disbursed_million_idr=row.disbursed_million_idr)


@strawberry.federation.type(keys=["code"], description="A programme in the hub's catalogue, as the education "
                                                       "ministry sees it.")
class Programme:
    code: str = strawberry.field(description="The hub's programme code, e.g. `PIP`.")

    @strawberry.field(description="The ministry's budget line for this programme; null where it reports none.")
    def budget(self) -> ProgrammeBudget | None:
        row = data.PROGRAMME_BUDGETS.get(self.code)
        return ProgrammeBudget.from_data(row) if row else None

    @classmethod
    def resolve_reference(cls, code: str) -> Programme:
        return cls(code=code)


@strawberry.type(description="A student's enrolment in a school for the current school year (Dapodik).")
class SchoolEnrolment:
    npsn: str = strawberry.field(description="NPSN (Nomor Pokok Sekolah Nasional) of the school.")
    school_name: str = strawberry.field(description="Name of the school.")
    level: str = strawberry.field(description="`SD` (primary), `SMP` (lower secondary) or `SMA` (upper secondary).")
    grade: int = strawberry.field(description="Grade 1-12.")
    year: int = strawberry.field(description="School year (the year it starts).")
    district_code: str = strawberry.field(description="Kemendagri code of the school's district (kecamatan).")
    pip_recipient: bool = strawberry.field(description="Whether the student receives PIP this year.")
    person_id: strawberry.Private[str]

    @strawberry.field(description="The student as a person in the hub's registry. Null when the hub does not let "
                                  "you see that person (outside your regions) or does not know them.")
    def student(self) -> Person | None:
        return Person(id=strawberry.ID(self.person_id))

    @classmethod
    def from_data(cls, row: data.SchoolEnrolment) -> SchoolEnrolment:
        return cls(npsn=row.npsn, school_name=row.school_name, level=row.level, grade=row.grade, year=data.YEAR,
                   district_code=row.district_code, pip_recipient=row.pip_recipient, person_id=row.person_id)


@strawberry.federation.type(keys=["id"], description="A person in the hub's registry, as the education ministry "
                                                     "sees them.")
class Person:
    id: strawberry.ID = strawberry.field(description="The hub's global ID of the person.")

    @strawberry.field(description="The person's school enrolment this school year; null when not enrolled.")
    def school_enrolment(self) -> SchoolEnrolment | None:
        row = data.school_enrolments().get(self.id)
        return SchoolEnrolment.from_data(row) if row else None

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Person:
        return cls(id=id)


@strawberry.type
class Query:
    @strawberry.field(description="Regions the education ministry reports figures for, by code.")
    def education_regions(self) -> list[Region]:
        return [Region(code=code) for code in sorted(data.EDUCATION_BY_REGION)]

    @strawberry.field(description="The ministry's budget lines per programme code.")
    def education_programme_budgets(self) -> list[ProgrammeBudget]:
        return [ProgrammeBudget.from_data(b) for b in data.PROGRAMME_BUDGETS.values()]

    @strawberry.field(description="Students enrolled this school year, ordered by school district and NPSN. "
                                  "`student` links each to the hub's registry.")
    def school_enrolments(
        self,
        district_code: Annotated[str | None, strawberry.argument(
            description="Only schools in this region: a district (kecamatan), regency or province code.")] = None,
        first: Annotated[int, strawberry.argument(description="How many to return, 1-100.")] = 50,
    ) -> list[SchoolEnrolment]:
        rows = sorted(data.school_enrolments().values(), key=lambda r: (r.district_code, r.npsn, r.person_id))
        if district_code:
            rows = [r for r in rows if r.district_code == district_code
                    or r.district_code.startswith(district_code + ".")]
        return [SchoolEnrolment.from_data(r) for r in rows[:max(1, min(first, 100))]]


def build_schema() -> strawberry.Schema:
    return strawberry.federation.Schema(query=Query, types=[Programme, Person], federation_version="2.7")
