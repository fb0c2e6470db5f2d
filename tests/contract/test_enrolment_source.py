"""Contract of ``EnrolmentSource`` (PIP/KIP, PBI-JK, Baznas mustahik): one suite, three systems."""

from __future__ import annotations

import pytest

from connectors.ports import EnrolmentRecord, EnrolmentSource, EnrolmentStatus
from tests.contract.conftest import Backend

SOURCES = {"education": "education", "health": "health", "baznas": "mustahik"}


async def pull_all(source: EnrolmentSource, region: str) -> list[EnrolmentRecord]:
    records: list[EnrolmentRecord] = []
    cursor = None
    expected_page = 1
    while True:
        page = await source.enrolments(cursor=cursor, region=region, period="2026", page_size=20)
        assert page.number == expected_page
        assert page.invalid == []
        records.extend(page.records)
        cursor, expected_page = page.next_cursor, expected_page + 1
        if cursor is None:
            return records


@pytest.mark.parametrize("system", sorted(SOURCES))
async def test_pages_cover_the_list_in_hub_vocabulary(backend: Backend, system: str) -> None:
    source = backend.client(system)
    assert isinstance(source, EnrolmentSource)
    records = await pull_all(source, "33.14")
    rows = getattr(backend.world, SOURCES[system])
    assert sorted(r.record_id for r in records) == sorted(r.record_id for r in rows)
    assert {r.status for r in records} <= set(EnrolmentStatus)
    assert all(r.village_code.startswith("33.14.") and r.period_start is not None for r in records)
    await source.aclose()


@pytest.mark.parametrize("system", ["education", "health"])
async def test_lists_disagree_with_the_registry(backend: Backend, system: str) -> None:
    """Inclusion errors exist: some listed NIKs are not in the registry at all."""
    source = backend.client(system)
    records = await pull_all(source, "33.14")
    registry = {p.nik for h in backend.world.households for p in h.members}
    assert any(r.nik not in registry for r in records)
    await source.aclose()


async def test_region_filter_narrows_the_list(backend: Backend) -> None:
    source = backend.client("health")
    records = await pull_all(source, "33.14.02")
    assert records
    assert all(r.village_code.startswith("33.14.02.") for r in records)
    await source.aclose()
