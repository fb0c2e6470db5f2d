"""Family cards (KK). Every read starts from ``ScopedRepository.readable``."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from hub.db.repository import ScopedRepository
from hub.models import Family


class FamilyRepository(ScopedRepository[Family]):
    model = Family

    async def by_kk(self, kk_number: str) -> Family | None:
        # KK numbers are not unique in real data: prefer a valid one, then the oldest record.
        stmt = (self.readable().where(Family.kk_number == kk_number)
                .order_by(Family.kk_valid.desc(), Family.created_at, Family.id).limit(1))
        return await self.get_one_or_none(stmt)

    async def by_household_ids(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Family]]:
        wanted = list(set(ids))
        grouped: dict[uuid.UUID, list[Family]] = defaultdict(list)
        if not wanted:
            return grouped
        rows = await self.get_all(self.readable().where(Family.household_id.in_(wanted))
                                  .order_by(Family.created_at, Family.id))
        for row in rows:
            grouped[row.household_id].append(row)
        return grouped
