"""The social registry as the API shows it: households, family cards (KK) and persons."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from auth.principal import Principal
from hub import models
from hub.household.repository import HouseholdRepository
from hub.masking import Visibility, detail_for, mask_kk_for, masked_nik, visibility_of
from hub.person.repository import PersonRepository
from schema import loaders
from schema.context import Info
from schema.federation import by_global_id, resolve_entity
from schema.ids import to_global_id
from schema.types.common import Node, build
from schema.types.enums import EnrolmentStatus, LifeStatus, RecordStatus, Relationship, Sex, by_value, value_of

if TYPE_CHECKING:
    from schema.types.programme import Enrolment

_RECORD_STATUS = by_value(RecordStatus)
_SEX = by_value(Sex)
_RELATIONSHIP = by_value(Relationship)
_LIFE_STATUS = by_value(LifeStatus)

_HOUSEHOLDS = by_global_id("Household", HouseholdRepository)
_PERSONS = by_global_id("Person", PersonRepository)

EnrolmentRef = Annotated["Enrolment", strawberry.lazy("schema.types.programme")]


def _enrolments(rows: list[models.Enrolment], status: EnrolmentStatus | None) -> list[Enrolment]:
    from schema.types.programme import Enrolment

    return [Enrolment.from_model(r) for r in rows if status is None or r.status == value_of(status)]


@strawberry.federation.type(keys=["id"], description=(
    "A household (rumah tangga) in the integrated social registry (DTKS): the unit that welfare deciles "
    "(desil) are assigned to and that most programmes target. You only see households in the regions "
    "your credentials cover; others read exactly as if they did not exist."))
class Household(Node):
    registry_id: str | None = strawberry.field(description="Household ID in the social registry (SIKS-NG), "
                                                           "when it came from there.")
    decile: int | None = strawberry.field(description="Current welfare decile (desil) 1-10 from the registry; "
                                                      "1 is the poorest tenth. Null when not yet ranked.")
    status: RecordStatus = strawberry.field(description="Whether the household is in the registry or proposed; "
                                            "ARCHIVED (with `removedAtSource`) when the registry deleted it.")
    removed_at_source: datetime | None = strawberry.field(description="When the hub learnt that the source system "
                                                          "deleted this household. The record and its history are "
                                                          "kept; null while the source has it.")
    province_code: str = strawberry.field(description="Province code, e.g. `33`.")
    regency_code: str = strawberry.field(description="Regency/city code, e.g. `33.14`.")
    district_code: str = strawberry.field(description="District (kecamatan) code, e.g. `33.14.01`.")
    village_code: str = strawberry.field(description="Village (desa/kelurahan) code, e.g. `33.14.01.2001`.")
    source_system: str = strawberry.field(description="System the record came from: `siks-ng`, or `hub` when "
                                                      "entered through this API.")
    created_at: datetime = strawberry.field(description="When the hub first stored this household.")
    updated_at: datetime = strawberry.field(description="When the hub last changed this household; use with the "
                                                        "`updatedSince` filter to sync changes.")
    pk: strawberry.Private[uuid.UUID]
    raw_address: strawberry.Private[str]

    @classmethod
    def from_model(cls, row: models.Household) -> Household:
        d = row.__dict__
        return build(cls, {
            "id": to_global_id("Household", d["id"]), "pk": d["id"], "registry_id": d["registry_id"],
            "raw_address": d["address"], "decile": d["decile"], "status": _RECORD_STATUS[d["status"]],
            "removed_at_source": d.get("removed_at_source"),
            "province_code": d["province_code"], "regency_code": d["regency_code"],
            "district_code": d["district_code"], "village_code": d["village_code"],
            "source_system": d["source_system"], "created_at": d["created_at"], "updated_at": d["updated_at"]})

    @strawberry.field(description="Street address as recorded; may be empty. Null unless your role may see "
                                  "personal details (a programme owner may not).")
    def address(self, info: Info) -> str | None:
        return detail_for(info.context.principal, self.raw_address)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Household | None:
        return cls.from_row(await resolve_entity(info, "Household", str(id), _HOUSEHOLDS))

    @classmethod
    def from_row(cls, row: models.Household | None) -> Household | None:
        return cls.from_model(row) if row else None

    @strawberry.field(description="The people living in the household, head first.")
    def members(self, info: Info) -> list[Person]:
        # a future, not a coroutine (``loaders.then``): a page of fifty households waits for their
        # members without a task per household
        visibility = info.context.visibility()
        return cast("list[Person]", loaders.then(loaders.members_of_household(info.context).load(self.pk),
                                                 lambda rows: Person.from_models_seen(rows, visibility)))

    @strawberry.field(description="Family cards (KK) held by members of this household; usually one.")
    async def families(self, info: Info) -> list[Family]:
        rows = await loaders.families_of_household(info.context).load(self.pk)
        return [Family.from_model(r) for r in rows]

    @strawberry.field(description="Every programme enrolment of the household or of any of its members.")
    async def enrolments(self, info: Info, status: EnrolmentStatus | None = None) -> list[EnrolmentRef]:
        return _enrolments(await loaders.enrolments_of_household(info.context).load(self.pk), status)


@strawberry.type(description=(
    "A family card (Kartu Keluarga, KK) issued by the civil registry. A household may hold several. "
    "KK numbers in source data are sometimes malformed or duplicated: those are flagged, never merged."))
class Family(Node):
    kk_valid: bool = strawberry.field(description="False when the KK number fails the format check.")
    kk_flags: list[str] = strawberry.field(description="Data-quality flags on the KK number, e.g. `duplicate`, "
                                                       "`impossible_date`. Empty when clean.")
    pk: strawberry.Private[uuid.UUID]
    household_pk: strawberry.Private[uuid.UUID]
    raw_kk_number: strawberry.Private[str]

    @classmethod
    def from_model(cls, row: models.Family) -> Family:
        return cls(id=to_global_id("Family", row.id), pk=row.id, household_pk=row.household_id,
                   raw_kk_number=row.kk_number, kk_valid=row.kk_valid, kk_flags=list(row.kk_flags or ()))

    @strawberry.field(description="The 16-digit KK number as received (normalised when valid); masked "
                                  "(`3314**********01`) unless your role may see full numbers.")
    def kk_number(self, info: Info) -> str:
        return mask_kk_for(info.context.principal, self.raw_kk_number)

    @strawberry.field(description="The household this family card belongs to.")
    async def household(self, info: Info) -> Household | None:
        return Household.from_row(await loaders.households(info.context).load(self.household_pk))

    @strawberry.field(description="The people listed on this family card, head first.")
    async def members(self, info: Info) -> list[Person]:
        rows = await loaders.members_of_family(info.context).load(self.pk)
        return Person.from_models_seen(rows, info.context.visibility())


@strawberry.federation.type(keys=["id"], description=(
    "A person in the registry, identified by NIK. NIKs in source data are sometimes invalid or shared by "
    "two records: such records are kept and flagged (`nikValid`, `nikFlags`), never silently merged."))
class Person(Node):
    nik_valid: bool = strawberry.field(description="False when the NIK fails the format check.")
    nik_flags: list[str] = strawberry.field(description="Data-quality flags on the NIK, e.g. `duplicate`, "
                                                        "`impossible_date`, `unknown_region`. Empty when clean.")
    name: str = strawberry.field(description="Full name as recorded.")
    sex: Sex | None = strawberry.field(description="Sex, when known.")
    relationship_to_head: Relationship = strawberry.field(description="Relationship to the household head.")
    life_status: LifeStatus = strawberry.field(description="Alive, deceased or moved away.")
    status: RecordStatus = strawberry.field(description="Whether the record is in the registry or proposed; "
                                            "ARCHIVED (with `removedAtSource`) when the registry deleted it.")
    removed_at_source: datetime | None = strawberry.field(description="When the hub learnt that the source system "
                                                          "deleted this person's household; null while it has it.")
    village_code: str = strawberry.field(description="Village code of the person's household.")
    updated_at: datetime = strawberry.field(description="When the hub last changed this record.")
    # Masked for the caller when the object is built, so reading them is plain attribute access
    # (a resolver per field per person was a large share of a members list's cost).
    nik: str = strawberry.field(description="16-digit NIK (Nomor Induk Kependudukan) as received, normalised "
                                            "when valid; masked (`3314**********01`) unless your role may see "
                                            "full NIKs.")
    birth_date: date | None = strawberry.field(description="Date of birth, when known. Null unless your role may "
                                                           "see personal details (a programme owner may not: it "
                                                           "reads `birthYear`).")
    birth_year: int | None = strawberry.field(description="Year of birth, when the date is known. Shown to every "
                                                          "role that reads persons.")
    birth_place: str | None = strawberry.field(description="Place of birth, when known. Null unless your role may "
                                                           "see personal details.")
    has_disability: bool | None = strawberry.field(description="True when any disability is recorded. Null "
                                                               "unless your role may see disability and health "
                                                               "data.")
    disabilities: list[str] | None = strawberry.field(description="Recorded disability categories; empty when "
                                                                  "none. Null unless your role may see disability "
                                                                  "and health data.")
    pk: strawberry.Private[uuid.UUID]
    household_pk: strawberry.Private[uuid.UUID]
    family_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, row: models.Person, principal: Principal | None) -> Person:
        """The API's view of ``row`` for ``principal``: NIK masked, personal details and disability
        fields withheld unless the principal's role may see them."""
        return cls.from_model_seen(row, visibility_of(principal))

    @classmethod
    def from_models(cls, rows: Iterable[models.Person], principal: Principal | None) -> list[Person]:
        """``from_model`` of each row, with what the principal may see decided once for all of them."""
        return cls.from_models_seen(rows, visibility_of(principal))

    @classmethod
    def from_models_seen(cls, rows: Iterable[models.Person], visibility: Visibility) -> list[Person]:
        """``from_model_seen`` of each row."""
        return [cls.from_model_seen(row, visibility) for row in rows]

    @classmethod
    def from_model_seen(cls, row: models.Person, visibility: Visibility) -> Person:
        d = row.__dict__
        birth_date = d["birth_date"]
        nik = d["nik"]
        details = visibility.details
        disability = visibility.disability
        return build(cls, {
            "id": to_global_id("Person", d["id"]), "pk": d["id"], "household_pk": d["household_id"],
            "family_pk": d["family_id"],
            "nik": nik if nik is None or visibility.full_nik else masked_nik(nik), "nik_valid": d["nik_valid"],
            "nik_flags": d["nik_flags"] or [], "name": d["name"], "sex": _SEX.get(d["sex"]),
            "birth_date": birth_date if details else None,
            "birth_year": birth_date.year if birth_date else None,
            "birth_place": d["birth_place"] if details else None,
            "relationship_to_head": _RELATIONSHIP[d["relationship_to_head"]],
            "has_disability": d["has_disability"] if disability else None,
            "disabilities": (d["disabilities"] or []) if disability else None,
            "life_status": _LIFE_STATUS[d["life_status"]], "status": _RECORD_STATUS[d["status"]],
            "removed_at_source": d.get("removed_at_source"),
            "village_code": d["village_code"], "updated_at": d["updated_at"]})

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Person | None:
        row = await resolve_entity(info, "Person", str(id), _PERSONS)
        return cls.from_model(row, info.context.principal) if row else None

    @strawberry.field(description="The household the person lives in.")
    async def household(self, info: Info) -> Household | None:
        return Household.from_row(await loaders.households(info.context).load(self.household_pk))

    @strawberry.field(description="The family card (KK) the person is listed on, when known.")
    async def family(self, info: Info) -> Family | None:
        if self.family_pk is None:
            return None
        row = await loaders.families(info.context).load(self.family_pk)
        return Family.from_model(row) if row else None

    @strawberry.field(description="Programmes this person is enrolled in individually. Household-level "
                                  "enrolments are on `household.enrolments`.")
    async def enrolments(self, info: Info, status: EnrolmentStatus | None = None) -> list[EnrolmentRef]:
        return _enrolments(await loaders.enrolments_of_person(info.context).load(self.pk), status)
