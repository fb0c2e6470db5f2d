"""What ministry systems push: idempotency records and enrolments waiting for their person."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, RegionScoped, Timestamps, UUIDPk
from hub.models.programme import EnrolmentStatus
from hub.models.registry import str_enum


class IdempotencyKey(Base):
    """The first response to a push, stored under the caller's key so a retry gets the same answer.

    The primary key (principal, key) is what makes concurrent retries safe: the second insert
    waits for the first transaction and then finds its committed response.
    """

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PendingEnrolment(UUIDPk, RegionScoped, Timestamps, Base):
    """A pushed enrolment whose NIK names nobody in the registry yet; matched when the person appears.

    The village is unknown until then: the region columns hold the NIK's issuing district, and
    ``village_code`` repeats the district code, so district and wider scopes see the row.
    """

    __tablename__ = "pending_enrolments"
    __table_args__ = (
        UniqueConstraint("programme_id", "source_system", "source_record_id",
                         name="uq_pending_enrolments_natural_key"),
    )

    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), index=True)
    source_system: Mapped[str] = mapped_column(String(32))
    source_record_id: Mapped[str] = mapped_column(String(128))
    nik: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(str_enum(EnrolmentStatus, "enrolment_status"))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(32))
    matched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enrolment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
