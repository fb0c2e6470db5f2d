"""A zygote for the crash test: imports the hub once, then forks one sync process per command line.

Python and SQLAlchemy take seconds to import on a loaded machine; forking from a warmed-up parent
makes each killed sync cost milliseconds to start, so 20+ SIGKILLs fit in well under a minute.
The parent is single-threaded and holds no connection or event loop when it forks.

stdin: one JSON line per run (``{"connector": name}``). stdout: ``{"child": pid}``, the child's own
``--plain`` page lines, then ``{"reaped": pid, "status": wait_status}``.
"""

from __future__ import annotations

import json
import os
import sys

import typer

from hub.sync.cli import sync


def child(connector: str) -> None:
    try:
        sync(connector, full=True, plain=True)
        code = 0
    except typer.Exit as exc:
        code = exc.exit_code
    sys.stdout.flush()
    os._exit(code)


def main() -> None:
    for line in sys.stdin:
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(command["connector"])
        print(json.dumps({"child": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"reaped": pid, "status": status}), flush=True)


if __name__ == "__main__":
    main()
