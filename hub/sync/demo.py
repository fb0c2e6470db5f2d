"""What the demo shows a newcomer: the mock systems running, one connector of each kind configured
against them, and a first sync from every source."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal
from hub.config import Settings
from hub.db.engine import set_scope
from hub.sync import service
from hub.sync.dukcapil import verify_region
from hub.sync.repository import SyncRepository
from hub.sync.wiring import build_source

SYSTEM = Principal.system("demo")
ORDER = ("siks-ng", "education", "health", "baznas", "dukcapil")  # the registry first: lists link to it


async def configure_and_sync(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                             urls: dict[str, str], credentials: Callable[[str], dict[str, str]],
                             say: Callable[[str], Any] = print, region: str = "33.14") -> None:
    for kind in ORDER:
        name = f"demo-{kind}"
        async with sessionmaker() as session, session.begin():
            await set_scope(session, SYSTEM)
            connector = await SyncRepository(session).connector_by_name(name)
            if connector is None:
                connector = await service.create_connector(session, SYSTEM, settings, service.ConnectorInput(
                    name=name, kind=kind, base_url=urls[kind], region_code=region, credentials=credentials(kind)))
            else:
                connector.base_url = urls[kind]  # the mocks may listen elsewhere this time
        source: Any = build_source(connector, settings)
        try:
            if kind == "dukcapil":
                report = await verify_region(sessionmaker, connector, source, purpose="demo",
                                             requested_by="slrt-hub demo", limit=20)
                say(f"  {kind:10s} {report.checked} NIKs checked: {report.all_matched} match, "
                    f"{report.mismatched} differ, {report.not_found} unknown")
                continue
            result = await service.run_sync(sessionmaker, connector, source, full=True,
                                             page_size=settings.sync_page_size)
            p = result.progress
            say(f"  {kind:10s} {result.status.value}: {p.inserted} new, {p.updated} updated, "
                f"{p.quarantined} set aside")
        finally:
            await source.aclose()
