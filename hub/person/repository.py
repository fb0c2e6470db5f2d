"""Persons (household members). Every read starts from ``ScopedRepository.readable``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, bindparam, case

from hub.db.repository import ScopedRepository
from hub.models import Person, RecordStatus, Relationship

# The head of the household first, then members in the order they were recorded.
_MEMBER_ORDER = (case((Person.relationship_to_head == Relationship.head, 0), else_=1), Person.created_at, Person.id)


class PersonRepository(ScopedRepository[Person]):
    model = Person

    async def by_nik(self, nik: str) -> Person | None:
        if self.read_only:
            rows = await self._prepared_snapshots(
                "by_nik", lambda: self._by_nik(bindparam("nik", type_=Person.nik.type)), {"nik": nik})
            return rows[0] if rows else None
        return await self.get_one_or_none(self._by_nik(nik))

    def _by_nik(self, nik: Any) -> Select[Any]:
        # NIKs are not unique in real registries (duplicates are flagged, not merged): prefer the
        # active record with a valid NIK, then the oldest.
        return (self.readable().where(Person.nik == nik)
                .order_by(case((Person.status == RecordStatus.active, 0), else_=1), Person.nik_valid.desc(),
                          Person.created_at, Person.id)
                .limit(1))

    async def by_household_ids(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Person]]:
        return await self.grouped_by(Person.household_id, ids, *_MEMBER_ORDER)

    async def by_family_ids(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Person]]:
        return await self.grouped_by(Person.family_id, ids, *_MEMBER_ORDER)
