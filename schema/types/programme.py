"""The programme catalogue, partners, and enrolments (who takes part in which programme)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from hub import models
from hub.paging import to_page
from hub.programme.repository import ProgrammeRepository
from schema import loaders
from schema.context import Info
from schema.federation import resolve_public_entity
from schema.ids import to_global_id
from schema.types.common import After, Connection, First, Node, build, connection, page_args
from schema.types.enums import EnrolmentStatus, ProgrammeLevel, TargetUnit, by_value, value_of
from schema.types.registry import Family, Household, Person

_ENROLMENT_STATUS = by_value(EnrolmentStatus)


async def _programmes_by_code(session: AsyncSession, codes: Sequence[str]) -> Mapping[str, models.Programme]:
    return await ProgrammeRepository(session).get_many_by_code(codes)


@strawberry.type(description="A non-government partner that runs programmes, such as a Baznas (zakat) unit.")
class Partner(Node):
    code: str = strawberry.field(description="Short stable code of the partner.")
    name: str = strawberry.field(description="Name of the partner organisation.")
    kind: str = strawberry.field(description="Kind of partner, e.g. `baznas`.")
    region_code: str | None = strawberry.field(description="Region the partner works in; null when national.")

    @classmethod
    def from_model(cls, row: models.Partner) -> Partner:
        return cls(id=to_global_id("Partner", row.id), code=row.code, name=row.name, kind=row.kind,
                   region_code=row.region_code)


@strawberry.federation.type(keys=["code"], description=(
    "A social protection programme in the national catalogue (e.g. PKH, BPNT, PBI-JK, PIP), central, "
    "regional or non-government. The catalogue is public; who is enrolled is personal data and needs "
    "credentials, and you only see enrolments in your regions."))
class Programme(Node):
    code: str = strawberry.field(description="Short stable code, e.g. `PKH`.")
    name: str = strawberry.field(description="Full name of the programme.")
    owner_agency: str = strawberry.field(description="Agency that owns the programme, e.g. `Kemensos`.")
    level: ProgrammeLevel = strawberry.field(description="Central, provincial, regency, village or non-government.")
    target_unit: TargetUnit = strawberry.field(description="Whether it enrols persons, families or households.")
    eligibility: str = strawberry.field(description="Eligibility criteria in plain words, as the owner wrote them.")
    decile_min: int | None = strawberry.field(description="Lowest welfare decile targeted, when the programme "
                                                          "targets by decile.")
    decile_max: int | None = strawberry.field(description="Highest welfare decile targeted.")
    pk: strawberry.Private[uuid.UUID]
    partner_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, row: models.Programme) -> Programme:
        return cls(id=to_global_id("Programme", row.id), pk=row.id, partner_pk=row.partner_id, code=row.code,
                   name=row.name, owner_agency=row.owner_agency, level=ProgrammeLevel(row.level),
                   target_unit=TargetUnit(row.target_unit), eligibility=row.eligibility,
                   decile_min=row.decile_min, decile_max=row.decile_max)

    @classmethod
    async def resolve_reference(cls, info: Info, code: str) -> Programme | None:
        row = await resolve_public_entity(info, "Programme", code, _programmes_by_code)
        return cls.from_model(row) if row else None

    @strawberry.field(description="The non-government partner running the programme; null for government ones.")
    async def partner(self, info: Info) -> Partner | None:
        if self.partner_pk is None:
            return None
        row = await loaders.partners(info.context).load(self.partner_pk)
        return Partner.from_model(row) if row else None

    @strawberry.field(description="Enrolments in this programme within your regions, a page at a time.")
    async def enrolments(self, info: Info, first: First = None, after: After = None,
                         status: Annotated[EnrolmentStatus | None, strawberry.argument(
                             description="Only enrolments in this state.")] = None) -> Connection[Enrolment]:
        page = page_args(info, first, after)
        hub_status = models.EnrolmentStatus(value_of(status)) if status else None
        found = to_page(await loaders.enrolment_pages(info.context).load((self.pk, hub_status, page)), page)

        async def count() -> int:
            return await loaders.enrolment_counts(info.context).load((self.pk, hub_status))

        return connection([Enrolment.from_model(r) for r in found.items], found, count)


@strawberry.type(description=(
    "Participation of a household, family or person in a programme. Every enrolment belongs to a "
    "household, whatever the programme's target unit, so you can always navigate to it."))
class Enrolment(Node):
    status: EnrolmentStatus = strawberry.field(description="Current state of the enrolment.")
    period_start: date | None = strawberry.field(description="First day of the enrolment, when known.")
    period_end: date | None = strawberry.field(description="Last day of the enrolment; null while open-ended.")
    source_system: str = strawberry.field(description="System that reported the enrolment, e.g. `pkh`, `bpjs`.")
    source_record_id: str | None = strawberry.field(description="The enrolment's ID in that system.")
    updated_at: datetime = strawberry.field(description="When the hub last changed this enrolment.")
    pk: strawberry.Private[uuid.UUID]
    programme_pk: strawberry.Private[uuid.UUID]
    household_pk: strawberry.Private[uuid.UUID]
    person_pk: strawberry.Private[uuid.UUID | None]
    family_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, row: models.Enrolment) -> Enrolment:
        d = row.__dict__
        return build(cls, {
            "id": to_global_id("Enrolment", d["id"]), "pk": d["id"], "programme_pk": d["programme_id"],
            "household_pk": d["household_id"], "person_pk": d["person_id"], "family_pk": d["family_id"],
            "status": _ENROLMENT_STATUS[d["status"]], "period_start": d["period_start"],
            "period_end": d["period_end"], "source_system": d["source_system"],
            "source_record_id": d["source_record_id"], "updated_at": d["updated_at"]})

    @strawberry.field(description="The programme.")
    async def programme(self, info: Info) -> Programme:
        row = await loaders.programmes(info.context).load(self.programme_pk)
        assert row is not None  # enrolments reference programmes with a foreign key
        return Programme.from_model(row)

    @strawberry.field(description="The household enrolled, or whose member or family is enrolled.")
    def household(self, info: Info) -> Household | None:
        # a future, not a coroutine (``loaders.then``): a page of a hundred enrolments waits without a
        # task per enrolment
        return cast("Household | None", loaders.then(loaders.households(info.context).load(self.household_pk),
                                                     Household.from_row))

    @strawberry.field(description="The person enrolled, for programmes that enrol individuals.")
    async def person(self, info: Info) -> Person | None:
        if self.person_pk is None:
            return None
        row = await loaders.persons(info.context).load(self.person_pk)
        return Person.from_model(row, info.context.principal) if row else None

    @strawberry.field(description="The family card enrolled, for programmes that enrol families.")
    async def family(self, info: Info) -> Family | None:
        if self.family_pk is None:
            return None
        row = await loaders.families(info.context).load(self.family_pk)
        return Family.from_model(row) if row else None
