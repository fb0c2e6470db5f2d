"""``slrt-hub schema --federation``: print the Federation 2 subgraph SDL, as a gateway reads it.

An option on the ``schema`` command group (which also holds ``schema export``), registered in
hub/cli.py with ``schema_app.callback(invoke_without_command=True)(schema_group)``.
"""

from __future__ import annotations

from typing import Annotated

import typer


def schema_group(
    ctx: typer.Context,
    federation: Annotated[bool, typer.Option(
        "--federation", help="Print the Federation 2 subgraph SDL (@link, @key), as a gateway reads it.")] = False,
) -> None:
    """The GraphQL schema: ``--federation`` prints the subgraph SDL."""
    if ctx.invoked_subcommand is not None:
        return
    if not federation:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    from schema.app import build_schema  # the CLI is the one place hub/ reaches into the transport layer

    # The same text ``{ _service { sdl } }`` returns, without executing an operation.
    typer.echo(build_schema().as_str())
