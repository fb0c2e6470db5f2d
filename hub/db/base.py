from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UUIDPk:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class RegionScoped:
    """Denormalised region codes so scope is an equality predicate on an indexed column.

    Row-level security policies and ``ScopedRepository`` read these four columns and nothing else.
    """

    province_code: Mapped[str] = mapped_column(String(2), index=True)
    regency_code: Mapped[str] = mapped_column(String(5), index=True)
    district_code: Mapped[str] = mapped_column(String(8), index=True)
    village_code: Mapped[str] = mapped_column(String(13), index=True)


class Provenance:
    """Where a synced or pushed row came from. ``hub`` for rows entered through the API."""

    source_system: Mapped[str] = mapped_column(String(32), default="hub", server_default="hub")
    source_record_id: Mapped[str | None] = mapped_column(String(128))
    source_version: Mapped[str | None] = mapped_column(String(64))
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def region_codes(village_code: str) -> dict[str, str]:
    """``33.14.01.2001`` -> the four codes a ``RegionScoped`` row stores."""
    parts = village_code.split(".")
    if len(parts) != 4:
        raise ValueError(f"not a village code: {village_code!r}")
    return {
        "province_code": parts[0],
        "regency_code": ".".join(parts[:2]),
        "district_code": ".".join(parts[:3]),
        "village_code": village_code,
    }
