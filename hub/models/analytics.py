"""The analytics summary: pre-aggregated counts per village, refreshed after each sync run and seed.

Written by ``hub.analytics.summary`` for one regency at a time and read by the dashboard through
``ScopedRepository.readable()``; row-level security applies to these tables like to any other, so
a caller reads the villages of its scope only. Programme sets are sorted arrays of programme ids.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, SmallInteger, String, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, RegionScoped


class SummaryUnit(RegionScoped, Base):
    """Households counted by the figures (registry households, and enrolled households the registry
    does not know), by village, decile (0: not in the registry) and the programmes they receive."""

    __tablename__ = "analytics_summary_units"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    decile: Mapped[int] = mapped_column(SmallInteger)
    programmes: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))
    direct: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))  # enrolled as a registry household
    by_nik: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))  # through a list household linked by NIK
    by_name: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))  # ... linked by name
    households: Mapped[int] = mapped_column(Integer)
    persons: Mapped[int] = mapped_column(Integer)  # living members of the registry households


class SummaryEnrolled(RegionScoped, Base):
    """Per village, programme and decile: enrolled households and persons (coverage)."""

    __tablename__ = "analytics_summary_enrolled"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    programme_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    decile: Mapped[int] = mapped_column(SmallInteger)
    households: Mapped[int] = mapped_column(Integer)
    persons: Mapped[int] = mapped_column(Integer)


class SummaryPersons(RegionScoped, Base):
    """Living registry members by village, their household's programmes, sex, age group (on the
    summary's ``as_of``) and disability: how many, how many with a need recorded (profiles)."""

    __tablename__ = "analytics_summary_persons"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    programmes: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))
    sex: Mapped[str] = mapped_column(String(16))
    age_group: Mapped[str] = mapped_column(String(16))
    has_disability: Mapped[bool | None] = mapped_column(Boolean)
    persons: Mapped[int] = mapped_column(Integer)
    with_need: Mapped[int] = mapped_column(Integer)


class SummaryNameMatches(RegionScoped, Base):
    """Programme-list households linked to the registry by name, by village and the programmes
    they are enrolled in (the dashboard's count of name matches)."""

    __tablename__ = "analytics_summary_name_matches"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    programmes: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))
    households: Mapped[int] = mapped_column(Integer)


class SummaryRefresh(Base):
    """When a regency's summary was last rebuilt. One row per regency; region-scoped like the rest
    (its district and village codes are empty, so only a regency or wider scope reads it)."""

    __tablename__ = "analytics_summary_refreshes"
    regency_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    district_code: Mapped[str | None] = mapped_column(String(8))
    village_code: Mapped[str | None] = mapped_column(String(13))
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    as_of: Mapped[date] = mapped_column(Date)
    duration_ms: Mapped[int] = mapped_column(Integer)
