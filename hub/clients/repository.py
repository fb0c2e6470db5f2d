from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from hub.db.repository import RepositoryBase
from hub.models import ApiClient


class ApiClientRepository(RepositoryBase[ApiClient]):
    model = ApiClient

    async def by_client_id(self, client_id: str) -> ApiClient | None:
        return await self.get_one_or_none(select(ApiClient).where(ApiClient.client_id == client_id))

    async def all(self, include_revoked: bool = True) -> Sequence[ApiClient]:
        stmt = select(ApiClient).order_by(ApiClient.created_at, ApiClient.client_id)
        if not include_revoked:
            stmt = stmt.where(ApiClient.active.is_(True))
        return await self.get_all(stmt)
