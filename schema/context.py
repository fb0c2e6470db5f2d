from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from auth.principal import Principal
from hub.config import Settings


@dataclass
class Context:
    request: Request
    response: Any
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    principal: Principal | None
    # Per-request DataLoaders, created lazily by schema.loaders.
    loaders: dict[str, Any] = field(default_factory=dict)


Info = strawberry.Info[Context, None]
