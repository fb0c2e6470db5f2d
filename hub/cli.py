"""``slrt-hub``: run the API, migrate, load reference data, seed synthetic data, mint dev tokens."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import create_async_engine

from hub.config import Settings
from hub.db.engine import DatabaseUrls, resolve_urls
from hub.db.migrate import upgrade
from hub.regions.loader import load_regions

app = typer.Typer(
    help="SLRT Hub: the GraphQL integration hub for Indonesia's Integrated Service and Referral System.\n\n"
    "Without SLRT_DATABASE_URL every command uses an embedded PostgreSQL under the data directory.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
regions_app = typer.Typer(help="Kemendagri region reference data.", no_args_is_help=True)
app.add_typer(regions_app, name="regions")
console = Console(stderr=True)


def _urls(settings: Settings) -> DatabaseUrls:
    return asyncio.run(resolve_urls(settings))


async def _load_regions(owner_url: str) -> dict[int, int]:
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            return await load_regions(conn)
    finally:
        await engine.dispose()


def _migrate(urls: DatabaseUrls) -> None:
    upgrade(urls.owner)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest migration."""
    urls = _urls(Settings())
    _migrate(urls)
    console.print("[green]database schema is at the newest migration[/]")


@regions_app.command("load")
def regions_load() -> None:
    """Load the 4-level region hierarchy (38 provinces ... 83,762 villages). Safe to run again."""
    urls = _urls(Settings())
    counts = asyncio.run(_load_regions(urls.owner))
    console.print(
        f"regions: {counts.get(1, 0)} provinces, {counts.get(2, 0)} regencies/cities, "
        f"{counts.get(3, 0)} districts, {counts.get(4, 0)} villages"
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default from SLRT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from SLRT_PORT).")] = None,
) -> None:
    """Serve the GraphQL API (and GraphiQL in the dev profile) with uvicorn."""
    import uvicorn

    from schema.app import create_app

    settings = Settings()
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port,
                log_level="info")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port for the API.")] = 8000,
) -> None:
    """Everything a newcomer needs: embedded PostgreSQL, migrations, regions, and the API."""
    import uvicorn

    from schema.app import create_app

    logging.basicConfig(level=logging.INFO)
    settings = Settings(port=port)
    urls = _urls(settings)
    console.print("[bold]1/3[/] migrating")
    _migrate(urls)
    console.print("[bold]2/3[/] loading regions")
    asyncio.run(_load_regions(urls.owner))
    console.print("[bold]3/3[/] serving")
    console.print(f"\n  GraphiQL: [link]http://{settings.host}:{port}/graphql[/link]\n")
    console.print(f"  Dashboard: [link]http://{settings.host}:{port}/dashboard[/link]\n")
    uvicorn.run(create_app(settings), host=settings.host, port=port, log_level="info")
