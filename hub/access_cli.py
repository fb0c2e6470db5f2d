"""CLI commands for access control: development tokens, API clients, and the access-log chain."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from auth.principal import Principal, Role
from hub.audit import service as audit_service
from hub.clients import service as client_service
from hub.config import Settings
from hub.db.engine import make_sessionmaker, resolve_urls, set_scope
from hub.errors import HubError
from hub.tokens import DevTokensRefused, dev_tokens_per_role, mint_dev_token

T = TypeVar("T")

clients_app = typer.Typer(help="Registered API clients (OAuth 2.0 client credentials).", no_args_is_help=True)
audit_app = typer.Typer(help="The access log's hash chain: seal, verify, anchor.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def _as_owner(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction as the database owner."""

    async def run() -> T:
        urls = await resolve_urls(Settings())
        engine = create_async_engine(urls.owner)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                await set_scope(session, Principal.system("cli"))
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def token(
    role: Annotated[Role, typer.Option(help="Role the token grants.")],
    region: Annotated[list[str] | None, typer.Option(help="Region code (repeat for several); '*' for national.")]
    = None,
    programme: Annotated[list[str] | None, typer.Option(help="Programme code, e.g. PKH (repeatable).")] = None,
    ttl: Annotated[int | None, typer.Option(help="Lifetime in seconds (default SLRT_TOKEN_TTL_SECONDS).")] = None,
    subject: Annotated[str | None, typer.Option(help="The token's subject (default dev-<role>).")] = None,
) -> None:
    """Mint a development access token (dev and test profiles only). Prints the token on stdout."""
    settings = Settings()
    try:
        value = mint_dev_token(settings, role, region or [], programme or [], subject=subject, ttl=ttl)
    except DevTokensRefused as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        err.print(f"[red]refused: {exc}[/]")
        raise typer.Exit(2) from exc
    print(value)


def print_demo_tokens(settings: Settings) -> None:
    """One development token per role, for the demo's welcome screen."""
    for role, value in dev_tokens_per_role(settings).items():
        err.print(f"[bold]{role.value}[/]")
        # One unbroken line, whatever the terminal width: a wrapped token does not paste back whole.
        err.print(f"  Authorization: Bearer {value}", soft_wrap=True, highlight=False)


@clients_app.command("create")
def clients_create(
    client_id: Annotated[str, typer.Argument(help="Identifier, e.g. kemensos-siks.")],
    name: Annotated[str, typer.Option(help="Human-readable name.")],
    purpose: Annotated[str, typer.Option(help="Declared purpose of processing (UU PDP), shown in the access log.")],
    region: Annotated[list[str], typer.Option(help="Region code (repeatable); '*' for national.")],
    role: Annotated[Role, typer.Option(help="api_client or ministry_system.")] = Role.api_client,
    programme: Annotated[list[str] | None, typer.Option(help="Programme code (repeatable).")] = None,
) -> None:
    """Register a client. The secret is printed once and cannot be shown again."""

    async def work(session: AsyncSession) -> client_service.Registration:
        return await client_service.create(session, client_id=client_id, name=name, role=role, regions=region,
                                           programmes=programme or [], purpose=purpose)

    try:
        registration = _as_owner(work)
    except HubError as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    err.print("[yellow]Store this secret now; it is not stored and cannot be shown again.[/]")
    print(json.dumps({"client_id": registration.client.client_id, "client_secret": registration.secret}))


@clients_app.command("list")
def clients_list() -> None:
    """Registered clients with their role, scope and purpose."""

    async def work(session: AsyncSession) -> list[tuple[str, ...]]:
        return [(c.client_id, c.role, ",".join(c.regions), ",".join(c.programmes), c.purpose,
                 "active" if c.active else "revoked") for c in await client_service.list_clients(session)]

    table = Table("client_id", "role", "regions", "programmes", "purpose", "status")
    for row in _as_owner(work):
        table.add_row(*row)
    out.print(table)


@clients_app.command("revoke")
def clients_revoke(client_id: str) -> None:
    """Revoke a client: the token endpoint refuses it from now on (issued tokens expire within their TTL)."""

    async def work(session: AsyncSession) -> None:
        await client_service.revoke(session, client_id)

    try:
        _as_owner(work)
    except HubError as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    err.print(f"revoked {client_id}")


@audit_app.command("seal")
def audit_seal(
    batch: Annotated[int, typer.Option(help="Entries per transaction.")] = audit_service.SEAL_BATCH,
    every: Annotated[float | None, typer.Option(help="Keep running as a worker, sealing every N seconds.")]
    = None,
) -> None:
    """Chain every pending access-log entry, as the owner: once (cron, a systemd timer) or as a worker.

    One transaction per batch: a long backlog is sealed in steps that each survive a crash.
    """

    async def backlog(engine: AsyncEngine) -> int:
        total = 0
        while True:
            async with make_sessionmaker(engine)() as session, session.begin():
                sealed = await audit_service.seal(session, batch=batch, limit=batch)
            total += sealed
            if sealed < batch:
                return total

    async def run() -> None:
        urls = await resolve_urls(Settings())
        engine = create_async_engine(urls.owner, pool_size=1)
        try:
            while True:
                err.print(f"sealed {await backlog(engine)} entries")
                if every is None:
                    return
                await asyncio.sleep(every)
        finally:
            await engine.dispose()

    asyncio.run(run())


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[Path | None, typer.Option(help="An anchor file from `audit anchor`, kept outside the database.")]
    = None,
) -> None:
    """Walk the chain; name the first bad position. Exit status 1 when the chain does not hold."""
    expected = audit_service.Anchor.load(anchor) if anchor else None

    async def work(session: AsyncSession) -> audit_service.Verification:
        return await audit_service.verify(session, expected)

    result = _as_owner(work)
    err.print(f"sealed: {result.sealed}  pending (not yet sealed): {result.pending}  head: {result.head}")
    if not result.ok:
        err.print(f"[red]chain broken at position {result.first_bad}: {result.problem}[/]")
        raise typer.Exit(1)
    err.print("[green]chain intact[/]")


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Print the head hash and count as JSON; store it outside the database for `verify --anchor`."""
    print(_as_owner(audit_service.anchor).dumps())
