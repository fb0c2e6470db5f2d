"""Non-government partners (e.g. Baznas units). Public reference data: no region scope."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from hub.db.repository import RepositoryBase
from hub.models import Partner
from hub.paging import PageRequest


class PartnerRepository(RepositoryBase[Partner]):
    model = Partner

    async def page(self, page: PageRequest) -> Sequence[Partner]:
        return await self.get_all(select(Partner).order_by(Partner.code).offset(page.offset).limit(page.limit + 1))

    async def count_all(self) -> int:
        return await self.count(select(Partner))

    async def get_many(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Partner]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        return {row.id: row for row in await self.get_all(select(Partner).where(Partner.id.in_(wanted)))}
