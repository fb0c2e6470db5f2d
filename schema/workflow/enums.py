"""The registry and catalogue enums the workflow inputs use: the read API's own, so the schema holds one of each."""

from schema.types.enums import EnrolmentStatus, LifeStatus, ProgrammeLevel, Relationship, Sex, TargetUnit

__all__ = ["EnrolmentStatus", "LifeStatus", "ProgrammeLevel", "Relationship", "Sex", "TargetUnit"]
