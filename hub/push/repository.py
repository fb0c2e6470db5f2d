"""All SQL of ministry pushes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from hub.db.repository import RepositoryBase, ScopedRepository
from hub.models import Enrolment, IdempotencyKey, PendingEnrolment, Person, ProgrammeRegion, Region

NaturalKey = tuple[uuid.UUID, str, str]  # programme_id, source_system, source_record_id


class IdempotencyRepository(RepositoryBase[IdempotencyKey]):
    model = IdempotencyKey

    async def claim(self, principal: str, key: str, operation: str, request_hash: str) -> IdempotencyKey | None:
        """``None`` when this call now owns the key; otherwise the row stored by the first call.

        A concurrent first call holding the key uncommitted makes this insert wait on the primary
        key until it commits (then its response is returned) or rolls back (then this call owns it).
        """
        claimed = await self.session.execute(
            insert(IdempotencyKey)
            .values(principal=principal, key=key, operation=operation, request_hash=request_hash)
            .on_conflict_do_nothing(index_elements=["principal", "key"])
            .returning(IdempotencyKey.key))
        if claimed.first() is not None:
            return None
        return await self.get_one_or_none(
            select(IdempotencyKey).where(IdempotencyKey.principal == principal, IdempotencyKey.key == key)
            .execution_options(populate_existing=True))

    async def store(self, principal: str, key: str, response: dict[str, Any]) -> None:
        row = await self.get_one_or_none(
            select(IdempotencyKey).where(IdempotencyKey.principal == principal, IdempotencyKey.key == key))
        assert row is not None  # claimed in this transaction
        row.response = response
        await self.session.flush()


class EnrolmentRepository(ScopedRepository[Enrolment]):
    model = Enrolment

    async def by_natural_keys(self, keys: Iterable[NaturalKey], *, push: bool = False) -> dict[NaturalKey, Enrolment]:
        """``push``: for a ministry push (``ScopedRepository.for_push``); else what the principal reads."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        stmt = (self.for_push() if push else self.readable()).where(
            tuple_(Enrolment.programme_id, Enrolment.source_system, Enrolment.source_record_id).in_(wanted))
        return {(row.programme_id, row.source_system, row.source_record_id or ""): row
                for row in await self.get_all(stmt)}


class PendingRepository(ScopedRepository[PendingEnrolment]):
    model = PendingEnrolment

    async def by_natural_keys(self, keys: Iterable[NaturalKey], *,
                              push: bool = False) -> dict[NaturalKey, PendingEnrolment]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        base = self.for_push() if push else self.readable()
        stmt = base.where(tuple_(PendingEnrolment.programme_id, PendingEnrolment.source_system,
                                 PendingEnrolment.source_record_id).in_(wanted))
        return {(row.programme_id, row.source_system, row.source_record_id): row
                for row in await self.get_all(stmt)}

    async def matchable(self, niks: Sequence[str] | None = None, limit: int = 1000) -> Sequence[PendingEnrolment]:
        """Unmatched rows whose NIK names exactly one readable, valid, current person.

        Rows still waiting for their person are not returned, so a backlog of them never
        starves the ones that can be matched.
        """
        unique_niks = (self.readable(select(Person.nik), model=Person)
                       .where(Person.nik_valid.is_(True), Person.status != "archived")
                       .group_by(Person.nik).having(func.count() == 1))
        stmt = self.readable().where(PendingEnrolment.matched_at.is_(None), PendingEnrolment.nik.in_(unique_niks))
        if niks is not None:
            stmt = stmt.where(PendingEnrolment.nik.in_(list(niks)))
        return await self.get_all(stmt.order_by(PendingEnrolment.created_at, PendingEnrolment.id).limit(limit))


class ProgrammeRegionRepository(RepositoryBase[ProgrammeRegion]):
    model = ProgrammeRegion

    async def codes(self, programme_id: uuid.UUID) -> set[str]:
        result = await self.session.execute(
            select(ProgrammeRegion.region_code).where(ProgrammeRegion.programme_id == programme_id))
        return set(result.scalars().all())

    async def replace(self, programme_id: uuid.UUID, codes: Iterable[str]) -> None:
        await self.session.execute(delete(ProgrammeRegion).where(ProgrammeRegion.programme_id == programme_id))
        for code in sorted(set(codes)):
            self.session.add(ProgrammeRegion(programme_id=programme_id, region_code=code))
        await self.session.flush()

    async def unknown_regions(self, codes: Iterable[str]) -> list[str]:
        wanted = set(codes)
        if not wanted:
            return []
        found = await self.session.execute(select(Region.code).where(Region.code.in_(sorted(wanted))))
        return sorted(wanted - set(found.scalars().all()))
