"""The social registry: households (rumah tangga), family cards (KK) and persons."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db.base import Base, Provenance, RegionScoped, Timestamps, UUIDPk


def str_enum(enum: type[StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK instead of a PostgreSQL ENUM: adding a value is a plain migration.
    return Enum(enum, name=name, native_enum=False, create_constraint=True, length=24,
                values_callable=lambda e: [m.value for m in e])


class RecordStatus(StrEnum):
    active = "active"
    proposed = "proposed"  # entered by a facilitator, awaiting review
    archived = "archived"


class Sex(StrEnum):
    male = "M"
    female = "F"


class Relationship(StrEnum):
    head = "head"
    spouse = "spouse"
    child = "child"
    parent = "parent"
    grandchild = "grandchild"
    other_relative = "other_relative"
    other = "other"


class LifeStatus(StrEnum):
    alive = "alive"
    deceased = "deceased"
    moved = "moved"


class Household(UUIDPk, RegionScoped, Provenance, Timestamps, Base):
    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint("decile BETWEEN 1 AND 10", name="decile"),
        Index("ix_households_source", "source_system", "source_record_id"),
        # The sync engine's natural key (migration 0004); rows entered in the hub have no record id.
        Index("uq_households_source_key", "source_system", "source_record_id", unique=True),
        # The household list's default order (newest change first) within a village or a district: a
        # page is read off the index instead of sorting every household of the region (migration 0012).
        Index("ix_households_village_updated", "village_code", "updated_at", "id"),
        Index("ix_households_district_updated", "district_code", "updated_at", "id"),
    )

    registry_id: Mapped[str | None] = mapped_column(String(32), index=True)
    address: Mapped[str] = mapped_column(Text, default="")
    # Current decile (desil); the full history lives in household_deciles.
    decile: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    status: Mapped[RecordStatus] = mapped_column(str_enum(RecordStatus, "record_status"),
                                                 default=RecordStatus.active)
    # Set (with status ``archived``) when the source system deleted the record; the row, its provenance and
    # history stay. A later pull that lists it again clears it.
    removed_at_source: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    members: Mapped[list[Person]] = relationship(back_populates="household", lazy="raise")
    families: Mapped[list[Family]] = relationship(back_populates="household", lazy="raise")


class HouseholdDecile(UUIDPk, RegionScoped, Base):
    """Every decile a registry version assigned to a household; never overwritten."""

    __tablename__ = "household_deciles"
    __table_args__ = (CheckConstraint("decile BETWEEN 1 AND 10", name="decile"),)

    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"),
                                                    index=True)
    decile: Mapped[int] = mapped_column(SmallInteger)
    registry_version: Mapped[str] = mapped_column(String(64))
    registry_date: Mapped[date] = mapped_column(Date)
    source_system: Mapped[str] = mapped_column(String(32), default="siks-ng")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Family(UUIDPk, RegionScoped, Provenance, Timestamps, Base):
    """A family card (Kartu Keluarga). One household may hold several."""

    __tablename__ = "families"
    # The sync engine's natural key (migration 0004): "<household record id>/<kk number>".
    __table_args__ = (Index("uq_families_source_key", "source_system", "source_record_id", unique=True),)

    # Not unique: sources send duplicated and malformed KK numbers, which are flagged, not merged.
    kk_number: Mapped[str] = mapped_column(String(64), index=True)
    kk_valid: Mapped[bool] = mapped_column(Boolean, default=True)
    kk_flags: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"),
                                                    index=True)

    household: Mapped[Household] = relationship(back_populates="families", lazy="raise")
    members: Mapped[list[Person]] = relationship(back_populates="family", lazy="raise")


class Person(UUIDPk, RegionScoped, Provenance, Timestamps, Base):
    __tablename__ = "persons"
    # The sync engine's natural key (migration 0004).
    __table_args__ = (Index("uq_persons_source_key", "source_system", "source_record_id", unique=True),)

    # The NIK as received, normalised when valid. Not unique: duplicates are flagged, never merged.
    nik: Mapped[str] = mapped_column(String(64), index=True)
    nik_valid: Mapped[bool] = mapped_column(Boolean, default=True)
    nik_flags: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")
    name: Mapped[str] = mapped_column(Text)
    sex: Mapped[Sex | None] = mapped_column(str_enum(Sex, "sex"))
    # Indexed: the blocking key when programme lists are matched to the registry by name and birth date.
    birth_date: Mapped[date | None] = mapped_column(Date, index=True)
    birth_place: Mapped[str | None] = mapped_column(Text)
    relationship_to_head: Mapped[Relationship] = mapped_column(
        str_enum(Relationship, "relationship"), default=Relationship.other
    )
    has_disability: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    disabilities: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")
    life_status: Mapped[LifeStatus] = mapped_column(str_enum(LifeStatus, "life_status"),
                                                    default=LifeStatus.alive)
    status: Mapped[RecordStatus] = mapped_column(str_enum(RecordStatus, "record_status"),
                                                 default=RecordStatus.active)
    # Set (with status ``archived``) when the source system deleted the record; the row, its provenance and
    # history stay. A later pull that lists it again clears it.
    removed_at_source: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"),
                                                    index=True)
    family_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("families.id", ondelete="SET NULL"),
                                                        index=True)

    household: Mapped[Household] = relationship(back_populates="members", lazy="raise")
    family: Mapped[Family | None] = relationship(back_populates="members", lazy="raise")
