"""What a ministry system sends and what it gets back, independent of the GraphQL transport."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from hub.models import EnrolmentStatus, ProgrammeLevel, TargetUnit
from hub.workflow.schemas import Input

MAX_ITEMS = 1000


class Outcome(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    pending = "pending"  # the NIK names nobody in the registry yet; kept and matched later
    rejected = "rejected"


class EnrolmentItem(Input):
    """One enrolment as the ministry knows it, identified by the ministry's own record id."""

    source_record_id: str = Field(min_length=1, max_length=128)
    nik: str = Field(max_length=64)
    status: EnrolmentStatus = EnrolmentStatus.active
    period_start: date | None = None
    period_end: date | None = None

    @model_validator(mode="after")
    def _period(self) -> EnrolmentItem:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class ItemResult(BaseModel):
    index: int
    source_record_id: str | None
    outcome: Outcome
    error_code: str | None = None
    message: str | None = None
    enrolment_id: uuid.UUID | None = None


class EnrolmentPushResult(BaseModel):
    programme_code: str
    results: list[ItemResult]
    replayed: bool = False


class ProgrammeUpsert(Input):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=500)
    owner_agency: str = Field(min_length=1, max_length=500)
    level: ProgrammeLevel
    target_unit: TargetUnit
    eligibility: str = Field(default="", max_length=8000)
    decile_min: int | None = Field(default=None, ge=1, le=10)
    decile_max: int | None = Field(default=None, ge=1, le=10)
    # Where the programme runs; empty means nationally, absent (None) leaves the regions as they are.
    region_codes: list[str] | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _band(self) -> ProgrammeUpsert:
        if self.decile_min and self.decile_max and self.decile_min > self.decile_max:
            raise ValueError("decile_min is above decile_max")
        return self


class ProgrammePushResult(BaseModel):
    code: str
    outcome: Outcome
    programme_id: uuid.UUID
    replayed: bool = False
