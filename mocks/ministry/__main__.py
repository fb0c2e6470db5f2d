"""``python -m mocks.ministry --port 8100``: serve the education ministry's subgraph."""

from __future__ import annotations

import argparse

import uvicorn

from mocks.ministry.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mocks.ministry", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--sdl", action="store_true", help="print the subgraph SDL and exit")
    args = parser.parse_args()
    if args.sdl:
        from mocks.ministry.schema import build_schema

        result = build_schema().execute_sync("{ _service { sdl } }")
        print(result.data["_service"]["sdl"] if result.data else "")
        return
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


main()
