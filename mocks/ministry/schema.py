"""The ministry subgraph's schema.

Extending another hub entity follows the ``Region`` pattern: declare the type with the hub's key
and only the fields this ministry owns, plus ``resolve_reference``. For example, budget figures on
the hub's programmes::

    @strawberry.federation.type(keys=["code"])
    class Programme:
        code: str
        budget: ProgrammeBudget | None = ...

        @classmethod
        def resolve_reference(cls, code: str) -> Programme:
            return cls(code=code, budget=...PROGRAMME_BUDGETS.get(code))

School enrolment on ``Person`` is the same with ``keys=["id"]``; the ministry then needs the
person's NIK from the hub (``nik: str = strawberry.federation.field(external=True)`` and
``@requires(fields: "nik")`` on the enrolment field), which the gateway fetches from the hub under
the caller's region scope, so the ministry never learns a NIK the caller could not read.
"""

from __future__ import annotations

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


@strawberry.type
class Query:
    @strawberry.field(description="Regions the education ministry reports figures for, by code.")
    def education_regions(self) -> list[Region]:
        return [Region(code=code) for code in sorted(data.EDUCATION_BY_REGION)]

    @strawberry.field(description="The ministry's budget lines per programme code.")
    def education_programme_budgets(self) -> list[ProgrammeBudget]:
        return [ProgrammeBudget(programme_code=b.programme_code, year=data.YEAR,
                                allocated_million_idr=b.allocated_million_idr,
                                disbursed_million_idr=b.disbursed_million_idr)
                for b in data.PROGRAMME_BUDGETS.values()]


def build_schema() -> strawberry.Schema:
    return strawberry.federation.Schema(query=Query, federation_version="2.7")
