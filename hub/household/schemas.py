"""What a caller may ask of the household list: filters and orderings, validated by the service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hub.models import EnrolmentStatus


class HouseholdOrder(StrEnum):
    updated_desc = "updated_desc"
    updated_asc = "updated_asc"
    decile_asc = "decile_asc"
    decile_desc = "decile_desc"
    registry_id = "registry_id"


@dataclass(frozen=True, slots=True)
class HouseholdFilter:
    region_code: str | None = None
    programme_id: uuid.UUID | None = None
    enrolment_status: EnrolmentStatus | None = None
    decile_min: int | None = None
    decile_max: int | None = None
    has_disability: bool | None = None
    updated_since: datetime | None = None
