"""A real browser against a real server: headless Chromium driven by Selenium, the app served by
uvicorn on a loopback port, over the hand-built population committed to a database of its own.

Chromium and its driver come from Debian's packages; the first run installs them (we run as root
in CI and in the dev container). When that is impossible the test fails and says what to install.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.requests import Request

from auth.principal import Principal, RegionScope, Role
from hub.analytics import summary
from hub.config import Profile, Settings, app_url_from_owner
from hub.db.embedded import ensure_database
from hub.db.engine import make_sessionmaker, set_scope
from hub.db.migrate import upgrade
from hub.regions.loader import load_regions
from tests.hub.analytics.population import DISTRICT_AB, REGENCY, VILLAGE_A, build_population

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    "--window-size=1400,1800",
)
DEBIAN_PACKAGES = ("chromium", "chromium-driver")

TOKENS = {
    "e2e-manager": Principal("e2e-manager", Role.manager, RegionScope.of(REGENCY)),
    "e2e-facilitator": Principal("e2e-facilitator", Role.facilitator, RegionScope.of(VILLAGE_A)),
    "e2e-supervisor": Principal("e2e-supervisor", Role.supervisor, RegionScope.of(DISTRICT_AB)),
}


def _binaries() -> tuple[str | None, str | None]:
    return shutil.which("chromium"), shutil.which("chromedriver")


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, text=True, env=env, check=False)  # noqa: S603, S607


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver, installing the Debian packages when they are missing."""
    browser, driver = _binaries()
    if browser and driver:
        return browser, driver
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.fail(f"the browser test needs the Debian packages {' '.join(DEBIAN_PACKAGES)}; "
                    "install them (apt-get install chromium chromium-driver) or run the tests as root")
    install = ("install", "-y", "--no-install-recommends", *DEBIAN_PACKAGES)
    result = _apt(*install)
    if result.returncode != 0:
        _apt("update")
        result = _apt(*install)
    browser, driver = _binaries()
    if result.returncode != 0 or not (browser and driver):
        pytest.fail(f"could not install {' '.join(DEBIAN_PACKAGES)} with apt-get:\n{result.stderr[-2000:]}")
    return browser, driver


@pytest.fixture(scope="session")
async def e2e_database(database_urls: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    """A database of its own with the population committed (the server's connections must see it,
    and the rest of the suite must not)."""
    name = f"{database_urls['name']}_e2e"
    owner = await ensure_database(database_urls["server"], name)
    await asyncio.to_thread(upgrade, owner)
    engine = create_async_engine(owner)
    async with engine.begin() as conn:
        await load_regions(conn)
    async with engine.connect() as conn, conn.begin(), make_sessionmaker(conn)() as session:
        await set_scope(session, Principal.system("e2e population"))
        await build_population(session)
        await session.commit()
    # As after a seed or a sync run: the regency manager's figures come from the summary.
    await summary.refresh(make_sessionmaker(engine))
    await engine.dispose()
    yield {"owner": owner, "app": app_url_from_owner(owner, None)}
    admin = create_async_engine(make_url(database_urls["server"]).set(database="postgres"),
                                isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def e2e_engine(e2e_database: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    """The oracle's connection: the same database, as the app role."""
    engine = create_async_engine(e2e_database["app"], pool_size=2, max_overflow=0)
    yield engine
    await engine.dispose()


async def _authenticate(request: Request) -> Principal | None:
    header = request.headers.get("authorization", "")
    return TOKENS.get(header.removeprefix("Bearer ").strip())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(e2e_database: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from schema.app import create_app

    settings = Settings(profile=Profile.test, database_url=e2e_database["owner"],
                        app_database_url=e2e_database["app"], data_dir=tmp_path_factory.mktemp("e2e-data"))
    app = create_app(settings, authenticate=_authenticate)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           http="h11", ws="none", loop="asyncio", lifespan="on"))
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the dashboard server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser(chromium: tuple[str, str], tmp_path: Path) -> Iterator[object]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.fail("the browser test needs selenium: pip install -e '.[dev]'")
    binary, driver_path = chromium
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()
