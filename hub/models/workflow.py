"""What facilitators record and how it travels: needs, complaints, cases and their reviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db.base import Base, RegionScoped, Timestamps, UUIDPk
from hub.models.registry import str_enum


class SubmissionStatus(StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    returned = "returned"  # sent back to the facilitator for correction


class CaseStatus(StrEnum):
    open = "open"  # need or complaint approved by the supervisor, awaiting referral
    referred = "referred"
    approved = "approved"
    rejected = "rejected"
    further_study = "further_study"
    informed = "informed"  # the household was told the outcome; terminal


class RecordedSubmission(UUIDPk, RegionScoped, Timestamps):
    """What a facilitator records for a household (or one member), reviewed by a supervisor."""

    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"),
                                                    index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[SubmissionStatus] = mapped_column(str_enum(SubmissionStatus, "submission_status"),
                                                     default=SubmissionStatus.submitted)
    recorded_by: Mapped[str] = mapped_column(String(128))


class Need(RecordedSubmission, Base):
    """A programme need recorded by a facilitator for a household or one of its members."""

    __tablename__ = "needs"


class Complaint(RecordedSubmission, Base):
    """A complaint recorded by a facilitator, by category."""

    __tablename__ = "complaints"


class Case(UUIDPk, RegionScoped, Timestamps, Base):
    """A referral of an approved need or complaint to a programme or a partner."""

    __tablename__ = "cases"

    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"),
                                                    index=True)
    need_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"))
    complaint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    programme_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("programmes.id"), index=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partners.id"))
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, "case_status"), default=CaseStatus.open,
                                               index=True)
    recommendation: Mapped[str | None] = mapped_column(Text)
    # What the partner reports on the referral (received, in_review, approved, rejected), pulled by the outbox.
    partner_status: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    events: Mapped[list[CaseEvent]] = relationship(lazy="raise", order_by="CaseEvent.at")


class CaseEvent(UUIDPk, RegionScoped, Base):
    """One step of a case's history: who moved it, in which role, from which state to which."""

    __tablename__ = "case_events"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Review(UUIDPk, RegionScoped, Base):
    """A supervisor's decision on a facilitator's submission (need, complaint, proposal, correction)."""

    __tablename__ = "reviews"

    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reviewer: Mapped[str] = mapped_column(String(128))
    decision: Mapped[SubmissionStatus] = mapped_column(str_enum(SubmissionStatus, "submission_status"))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Proposal(UUIDPk, RegionScoped, Timestamps, Base):
    """A facilitator's proposal: a new household or person, or a correction of registry data (a diff)."""

    __tablename__ = "proposals"

    kind: Mapped[str] = mapped_column(String(32))  # new_household | new_person | correction
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[SubmissionStatus] = mapped_column(str_enum(SubmissionStatus, "submission_status"),
                                                     default=SubmissionStatus.submitted)
    submitted_by: Mapped[str] = mapped_column(String(128))
    # What SIKS-NG reports on the pushed proposal or prelist entry (e.g. DITERIMA, VERIVALI, DISETUJUI).
    registry_status: Mapped[str | None] = mapped_column(String(32))
