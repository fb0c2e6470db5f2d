"""``python -m mocks [--config FILE] [--seed N] [--size N]``: serve the five mock systems until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from mocks.server import MockConfig, MockSystems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mocks", description=__doc__)
    parser.add_argument("--config", type=Path, help="JSON file with MockConfig fields (ports, credentials, faults)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--size", type=int, help="number of households in the synthetic population")
    args = parser.parse_args(argv)
    config = MockConfig.from_file(args.config) if args.config else MockConfig()
    if args.seed is not None:
        config.seed = args.seed
    if args.size is not None:
        config.size = args.size
    systems = MockSystems(config)
    for name, url in systems.urls.items():
        print(f"{name:10s} {url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(systems.serve())


if __name__ == "__main__":
    main()
