from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base


class Region(Base):
    """Kemendagri administrative region: province, regency/city, district (kecamatan) or village."""

    __tablename__ = "regions"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 4", name="level"),)

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(SmallInteger, index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
