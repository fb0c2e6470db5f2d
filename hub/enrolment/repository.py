"""Enrolments: who takes part in which programme. Region-scoped like the households they belong to."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.orm import aliased

from auth.permissions import Permission
from hub.db.repository import ScopedRepository
from hub.models import Enrolment, EnrolmentStatus
from hub.paging import PageRequest


class EnrolmentRepository(ScopedRepository[Enrolment]):
    model = Enrolment
    also_read_with = Permission.read_programme_enrolments

    async def by_household_ids(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Enrolment]]:
        return await self.grouped_by(Enrolment.household_id, ids, Enrolment.id)

    async def by_person_ids(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Enrolment]]:
        return await self.grouped_by(Enrolment.person_id, ids, Enrolment.id)

    async def pages_by_programme(self, programme_ids: Sequence[uuid.UUID], status: EnrolmentStatus | None,
                                 page: PageRequest) -> dict[uuid.UUID, list[Enrolment]]:
        """One page (``limit + 1`` rows) of enrolments for each programme, in one statement."""
        grouped: dict[uuid.UUID, list[Enrolment]] = defaultdict(list)
        if not programme_ids:
            return grouped
        if len(programme_ids) == 1 and self.read_only:
            # The hot case (one programme's enrolments), prepared once per status filter and scope.
            params: dict[str, Any] = {"ids": list(programme_ids), "offset": page.offset, "limit": page.limit + 1}
            if status is not None:
                params["status"] = status
            rows: Sequence[Enrolment] = await self._prepared_snapshots(("page", status is None), lambda: self._page_of(
                bindparam("ids", type_=Enrolment.programme_id.type, expanding=True),
                None if status is None else bindparam("status", type_=Enrolment.status.type),
                bindparam("offset", type_=Integer), bindparam("limit", type_=Integer)), params)
        elif len(programme_ids) == 1:
            rows = await self.get_all(self._page_of(programme_ids, status, page.offset, page.limit + 1))
        else:
            base = self._in_programmes(programme_ids, status)
            rank = func.row_number().over(partition_by=Enrolment.programme_id, order_by=Enrolment.id).label("rank")
            ranked = base.add_columns(rank).subquery()
            row = aliased(Enrolment, ranked)
            rows = await self.get_all(
                select(row).where(ranked.c.rank > page.offset, ranked.c.rank <= page.offset + page.limit + 1)
                .order_by(ranked.c.programme_id, ranked.c.rank))
        for enrolment in rows:
            grouped[enrolment.programme_id].append(enrolment)
        return grouped

    def _in_programmes(self, programme_ids: Any, status: Any) -> Select[Any]:
        base = self.readable().where(Enrolment.programme_id.in_(programme_ids))
        return base if status is None else base.where(Enrolment.status == status)

    def _page_of(self, programme_ids: Any, status: Any, offset: Any, limit: Any) -> Select[Any]:
        return self._in_programmes(programme_ids, status).order_by(Enrolment.id).offset(offset).limit(limit)

    async def counts_by_programme(self, programme_ids: Sequence[uuid.UUID],
                                  status: EnrolmentStatus | None) -> dict[uuid.UUID, int]:
        counted = cast("Select[Any]", select(Enrolment.programme_id, func.count()))
        stmt = self.readable(counted).where(Enrolment.programme_id.in_(programme_ids)).group_by(Enrolment.programme_id)
        if status is not None:
            stmt = stmt.where(Enrolment.status == status)
        return {programme_id: int(n) for programme_id, n in (await self.session.execute(stmt)).all()}
