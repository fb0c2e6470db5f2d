"""Inputs and outputs of the workflow service, independent of the GraphQL transport."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import Invalid
from hub.models import CaseStatus, LifeStatus, Relationship, Sex, SubmissionStatus
from hub.workflow.rules import CaseDecision, ReviewDecision


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


InputT = TypeVar("InputT", bound=Input)


def validated(model: type[InputT], **values: Any) -> InputT:
    """Build an input, turning pydantic's error into the hub's INVALID_INPUT with the field at fault."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        message = first["msg"].removeprefix("Value error, ")
        raise Invalid(f"{field}: {message}" if field else message, field=field) from exc


class SubmissionKind(StrEnum):
    need = "need"
    complaint = "complaint"
    proposal = "proposal"


class ProposalKind(StrEnum):
    new_household = "new_household"
    new_person = "new_person"
    correction = "correction"
    participation = "participation"


class RecordSubmission(Input):
    """A programme need or a complaint, for a household (and optionally one of its members)."""

    household_id: uuid.UUID
    person_id: uuid.UUID | None = None
    category: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=4000)


class NewHousehold(Input):
    village_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
    address: str = Field(min_length=1, max_length=1000)
    registry_id: str | None = Field(default=None, max_length=32)


class NewPerson(Input):
    household_id: uuid.UUID
    nik: str
    name: str = Field(min_length=1, max_length=200)
    sex: Sex | None = None
    birth_date: date | None = None
    birth_place: str | None = Field(default=None, max_length=200)
    relationship_to_head: Relationship = Relationship.other
    has_disability: bool = False
    disabilities: list[str] = Field(default_factory=list, max_length=20)


def _refuse_null(changes: Input, required: set[str]) -> None:
    # In a diff, "absent" means "keep" and null means "clear": these registry fields cannot be cleared.
    cleared = sorted(name for name in changes.model_fields_set & required if getattr(changes, name) is None)
    if cleared:
        raise ValueError(f"cannot be cleared: {', '.join(cleared)}")


class PersonChanges(Input):
    """The fields of a person a facilitator may propose to correct. Only the fields given change."""

    nik: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    sex: Sex | None = None
    birth_date: date | None = None
    birth_place: str | None = Field(default=None, max_length=200)
    relationship_to_head: Relationship | None = None
    has_disability: bool | None = None
    disabilities: list[str] | None = Field(default=None, max_length=20)
    life_status: LifeStatus | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> PersonChanges:
        if not self.model_fields_set:
            raise ValueError("a correction must change at least one field")
        _refuse_null(self, {"nik", "name", "relationship_to_head", "has_disability", "disabilities", "life_status"})
        return self


class HouseholdChanges(Input):
    address: str | None = Field(default=None, min_length=1, max_length=1000)
    registry_id: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _not_empty(self) -> HouseholdChanges:
        if not self.model_fields_set:
            raise ValueError("a correction must change at least one field")
        _refuse_null(self, {"address"})
        return self


class Participation(Input):
    """A household's (or member's) participation in a programme, seen by the facilitator in the field."""

    household_id: uuid.UUID
    person_id: uuid.UUID | None = None
    programme_code: str = Field(min_length=1, max_length=32)
    period_start: date | None = None
    period_end: date | None = None

    @model_validator(mode="after")
    def _period(self) -> Participation:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class Resubmission(Input):
    category: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=4000)


class ReviewItem(Input):
    kind: SubmissionKind
    id: uuid.UUID
    decision: ReviewDecision
    reason: str = Field(default="", max_length=4000)


class Referral(Input):
    case_id: uuid.UUID
    programme_code: str | None = Field(default=None, max_length=32)
    partner_code: str | None = Field(default=None, max_length=64)
    recommendation: str | None = Field(default=None, max_length=4000)
    reason: str = Field(default="", max_length=4000)


class Decision(Input):
    case_id: uuid.UUID
    decision: CaseDecision
    reason: str = Field(default="", max_length=4000)


class ReviewOutcome(BaseModel):
    kind: SubmissionKind
    id: uuid.UUID
    status: SubmissionStatus
    case_id: uuid.UUID | None = None
    # What an approved proposal created or changed in the registry.
    household_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    enrolment_id: uuid.UUID | None = None


class BatchItemResult(BaseModel):
    index: int
    kind: SubmissionKind
    id: uuid.UUID
    outcome: ReviewOutcome | None = None
    error_code: str | None = None
    error_message: str | None = None


class SubmissionOrder(StrEnum):
    created_desc = "created_desc"
    created_asc = "created_asc"
    updated_desc = "updated_desc"


class CaseOrder(StrEnum):
    created_desc = "created_desc"
    created_asc = "created_asc"
    due_asc = "due_asc"
    updated_desc = "updated_desc"


class CaseFilter(Input):
    status: CaseStatus | None = None
    overdue: bool | None = None
    region_code: str | None = None


class SubmissionFilter(Input):
    status: SubmissionStatus | None = None
    region_code: str | None = None
