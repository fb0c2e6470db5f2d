"""The dashboard in headless Chromium: sign in, choose a region and programmes, and check that every
chart and table shows the figures the SQL computes (the oracle: ``hub.analytics.service`` on the
same database and principal), the drill-down list, the CSV export and small-cell protection."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.principal import Principal
from hub.analytics import service as analytics
from hub.db.engine import make_sessionmaker, set_scope
from tests.dashboard.conftest import TOKENS
from tests.hub.analytics.population import VILLAGE_A

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
TIMEOUT = 30


async def oracle(engine: AsyncEngine, principal: Principal, region: str | None = None) -> analytics.Dashboard:
    async with engine.connect() as conn, make_sessionmaker(conn)() as session:
        await set_scope(session, principal)
        # Live, always: the manager's page reads the summary (conftest rebuilds it), which must agree.
        return await analytics.build_dashboard(session, principal, threshold=5, region_code=region,
                                               programme_codes=["BAZNAS", "BPNT", "PIP", "PKH"], use_summary=False)


def wait_for(driver: Any, condition: str, timeout: float = TIMEOUT) -> None:
    """Wait until the JavaScript expression ``condition`` is true."""
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"return Boolean({condition})"):
        if time.monotonic() > deadline:
            state = driver.execute_script("return document.body.dataset.state")
            status = driver.execute_script("return (document.getElementById('status')||{}).textContent")
            pytest.fail(f"timed out waiting for {condition} (state={state!r}, status={status!r})")
        time.sleep(0.1)


def wait_for_file(path: Path, timeout: float = TIMEOUT) -> Path:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path.name} was not downloaded")
        time.sleep(0.1)
    return path


def table(driver: Any, table_id: str) -> list[dict[str, str]]:
    """The rows of a rendered table as {column key: data-value}."""
    rows: list[dict[str, str]] = driver.execute_script(
        """return [...document.querySelectorAll(`#${arguments[0]} tbody tr`)].map(tr =>
             Object.fromEntries([...tr.querySelectorAll('td')].map(td =>
               [td.dataset.col, td.dataset.value === undefined ? td.textContent : td.dataset.value])));""",
        table_id)
    return rows


def released(value: int | float | None) -> str:
    return "" if value is None else str(value)


def chart_data(driver: Any, canvas_id: str) -> dict[str, Any]:
    data: dict[str, Any] = driver.execute_script(
        """const c = Chart.getChart(arguments[0]);
           return c && {labels: c.data.labels, datasets: c.data.datasets.map(d => ({label: d.label, data: d.data})),
                        drawn: c.getDatasetMeta(0).data.length};""", canvas_id)
    return data


def sign_in(driver: Any, server: str, token: str) -> None:
    driver.get(f"{server}/dashboard")
    wait_for(driver, "document.body.dataset.state === 'signed-out'")
    driver.find_element("id", "token").send_keys(token)
    driver.find_element("id", "sign-in-button").click()
    wait_for(driver, "document.body.dataset.state === 'ready'")


def check_against_oracle(driver: Any, d: analytics.Dashboard) -> None:
    coverage = {(r["programmeCode"], r["decileLabel"]): r for r in table(driver, "coverage-table")}
    assert len(coverage) == len(d.coverage) == 44
    for c in d.coverage:
        row = coverage[(c.programme_code, "Not in registry" if c.decile == 0 else f"D{c.decile}")]
        assert [row[k] for k in ("registryHouseholds", "eligibleHouseholds", "enrolledHouseholds",
                                 "enrolledPersons")] == [
            released(c.registry_households), released(c.eligible_households), released(c.enrolled_households),
            released(c.enrolled_persons)], (c.programme_code, c.decile)

    chart = chart_data(driver, "coverage-chart")
    assert chart["labels"] == [f"D{i}" for i in range(1, 11)] + ["Not in registry"]
    assert chart["drawn"] == 11
    for dataset, code in zip(chart["datasets"], ["BAZNAS", "BPNT", "PIP", "PKH"], strict=False):
        assert dataset["label"] == f"{code} enrolled"
        by_decile = {c.decile: c.enrolled_households for c in d.coverage if c.programme_code == code}
        assert dataset["data"] == [by_decile[k] for k in [*range(1, 11), 0]]

    assert d.overlap is not None
    shown = {r["combination"]: r["households"] for r in table(driver, "overlap-table")}
    expected = {" + ".join(c.programmes): released(c.households) for c in d.overlap.cells
                if c.programmes and c.households != 0}
    assert shown == expected
    upset = chart_data(driver, "overlap-chart")
    assert dict(zip(upset["labels"], upset["datasets"][0]["data"], strict=True)) == {
        k: (int(v) if v else None) for k, v in expected.items()}

    targeting = {r["programmeCode"]: r for r in table(driver, "targeting-table")}
    for t in d.targeting:
        row = targeting[t.programme_code]
        assert (row["exclusion"], row["inclusionOutsideBand"], row["inclusionNotInRegistry"]) == (
            released(t.exclusion) if t.band_applies else "n/a", released(t.inclusion_outside_band),
            released(t.inclusion_not_in_registry))

    profiles = {(r["sex"], r["ageGroup"], r["hasDisability"]): r for r in table(driver, "profiles-table")}
    assert {(p.sex, p.age_group, str(p.has_disability).lower()): (released(p.persons), released(p.enrolled),
                                                                   released(p.with_need)) for p in d.profiles} == {
        k: (r["persons"], r["enrolled"], r["withNeed"]) for k, r in profiles.items()}

    assert d.workflow is not None
    sla = {r["districtCode"]: (r["cases"], r["open"], r["overdue"]) for r in table(driver, "sla-table")}
    assert sla == {s.district_code: (released(s.cases), released(s.open), released(s.overdue))
                   for s in d.workflow.case_sla}
    assert chart_data(driver, "sla-chart")["drawn"] == len(d.workflow.case_sla)


async def test_manager_dashboard_in_chromium(browser: Any, live_server: str, e2e_engine: AsyncEngine,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    manager = TOKENS["e2e-manager"]
    sign_in(browser, live_server, "e2e-manager")
    assert browser.find_element("id", "protection").is_displayed() is False
    assert browser.find_element("id", "sign-in").is_displayed() is False
    whole = await oracle(e2e_engine, manager)
    check_against_oracle(browser, whole)
    # The regency's figures came from the summary, and the page says how old it is.
    assert "as of" in browser.find_element("id", "as-of").text
    # Exact hand-derived figures on top of the oracle (population.py): PKH decile 1 enrolled 3 of 10.
    row = next(r for r in table(browser, "coverage-table") if r["programmeCode"] == "PKH" and r["decileLabel"] == "D1")
    assert (row["registryHouseholds"], row["enrolledHouseholds"], row["coverageRate"]) == ("10", "3", "0.3")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "dashboard-manager.png"
    browser.save_screenshot(str(shot))
    with capsys.disabled():
        print(f"\ndashboard screenshot: {shot}")
    assert shot.stat().st_size > 10_000

    # Drill down: PIP households enrolled but not found in the registry.
    browser.find_element("css selector", "button[data-programme='PIP'][data-kind='NOT_IN_REGISTRY']").click()
    wait_for(browser, "document.querySelectorAll('#flags-table tbody tr').length === 1")
    (flag,) = table(browser, "flags-table")
    assert (flag["headName"], flag["kind"], flag["decile"]) == ("Joko Susilo", "not in registry", "")

    # CSV export of a table: the file holds the same rows the page shows.
    browser.find_element("css selector", "button[data-csv='targeting-table']").click()
    target = wait_for_file(browser.downloads / "slrt-targeting.csv")
    with target.open(newline="") as f:
        exported = list(csv.DictReader(f))
    assert [(r["Programme"], r["Exclusion"], r["Not in registry"]) for r in exported] == [
        (t.programme_code, released(t.exclusion) if t.band_applies else "n/a", released(t.inclusion_not_in_registry))
        for t in whole.targeting]

    # Choose village A through the region chain: regency -> district -> village.
    for depth, code in enumerate(["33.14", "33.14.01", VILLAGE_A]):
        wait_for(browser, f"document.querySelector('#region-chain select[data-depth=\"{depth}\"] "
                          f"option[value=\"{code}\"]')")
        browser.execute_script(
            "const s = document.querySelector(`#region-chain select[data-depth=\"${arguments[0]}\"]`);"
            "s.value = arguments[1]; s.dispatchEvent(new Event('change'));", depth, code)
    browser.find_element("id", "load").click()
    wait_for(browser, "document.body.dataset.state === 'ready' && "
                      "document.getElementById('region-label').textContent.includes('Keden')")
    check_against_oracle(browser, await oracle(e2e_engine, manager, VILLAGE_A))


async def test_facilitator_sees_protected_figures(browser: Any, live_server: str, e2e_engine: AsyncEngine,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sign_in(browser, live_server, "e2e-facilitator")
    assert browser.find_element("id", "protection").is_displayed()
    d = await oracle(e2e_engine, TOKENS["e2e-facilitator"])
    assert d.protection.applied
    check_against_oracle(browser, d)
    assert browser.find_element("id", "as-of").text == "All figures computed live."
    withheld = browser.find_elements("css selector", "#coverage-table td.withheld")
    assert withheld
    assert {td.get_attribute("textContent") for td in withheld} == {"<5"}
    browser.find_element("css selector", "button[data-programme='PKH'][data-kind='EXCLUSION']").click()
    wait_for(browser, "document.getElementById('flags-note').textContent.includes('managers')")
    assert table(browser, "flags-table") == []
    shot = SCREENSHOTS / "dashboard-facilitator.png"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shot))
    with capsys.disabled():
        print(f"\ndashboard screenshot (facilitator): {shot}")


async def test_bad_token_is_refused(browser: Any, live_server: str) -> None:
    browser.get(f"{live_server}/dashboard")
    wait_for(browser, "document.body.dataset.state === 'signed-out'")
    browser.find_element("id", "token").send_keys("not-a-token")
    browser.find_element("id", "sign-in-button").click()
    wait_for(browser, "document.getElementById('sign-in-error').textContent.length > 0")
    assert browser.find_element("id", "sign-in-error").text == "This token was not accepted."
    assert not browser.find_element("id", "main").is_displayed()
