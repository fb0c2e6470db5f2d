"""All SQL on ``access_logs``. Not region-scoped: it holds identifiers, not personal data, and only
auditors (nationally) query it; the rows of the people it names stay behind their own scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text, tuple_
from sqlalchemy.orm import aliased

from hub.db.repository import RepositoryBase
from hub.models import AccessLog

# One sealer at a time, so there is one total order and the chain cannot fork.
SEAL_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('slrt.access_logs.seal'))")

SEAL_UPDATE = text(
    "UPDATE access_logs AS a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash, sealed_at = now() "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:seqs AS bigint[]), CAST(:prevs AS text[]), CAST(:hashes AS text[])) "
    "AS v(id, seq, prev_hash, hash) WHERE a.id = v.id"
)


@dataclass(frozen=True, slots=True)
class LogFilter:
    actor: str | None = None
    client_id: str | None = None
    person_ids: Sequence[uuid.UUID] | None = None
    household_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None


class AccessLogRepository(RepositoryBase[AccessLog]):
    model = AccessLog

    async def insert(self, values: dict[str, Any]) -> None:
        # A plain INSERT without RETURNING: the app role has no need to read what it wrote.
        await self.session.execute(insert(AccessLog).values(**values))

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        # Core executemany on one cached statement: no per-batch SQL compilation, no RETURNING.
        await self.session.execute(insert(cast(Table, AccessLog.__table__)), rows)

    async def head(self) -> tuple[int, str] | None:
        row = (await self.session.execute(
            select(AccessLog.seq, AccessLog.hash).where(AccessLog.seq.is_not(None))
            .order_by(AccessLog.seq.desc()).limit(1))).first()
        return (int(row[0] or 0), str(row[1])) if row else None

    async def lock_for_sealing(self) -> None:
        await self.session.execute(SEAL_LOCK)

    async def pending(self, limit: int, after: tuple[datetime, uuid.UUID] | None = None) -> Sequence[AccessLog]:
        # ``after``: where the previous batch of this sealing run ended, so each batch starts at
        # its place in the index instead of stepping over the rows just sealed.
        stmt = select(AccessLog).where(AccessLog.seq.is_(None))
        if after is not None:
            stmt = stmt.where(tuple_(AccessLog.logged_at, AccessLog.id) > tuple_(*after))
        return await self.get_all(stmt.order_by(AccessLog.logged_at, AccessLog.id).limit(limit))

    async def count_pending(self) -> int:
        return int((await self.session.execute(
            select(func.count()).select_from(AccessLog).where(AccessLog.seq.is_(None)))).scalar_one())

    async def write_seals(self, ids: list[uuid.UUID], seqs: list[int], prevs: list[str], hashes: list[str]) -> None:
        await self.session.execute(SEAL_UPDATE, {"ids": ids, "seqs": seqs, "prevs": prevs, "hashes": hashes})

    async def sealed_after(self, seq: int, limit: int) -> Sequence[AccessLog]:
        stmt = (select(AccessLog).where(AccessLog.seq > seq).order_by(AccessLog.seq).limit(limit)
                .execution_options(populate_existing=True))
        return await self.get_all(stmt)

    @staticmethod
    def _conditions(where: LogFilter) -> list[Any]:
        conditions: list[Any] = []
        if where.actor is not None:
            conditions.append(AccessLog.actor == where.actor)
        if where.client_id is not None:
            conditions.append(AccessLog.client_id == where.client_id)
        if where.person_ids is not None:
            conditions.append(AccessLog.person_ids.overlap(list(where.person_ids)))
        if where.household_id is not None:
            conditions.append(AccessLog.household_ids.contains([where.household_id]))
        if where.since is not None:
            conditions.append(AccessLog.logged_at >= where.since)
        if where.until is not None:
            conditions.append(AccessLog.logged_at < where.until)
        if where.outcome is not None:
            conditions.append(AccessLog.outcome == where.outcome)
        return conditions

    async def page(self, where: LogFilter, limit: int,
                   after: tuple[datetime, uuid.UUID] | None = None) -> Sequence[AccessLog]:
        """Newest first, keyset-paginated on (logged_at, id) so every page is an index range scan."""
        conditions = self._conditions(where)
        if after is not None:
            conditions.append(tuple_(AccessLog.logged_at, AccessLog.id) < tuple_(*after))
        if where.person_ids is None and where.household_id is None:
            stmt = (select(AccessLog).where(*conditions)
                    .order_by(AccessLog.logged_at.desc(), AccessLog.id.desc()).limit(limit))
            return await self.get_all(stmt)
        # Who read person P: the few matching rows come from the GIN index, then get sorted. Left to
        # itself the planner walks the time index backwards filtering a million rows (1.5 s at 1M
        # entries); the materialised CTE fences that plan off (10 ms).
        matches = select(AccessLog).where(*conditions).cte("matches").prefix_with("MATERIALIZED")
        row = aliased(AccessLog, matches)
        stmt = select(row).order_by(row.logged_at.desc(), row.id.desc()).limit(limit)
        return await self.get_all(stmt)

    async def count_matching(self, where: LogFilter) -> int:
        """Exact: the same conditions as ``page``, counted on the same indexes (no keyset, no limit)."""
        stmt = select(func.count()).select_from(AccessLog).where(*self._conditions(where))
        return int((await self.session.execute(stmt)).scalar_one())
