"""``slrt-hub schema``: the GraphQL schema. Kept apart from hub/cli.py so other schema commands
(an export to the committed file, a diff) can join this group without touching it."""

from __future__ import annotations

from typing import Annotated

import typer

schema_app = typer.Typer(help="The hub's GraphQL schema.")


@schema_app.callback(invoke_without_command=True)
def schema(
    ctx: typer.Context,
    federation: Annotated[bool, typer.Option(
        "--federation", help="Print the Federation 2 subgraph SDL (@link, @key), as a gateway reads it.")] = False,
) -> None:
    """Print the schema: ``slrt-hub schema --federation`` prints the subgraph SDL."""
    if ctx.invoked_subcommand is not None:
        return
    if not federation:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    from schema.app import build_schema  # the CLI is the one place hub/ reaches into the transport layer

    # The same text ``{ _service { sdl } }`` returns, without executing an operation.
    typer.echo(build_schema().as_str())
