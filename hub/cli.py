"""``slrt-hub``: run the API, migrate, load reference data, seed synthetic data, mint dev tokens."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import create_async_engine

from hub.access_cli import audit_app, clients_app, print_demo_tokens, token
from hub.cli_schema import schema_group
from hub.config import Settings
from hub.db.engine import DatabaseUrls, resolve_urls
from hub.db.migrate import upgrade
from hub.regions.loader import load_regions

if TYPE_CHECKING:
    from hub.seed.writer import SeedResult

app = typer.Typer(
    help="SLRT Hub: the GraphQL integration hub for Indonesia's Integrated Service and Referral System.\n\n"
    "Without SLRT_DATABASE_URL every command uses an embedded PostgreSQL under the data directory.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
regions_app = typer.Typer(help="Kemendagri region reference data.", no_args_is_help=True)
app.add_typer(regions_app, name="regions")
schema_app = typer.Typer(help="The GraphQL schema artifact (schema/schema.graphql).", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
schema_app.callback(invoke_without_command=True)(schema_group)
app.add_typer(clients_app, name="clients")
app.add_typer(audit_app, name="audit")
app.command()(token)
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


async def _seed(owner_url: str, households: int, seed: int, regencies: list[str] | None, *,
                reset: bool = False, only_if_empty: bool = False) -> SeedResult | None:
    """Seed in one transaction with a progress bar; ``None`` when skipped because households exist."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hub.seed.population import DEFAULT_REGENCIES, Population
    from hub.seed.writer import AlreadySeeded, count_households, count_synthetic, write_population

    population = Population(seed, regencies or DEFAULT_REGENCIES)
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            if only_if_empty and await count_households(conn):
                return None
            if not reset and (existing := await count_synthetic(conn)):
                raise AlreadySeeded(existing)
            columns = (TextColumn("seeding"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                       TimeElapsedColumn())
            with Progress(*columns, console=console) as bar:
                task = bar.add_task("seed", total=households, rate="")
                started = time.perf_counter()

                def progress(done: int, persons: int) -> None:
                    elapsed = max(time.perf_counter() - started, 1e-9)
                    bar.update(task, completed=done,
                               rate=f"{done / elapsed:,.0f} households/s, {persons:,} persons")

                result = await write_population(conn, population, households, reset=reset, progress=progress)
        await _refresh_analytics(owner_url)  # the dashboard's summary of the new population
        return result
    finally:
        await engine.dispose()


async def _refresh_analytics(owner_url: str, regencies: list[str] | None = None) -> None:
    """Rebuild the analytics summary (``hub.analytics.summary``), one line per regency."""
    from hub.analytics import summary
    from hub.db.engine import make_sessionmaker

    engine = create_async_engine(owner_url)
    try:
        started = time.perf_counter()
        done = await summary.refresh(make_sessionmaker(engine), regencies or None, progress=console.print)
        console.print(f"[green]analytics summary rebuilt[/] for {len(done)} regencies in "
                      f"{time.perf_counter() - started:.1f} s")
    finally:
        await engine.dispose()


analytics_app = typer.Typer(help="The analytics summary behind the dashboard.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")


@analytics_app.command("refresh")
def analytics_refresh(
    regency: Annotated[list[str] | None, typer.Option(
        help="Rebuild only this regency (repeatable); default: every regency with households.")] = None,
) -> None:
    """Rebuild the per-village summary the dashboard reads (done after every sync run and seed too)."""
    urls = _urls(Settings())
    asyncio.run(_refresh_analytics(urls.owner, regency))


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


@schema_app.command("export")
def schema_export(
    output: Annotated[Path | None, typer.Option(help="Write the SDL to this file instead of printing it "
                                                     "(the committed copy is schema/schema.graphql).")] = None,
) -> None:
    """Print the GraphQL schema (SDL) the code builds, or write it to a file."""
    from schema.export import schema_sdl

    sdl = schema_sdl()
    if output is None:
        typer.echo(sdl, nl=False)
    else:
        output.write_text(sdl, encoding="utf-8")
        console.print(f"wrote {output}")


@app.command("seed")
def seed_command(
    households: Annotated[int, typer.Option(min=0, help="How many households to generate.")] = 10_000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; the same seed gives the same population.")] = 1,
    regency: Annotated[list[str] | None, typer.Option(
        help="Regency/city code to populate, e.g. 33.14 (repeat for several; default: five built-in ones)."
    )] = None,
    reset: Annotated[bool, typer.Option(
        help="Delete the synthetic population already in the database first (otherwise seeding refuses)."
    )] = False,
) -> None:
    """Generate a deterministic synthetic population (households, NIKs, KK, enrolments, cases) and load it.

    A database holds one synthetic population: seeding again refuses unless --reset is given.
    """
    from hub.seed.writer import AlreadySeeded

    urls = _urls(Settings())
    try:
        result = asyncio.run(_seed(urls.owner, households, seed, regency, reset=reset))
    except AlreadySeeded as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    assert result is not None
    _print_seed(result)


def _print_seed(result: SeedResult) -> None:
    if result.deleted_households:
        console.print(f"removed the previous synthetic population ({result.deleted_households:,} households)")
    rows = ", ".join(f"{count:,} {table}" for table, count in result.rows.items())
    console.print(f"[green]seeded[/] {rows} in {result.seconds:.1f} s; "
                  f"{result.invalid_niks:,} invalid and {result.duplicate_niks:,} duplicate NIKs flagged")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default from SLRT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from SLRT_PORT).")] = None,
) -> None:
    """Serve the GraphQL API (and GraphiQL in the dev profile) with uvicorn."""
    import uvicorn

    from schema.app import create_app, settle_heap

    settings = Settings()
    api = create_app(settings)
    settle_heap()
    uvicorn.run(api, host=host or settings.host, port=port or settings.port, log_level="info")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port for the API.")] = 8000,
) -> None:
    """Everything a newcomer needs: embedded PostgreSQL, migrations, regions, a synthetic population, the API."""
    import uvicorn

    from schema.app import create_app, settle_heap

    settings = Settings(port=port)
    urls = _urls(settings)
    console.print("[bold]1/5[/] migrating")
    _migrate(urls)
    console.print("[bold]2/5[/] loading regions")
    asyncio.run(_load_regions(urls.owner))
    console.print("[bold]3/5[/] seeding 2,000 synthetic households (skipped when the database has households)")
    seeded = asyncio.run(_seed(urls.owner, 2_000, 1, None, only_if_empty=True))
    if seeded is not None:
        _print_seed(seeded)
    console.print("[bold]4/5[/] starting the mock government systems")
    _demo_sources(settings, urls)
    _demo_worker(urls)
    console.print("[bold]5/5[/] serving")
    print_demo_tokens(settings)
    console.print(f"\n  GraphiQL: [link]http://{settings.host}:{port}/graphql[/link]\n")
    console.print(f"  Dashboard: [link]http://{settings.host}:{port}/dashboard[/link]\n")
    api = create_app(settings)
    settle_heap()
    uvicorn.run(api, host=settings.host, port=port, log_level="info")


