from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from hub.db.repository import RepositoryBase
from hub.models import ApiClient


@dataclass(frozen=True, slots=True)
class ClientFilter:
    active: bool | None = None
    role: str | None = None


class ApiClientRepository(RepositoryBase[ApiClient]):
    model = ApiClient

    async def by_client_id(self, client_id: str) -> ApiClient | None:
        return await self.get_one_or_none(select(ApiClient).where(ApiClient.client_id == client_id))

    async def all(self, include_revoked: bool = True) -> Sequence[ApiClient]:
        stmt = select(ApiClient).order_by(ApiClient.created_at, ApiClient.client_id)
        if not include_revoked:
            stmt = stmt.where(ApiClient.active.is_(True))
        return await self.get_all(stmt)

    def filtered(self, wanted: ClientFilter) -> Select[Any]:
        stmt = select(ApiClient)
        if wanted.active is not None:
            stmt = stmt.where(ApiClient.active.is_(wanted.active))
        if wanted.role is not None:
            stmt = stmt.where(ApiClient.role == wanted.role)
        return stmt

    async def page(self, wanted: ClientFilter, offset: int, limit: int) -> Sequence[ApiClient]:
        # Oldest first, ties broken by the unique client id, so pages never overlap.
        stmt = self.filtered(wanted).order_by(ApiClient.created_at, ApiClient.client_id)
        return await self.get_all(stmt.offset(offset).limit(limit))

    async def count_filtered(self, wanted: ClientFilter) -> int:
        return await self.count(self.filtered(wanted))
