"""The programme catalogue, partners, and who is enrolled in what."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db.base import Base, Provenance, RegionScoped, Timestamps, UUIDPk
from hub.models.registry import Household, Person, str_enum


class ProgrammeLevel(StrEnum):
    central = "central"
    province = "province"
    regency = "regency"
    village = "village"
    non_government = "non_government"


class TargetUnit(StrEnum):
    individual = "individual"
    family = "family"
    household = "household"
    group = "group"


class EnrolmentStatus(StrEnum):
    proposed = "proposed"
    active = "active"
    suspended = "suspended"
    ended = "ended"
    rejected = "rejected"


class Partner(UUIDPk, Provenance, Timestamps, Base):
    """A non-government partner such as a Baznas unit."""

    __tablename__ = "partners"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32), default="baznas")
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))


class Programme(UUIDPk, Provenance, Timestamps, Base):
    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("decile_min IS NULL OR decile_min BETWEEN 1 AND 10", name="decile_min"),
        CheckConstraint("decile_max IS NULL OR decile_max BETWEEN 1 AND 10", name="decile_max"),
        CheckConstraint("decile_min IS NULL OR decile_max IS NULL OR decile_min <= decile_max",
                        name="decile_band"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    owner_agency: Mapped[str] = mapped_column(Text)
    level: Mapped[ProgrammeLevel] = mapped_column(str_enum(ProgrammeLevel, "programme_level"))
    target_unit: Mapped[TargetUnit] = mapped_column(str_enum(TargetUnit, "target_unit"))
    eligibility: Mapped[str] = mapped_column(Text, default="")
    decile_min: Mapped[int | None] = mapped_column(SmallInteger)
    decile_max: Mapped[int | None] = mapped_column(SmallInteger)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partners.id"))

    regions: Mapped[list[ProgrammeRegion]] = relationship(lazy="raise")


class ProgrammeRegion(Base):
    """Where a programme runs. A programme with no rows here runs nationally."""

    __tablename__ = "programme_regions"

    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"),
                                                    primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)


class Enrolment(UUIDPk, RegionScoped, Provenance, Timestamps, Base):
    """Participation of a person, family or household in a programme.

    ``household_id`` is always set (derived from the person or family) so that region scope and
    household navigation work the same whatever the programme's target unit.
    """

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("programme_id", "source_system", "source_record_id",
                         name="uq_enrolments_natural_key"),
        # A programme's enrolments are paged in id order (with or without a status filter): a page is
        # a range of one of these, not a scan of the primary key filtered by programme (migration 0012).
        Index("ix_enrolments_programme_page", "programme_id", "id"),
        Index("ix_enrolments_programme_status", "programme_id", "status", "id"),
    )

    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programmes.id"))
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"),
                                                    index=True)
    family_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("families.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"),
                                                        index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(str_enum(EnrolmentStatus, "enrolment_status"),
                                                    default=EnrolmentStatus.active)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)

    programme: Mapped[Programme] = relationship(lazy="raise")
    household: Mapped[Household] = relationship(lazy="raise")
    person: Mapped[Person | None] = relationship(lazy="raise")
