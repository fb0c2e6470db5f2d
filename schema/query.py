from __future__ import annotations

from collections.abc import Mapping, Sequence

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Region as RegionModel
from hub.regions.repository import RegionRepository
from schema.context import Info
from schema.federation import resolve_public_entity
from schema.read import ReadQuery


async def _regions_by_code(session: AsyncSession, codes: Sequence[str]) -> Mapping[str, RegionModel]:
    return await RegionRepository(session).get_many_by_code(codes)


@strawberry.federation.type(
    keys=["code"],
    description="A Kemendagri administrative region: province, regency/city, district or village.",
)
class Region:
    code: str = strawberry.field(description="Dotted Kemendagri code, e.g. `33.14.01.2001` for a village.")
    name: str = strawberry.field(description="Official name as published by Kemendagri.")
    level: int = strawberry.field(description="1 province, 2 regency/city, 3 district (kecamatan), 4 village.")
    parent_code: str | None = strawberry.field(description="Code of the region one level up; null for provinces.")

    @classmethod
    def from_model(cls, row: RegionModel) -> Region:
        return cls(code=row.code, name=row.name, level=row.level, parent_code=row.parent_code)

    @classmethod
    async def resolve_reference(cls, info: Info, code: str) -> Region | None:
        row = await resolve_public_entity(info, "Region", code, _regions_by_code)
        return cls.from_model(row) if row else None


@strawberry.type
class Query(ReadQuery):
    @strawberry.field(description="One region by its dotted code, or null when there is no such region.")
    async def region(self, info: Info, code: str) -> Region | None:
        async with info.context.sessionmaker() as session:
            row = (await RegionRepository(session).get_many_by_code([code])).get(code)
        return Region.from_model(row) if row else None

    @strawberry.field(description="The regions directly below `parentCode` (provinces when omitted).")
    async def regions(self, info: Info, parent_code: str | None = None) -> list[Region]:
        async with info.context.sessionmaker() as session:
            rows = await RegionRepository(session).children(parent_code)
        return [Region.from_model(r) for r in rows]
