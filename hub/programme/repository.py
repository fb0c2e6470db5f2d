"""The programme catalogue. National reference data, readable by anyone: no region scope here.

Who is enrolled in a programme is personal data and is read through ``EnrolmentRepository``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select

from hub.db.repository import RepositoryBase
from hub.models import Programme, ProgrammeLevel
from hub.paging import PageRequest


class ProgrammeRepository(RepositoryBase[Programme]):
    model = Programme

    def filtered(self, level: ProgrammeLevel | None = None, partner_id: uuid.UUID | None = None) -> Select[Any]:
        stmt = select(Programme)
        if level is not None:
            stmt = stmt.where(Programme.level == level)
        if partner_id is not None:
            stmt = stmt.where(Programme.partner_id == partner_id)
        return stmt

    async def page(self, page: PageRequest, level: ProgrammeLevel | None = None,
                   partner_id: uuid.UUID | None = None) -> Sequence[Programme]:
        stmt = self.filtered(level, partner_id).order_by(Programme.code).offset(page.offset).limit(page.limit + 1)
        return await self.get_all(stmt)

    async def get_many(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Programme]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        if self.read_only:
            rows = await self._prepared_snapshots("get_many", lambda: select(Programme).where(
                Programme.id.in_(bindparam("ids", type_=Programme.id.type, expanding=True))), {"ids": wanted})
            return {row.id: row for row in rows}
        return {row.id: row for row in await self.get_all(select(Programme).where(Programme.id.in_(wanted)))}

    async def by_code(self, code: str) -> Programme | None:
        return await self.get_one_or_none(select(Programme).where(Programme.code == code))

    async def get_many_by_code(self, codes: Iterable[str]) -> dict[str, Programme]:
        wanted = list(set(codes))
        if not wanted:
            return {}
        return {row.code: row for row in await self.get_all(select(Programme).where(Programme.code.in_(wanted)))}
