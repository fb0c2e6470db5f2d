"""``slrt-hub schema``: print the GraphQL schema. Kept apart from hub/cli.py so other schema
commands (an export to the committed file, a diff) can join this group without touching it."""

from __future__ import annotations

from typing import Annotated

import typer

schema_app = typer.Typer(help="The hub's GraphQL schema.")


@schema_app.callback(invoke_without_command=True)
def schema(
    ctx: typer.Context,
    federation: Annotated[bool, typer.Option(
        "--federation", help="Print the Federation 2 subgraph SDL (@link, @key), as a gateway sees it.")] = False,
) -> None:
    """Print the schema SDL: the client-facing schema, or with --federation the subgraph SDL."""
    if ctx.invoked_subcommand is not None:
        return
    from schema.app import build_schema  # the CLI is the one place hub/ reaches into the transport layer

    built = build_schema()
    if federation:
        result = built.execute_sync("{ _service { sdl } }")
        if result.errors or result.data is None:
            raise typer.Exit(1)
        typer.echo(result.data["_service"]["sdl"])
    else:
        typer.echo(built.as_str())