@app.command("match-pending")
def match_pending() -> None:
    """Enrol pushed enrolments that waited for an unknown NIK whose person is now in the registry."""
    from hub.push.jobs import match_pending_enrolments

    matched = asyncio.run(match_pending_enrolments(_urls(Settings()).app))
    console.print(f"matched {matched} pending enrolments")


# Connectors, sync and the mock government systems (issue 6).
mocks_app = typer.Typer(help="The mock government systems (SIKS-NG, Dukcapil, PIP, PBI-JK, Baznas).",
                        no_args_is_help=True)
app.add_typer(mocks_app, name="mocks")


@mocks_app.command("serve")
def mocks_serve(
    config: Annotated[str | None, typer.Option(help="JSON file with ports, credentials and faults.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the synthetic population.")] = None,
    size: Annotated[int | None, typer.Option(help="Households in the synthetic population.")] = None,
) -> None:
    """Serve the five mock systems on loopback until Ctrl-C (same as ``python -m mocks``)."""
    from mocks.__main__ import main as serve_mocks

    argv = [*(["--config", config] if config else []), *(["--seed", str(seed)] if seed is not None else []),
            *(["--size", str(size)] if size is not None else [])]
    serve_mocks(argv)


def _register_sync() -> None:
    from hub.sync.cli import register

    register(app)


_register_sync()


def _demo_worker(urls: DatabaseUrls) -> None:
    """A job worker inside the demo process, so `runSync` and outbox deliveries run without a separate
    `slrt-hub worker` (production runs workers as their own processes: docker-compose.yml)."""
    import threading

    from hub.sync.jobs import ensure_queue_schema, make_app

    asyncio.run(ensure_queue_schema(urls.owner))

    async def work() -> None:
        worker_app = make_app(urls.app)
        async with worker_app.open_async():
            await worker_app.run_worker_async(queues=["sync", "outbox"], install_signal_handlers=False)

    threading.Thread(target=lambda: asyncio.run(work()), daemon=True, name="worker").start()
    console.print("      job worker up (runSync and outbox deliveries)")


def _demo_sources(settings: Settings, urls: DatabaseUrls) -> None:
    """Start the mock systems for the rest of the demo, configure a connector per source, sync once."""
    import threading

    from hub.db.engine import make_engine, make_sessionmaker
    from hub.sync.demo import configure_and_sync
    from mocks.server import MockConfig, MockSystems

    systems = MockSystems(MockConfig())
    threading.Thread(target=lambda: asyncio.run(systems.serve()), daemon=True, name="mocks").start()
    console.print("      mock systems up; first sync from each source:")

    async def run() -> None:
        engine = make_engine(urls.app, pool_size=3, max_overflow=1)
        try:
            await configure_and_sync(make_sessionmaker(engine), settings, systems.urls,
                                     systems.config.client_credentials, say=console.print)
        finally:
            await engine.dispose()

    asyncio.run(run())
