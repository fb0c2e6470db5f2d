"""``slrt-hub sync <connector> [--full]`` and ``slrt-hub connectors ...``: run and configure syncs from a shell."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal
from hub.config import Settings
from hub.db.engine import make_engine, make_sessionmaker, resolve_urls, set_scope
from hub.errors import HubError
from hub.models import Connector, OutboxStatus
from hub.sync import engine as sync_engine
from hub.sync import service
from hub.sync.dukcapil import verify_region
from hub.sync.repository import SyncRepository
from hub.sync.wiring import build_source

console = Console(stderr=True)
connectors_app = typer.Typer(help="Configure connectors to external systems.", no_args_is_help=True)
outbox_app = typer.Typer(help="List and retry pushes to other systems (SIKS-NG, Baznas).", no_args_is_help=True)
SYSTEM = Principal.system("cli")


async def _with_db(settings: Settings, work: Any) -> Any:
    urls = await resolve_urls(settings)
    engine = make_engine(urls.app, pool_size=4, max_overflow=2)
    try:
        return await work(make_sessionmaker(engine))
    finally:
        await engine.dispose()


async def _find(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> Connector:
    async with sessionmaker() as session:
        connector = await SyncRepository(session).connector_by_name(name)
    if connector is None:
        raise typer.BadParameter(f"no connector named {name!r} (see: slrt-hub connectors list)")
    return connector


def sync(
    connector: Annotated[str, typer.Argument(help="Connector name, as configured.")],
    full: Annotated[bool, typer.Option("--full", help="Pull everything, not only what changed since the last run.")]
    = False,
    plain: Annotated[bool, typer.Option("--plain", help="One JSON line per committed page instead of a bar.")]
    = False,
) -> None:
    """Run one sync now and show its progress. Resumes an interrupted run from its checkpoint."""
    settings = Settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> sync_engine.RunResult | None:
        found = await _find(sessionmaker, connector)
        source: Any = build_source(found, settings)
        if found.kind == "dukcapil":
            try:
                report = await verify_region(
                    sessionmaker, found, source, purpose=str(found.options.get("purpose", "registry-verification")),
                    requested_by="slrt-hub sync", limit=int(found.options.get("batch", 100)),
                    per_minute=found.options.get("per_minute"))
            finally:
                await source.aclose()
            console.print(f"checked={report.checked} all_matched={report.all_matched} "
                          f"mismatched={report.mismatched} not_found={report.not_found} refused={report.refused}")
            if report.stopped:
                console.print(f"[red]stopped[/]: {report.stopped}")
                raise typer.Exit(1)
            return None
        started = time.monotonic()
        bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                       TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), console=console, disable=plain)

        def on_page(p: sync_engine.Progress) -> None:
            rate = p.fetched / max(time.monotonic() - started, 1e-6)
            if plain:
                print(json.dumps({"page": p.pages, "fetched": p.fetched, "inserted": p.inserted,
                                  "updated": p.updated}), flush=True)
            bar.update(task, completed=p.fetched, total=p.total, counts=(
                f"{p.fetched} fetched · {p.inserted} new · {p.updated} updated · {p.unchanged} same · "
                f"{p.quarantined} quarantined · {rate:,.0f}/s"))

        task = bar.add_task(f"sync {found.name}", total=None, counts="starting")
        try:
            with bar:
                return await service.run_sync(sessionmaker, found, source, full=full,
                                              page_size=settings.sync_page_size, on_page=on_page)
        finally:
            await source.aclose()

    try:
        result: sync_engine.RunResult | None = asyncio.run(_with_db(settings, work))
    except HubError as exc:
        console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(2) from None
    if result is None:
        return
    p = result.progress
    colour = {"succeeded": "green", "skipped": "yellow"}.get(result.status.value, "red")
    console.print(f"[{colour}]{result.status.value}[/] {'(resumed) ' if result.resumed else ''}"
                  f"pages={p.pages} fetched={p.fetched} inserted={p.inserted} updated={p.updated} "
                  f"unchanged={p.unchanged} quarantined={p.quarantined} duplicate_pages={p.duplicate_pages} "
                  f"out_of_order_pages={p.out_of_order_pages}")
    if result.reconciliation:
        console.print(f"reconciliation: {json.dumps(result.reconciliation)}")
    if result.error:
        console.print(f"[red]error[/]: {result.error}")
    if result.status.value not in ("succeeded", "skipped"):
        raise typer.Exit(1)


@connectors_app.command("add")
def add(
    name: str,
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(service.KINDS)}")],
    base_url: Annotated[str, typer.Option(help="The system's API root, e.g. https://siks.example.go.id")],
    region: Annotated[str | None, typer.Option(help="Region filter, e.g. 33.14 (absent: national).")] = None,
    credentials: Annotated[str | None, typer.Option(
        help='JSON: {"api_key": ...} or {"client_id": ..., "client_secret": ...}. Read from stdin when "-".')]
    = None,
    schedule: Annotated[str | None, typer.Option(help="Cron expression for the scheduler.")] = None,
) -> None:
    """Configure a connector. Credentials are stored encrypted and never shown again."""
    settings = Settings()
    raw = sys.stdin.read() if credentials == "-" else credentials
    data = service.ConnectorInput(name=name, kind=kind, base_url=base_url, region_code=region, schedule=schedule,
                                  credentials=json.loads(raw) if raw else None)

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> Connector:
        async with sessionmaker() as session, session.begin():
            await set_scope(session, SYSTEM)
            return await service.create_connector(session, SYSTEM, settings, data)

    try:
        created: Connector = asyncio.run(_with_db(settings, work))
    except HubError as exc:
        console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(2) from None
    console.print(f"[green]connector {created.name} ({created.kind}) configured[/]")


@connectors_app.command("list")
def list_() -> None:
    """The configured connectors (never their credentials)."""
    settings = Settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Connector]:
        async with sessionmaker() as session:
            return await service.list_connectors(session, SYSTEM)

    for c in asyncio.run(_with_db(settings, work)):
        print(f"{c.name}\t{c.kind}\t{c.base_url}\t{c.region_code or '*'}\t{'enabled' if c.enabled else 'disabled'}")


@connectors_app.command("usage")
def usage() -> None:
    """Dukcapil NIK checks per month and purpose (the report the Dukcapil agreement requires)."""
    settings = Settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
        async with sessionmaker() as session:
            await set_scope(session, SYSTEM)
            return await service.usage_report(session)

    print("month\tpurpose\tcalls")
    for row in asyncio.run(_with_db(settings, work)):
        print(f"{row['month']}\t{row['purpose']}\t{row['calls']}")


def worker(
    once: Annotated[bool, typer.Option("--once", help="Process what is queued, then exit.")] = False,
    queues: Annotated[list[str] | None, typer.Option("--queue", help="Queues to serve (default: sync, outbox).")]
    = None,
) -> None:
    """Run scheduled syncs and outbox deliveries (procrastinate worker). Start as many as you like."""
    from hub.sync.jobs import ensure_queue_schema, make_app

    settings = Settings()

    async def work() -> None:
        urls = await resolve_urls(settings)
        if await ensure_queue_schema(urls.owner):
            console.print("job queue tables created")
        app = make_app(urls.app)
        async with app.open_async():
            await app.run_worker_async(queues=queues or ["sync", "outbox"], wait=not once,
                                       install_signal_handlers=not once)

    asyncio.run(work())


def worker_health(
    within: Annotated[int, typer.Option("--within", min=1, help="Seconds since the last heartbeat.")] = 60,
) -> None:
    """Exit 0 when a worker has sent its heartbeat in the last WITHIN seconds, 1 otherwise: a container
    healthcheck. Workers heartbeat every 10 s into the job queue's table, so this needs the database."""
    from hub.sync.jobs import worker_heartbeats

    settings = Settings()
    try:
        alive = asyncio.run(worker_heartbeats(settings, within))
    except Exception as exc:  # any failure to ask means "not healthy"; the type says why, nothing more
        console.print(f"[red]unhealthy[/]: {type(exc).__name__}")
        raise typer.Exit(1) from None
    if not alive:
        console.print(f"[red]unhealthy[/]: no worker heartbeat in the last {within} s")
        raise typer.Exit(1)
    console.print(f"{alive} worker(s) alive")


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed (default: all).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Outbox messages, newest first: id, topic, status, attempts, village, last error (never the payload)."""
    settings = Settings()
    try:
        wanted = OutboxStatus(status) if status else None
    except ValueError:
        raise typer.BadParameter(f"status must be one of {', '.join(s.value for s in OutboxStatus)}") from None

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Any]:
        async with sessionmaker() as session, session.begin():
            await set_scope(session, SYSTEM)
            return list(await service.list_outbox(session, SYSTEM, status=wanted, limit=limit))

    for m in asyncio.run(_with_db(settings, work)):
        print(f"{m.id}\t{m.topic}\t{m.status.value}\t{m.attempts}\t{m.village_code}\t{m.last_error or ''}")


@outbox_app.command("retry")
def outbox_retry(
    message_id: Annotated[str | None, typer.Argument(help="The message to send again (see: outbox list).")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Retry every failed message.")] = False,
) -> None:
    """Send failed messages again at the next delivery round (same idempotency key, so no double push)."""
    if (message_id is None) == (not all_failed):
        raise typer.BadParameter("give a message id or --all-failed (not both)")
    settings = Settings()
    try:
        parsed = uuid.UUID(message_id) if message_id else None
    except ValueError:
        raise typer.BadParameter(f"{message_id!r} is not a message id") from None

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        async with sessionmaker() as session, session.begin():
            await set_scope(session, SYSTEM)
            if parsed is None:
                return await service.retry_failed_outbox(session, SYSTEM)
            await service.retry_outbox(session, SYSTEM, parsed)
            return 1

    try:
        retried = asyncio.run(_with_db(settings, work))
    except HubError as exc:
        console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(2) from None
    console.print(f"[green]{retried} message(s) queued for delivery again[/]")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.command("worker")(worker)
    app.command("worker-health")(worker_health)
    app.add_typer(connectors_app, name="connectors")
    app.add_typer(outbox_app, name="outbox")
