"""GraphQL enums for the registry and the catalogue. Values mirror ``hub.models``; names are UPPER_CASE."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar, cast

import strawberry

from hub import models
from hub.household.schemas import HouseholdOrder

E = TypeVar("E", bound=Enum)


def value_of(member: Enum) -> str:
    """The stored (``hub.models``) value behind a GraphQL enum member."""
    return cast(str, member.value)


@strawberry.enum(description="Sex as recorded in the civil registry.")
class Sex(Enum):
    MALE = models.Sex.male.value
    FEMALE = models.Sex.female.value


@strawberry.enum(description="Relationship of a member to the head of the household.")
class Relationship(Enum):
    HEAD = models.Relationship.head.value
    SPOUSE = models.Relationship.spouse.value
    CHILD = models.Relationship.child.value
    PARENT = models.Relationship.parent.value
    GRANDCHILD = models.Relationship.grandchild.value
    OTHER_RELATIVE = models.Relationship.other_relative.value
    OTHER = models.Relationship.other.value


@strawberry.enum(description="Whether the person is alive, deceased, or has moved away.")
class LifeStatus(Enum):
    ALIVE = models.LifeStatus.alive.value
    DECEASED = models.LifeStatus.deceased.value
    MOVED = models.LifeStatus.moved.value


@strawberry.enum(description="Lifecycle of a registry record.")
class RecordStatus(Enum):
    ACTIVE = strawberry.enum_value(models.RecordStatus.active.value, description="In the registry.")
    PROPOSED = strawberry.enum_value(models.RecordStatus.proposed.value,
                                     description="Entered by a facilitator, awaiting review.")
    ARCHIVED = strawberry.enum_value(models.RecordStatus.archived.value,
                                     description="No longer current; kept for history.")


@strawberry.enum(description="Who runs a programme.")
class ProgrammeLevel(Enum):
    CENTRAL = models.ProgrammeLevel.central.value
    PROVINCE = models.ProgrammeLevel.province.value
    REGENCY = models.ProgrammeLevel.regency.value
    VILLAGE = models.ProgrammeLevel.village.value
    NON_GOVERNMENT = models.ProgrammeLevel.non_government.value


@strawberry.enum(description="Whom a programme enrols: a person, a family (KK), a household, or a group.")
class TargetUnit(Enum):
    INDIVIDUAL = models.TargetUnit.individual.value
    FAMILY = models.TargetUnit.family.value
    HOUSEHOLD = models.TargetUnit.household.value
    GROUP = models.TargetUnit.group.value


@strawberry.enum(description="State of an enrolment in a programme.")
class EnrolmentStatus(Enum):
    PROPOSED = strawberry.enum_value(models.EnrolmentStatus.proposed.value,
                                     description="Proposed, not yet accepted by the programme.")
    ACTIVE = strawberry.enum_value(models.EnrolmentStatus.active.value, description="Currently receiving.")
    SUSPENDED = strawberry.enum_value(models.EnrolmentStatus.suspended.value,
                                      description="Temporarily not receiving.")
    ENDED = strawberry.enum_value(models.EnrolmentStatus.ended.value, description="No longer enrolled.")
    REJECTED = strawberry.enum_value(models.EnrolmentStatus.rejected.value,
                                     description="The programme refused the enrolment.")


def by_value(enum: type[E]) -> dict[str, E]:
    return {value_of(member): member for member in enum}


@strawberry.enum(description="Orderings for household lists. Ties are broken by ID, so pages never overlap.")
class HouseholdOrderBy(Enum):
    UPDATED_AT_DESC = strawberry.enum_value(HouseholdOrder.updated_desc.value,
                                            description="Most recently changed first (the default).")
    UPDATED_AT_ASC = strawberry.enum_value(HouseholdOrder.updated_asc.value,
                                           description="Least recently changed first: use with `updatedSince` "
                                                       "to follow changes.")
    DECILE_ASC = strawberry.enum_value(HouseholdOrder.decile_asc.value,
                                       description="Poorest decile first; households without a decile last.")
    DECILE_DESC = strawberry.enum_value(HouseholdOrder.decile_desc.value,
                                        description="Richest decile first; households without a decile last.")
    REGISTRY_ID = strawberry.enum_value(HouseholdOrder.registry_id.value,
                                        description="By the social registry (DTKS) household ID.")
