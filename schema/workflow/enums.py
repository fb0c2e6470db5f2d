"""Registry and catalogue enums the workflow inputs use.

The read API (``schema/types/enums.py``, built in parallel) defines the same GraphQL enums with
the same names and values; when both are merged, import those instead of these, since a schema
cannot hold two types of one name. Values are the ``hub.models`` values; names are UPPER_CASE.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from hub import models


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
    PROPOSED = models.EnrolmentStatus.proposed.value
    ACTIVE = models.EnrolmentStatus.active.value
    SUSPENDED = models.EnrolmentStatus.suspended.value
    ENDED = models.EnrolmentStatus.ended.value
    REJECTED = models.EnrolmentStatus.rejected.value
