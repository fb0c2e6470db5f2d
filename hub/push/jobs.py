"""Jobs run outside a request (from the CLI or a scheduler), each in one transaction."""

from __future__ import annotations

from auth.principal import Principal
from hub.db.engine import make_engine, make_sessionmaker, unit_of_work
from hub.push import service as push_service


async def match_pending_enrolments(app_database_url: str) -> int:
    """Match every pending pushed enrolment whose person is now in the registry."""
    engine = make_engine(app_database_url, pool_size=1, max_overflow=0)
    try:
        principal = Principal.system("match-pending")
        async with unit_of_work(make_sessionmaker(engine), principal) as session:
            return await push_service.match_pending(session, principal)
    finally:
        await engine.dispose()
