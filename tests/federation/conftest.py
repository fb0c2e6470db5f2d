"""Node tooling for the federation tests: the pinned composer and gateway under federation/."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

FEDERATION = Path(__file__).resolve().parents[2] / "federation"


STAMP = FEDERATION / "node_modules" / ".slrt-lock-sha256"


def _lock_digest() -> str:
    return hashlib.sha256((FEDERATION / "package-lock.json").read_bytes()).hexdigest()


def _installed() -> bool:
    return STAMP.exists() and STAMP.read_text() == _lock_digest()


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable, after ``npm ci`` has installed the pinned packages when they are missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the federation tests need node (>= 20) and npm on PATH")
    if not _installed():
        args = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        env = {**os.environ, "npm_config_update_notifier": "false"}
        subprocess.run(args, cwd=FEDERATION, check=True, timeout=300, env=env)  # noqa: S603  (fixed arguments)
        STAMP.write_text(_lock_digest())
    return node


def compose(node: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The tests' own arguments: node and a fixed script.
    return subprocess.run([node, "compose.mjs", *args], cwd=FEDERATION,  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False)
