"""Reads of the region reference table. Regions are public reference data, not personal data,
so this is a plain repository: no principal, no scope."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from hub.db.repository import RepositoryBase
from hub.models import Region


class RegionRepository(RepositoryBase[Region]):
    model = Region

    async def get_many_by_code(self, codes: Iterable[str]) -> dict[str, Region]:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = await self.get_all(select(Region).where(Region.code.in_(wanted)))
        return {row.code: row for row in rows}

    async def children(self, parent_code: str | None) -> list[Region]:
        """The regions directly below ``parent_code``; the provinces when it is ``None``."""
        stmt = select(Region).order_by(Region.code)
        stmt = stmt.where(Region.parent_code == parent_code) if parent_code else stmt.where(Region.level == 1)
        return list(await self.get_all(stmt))
