"""Contract of ``RegistrySource`` (SIKS-NG)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from connectors.errors import Rejected
from connectors.ports import RegistryHousehold, RegistrySource
from tests.contract.conftest import Backend


async def pull_all(source: RegistrySource, **kw: object) -> tuple[list[RegistryHousehold], list[int]]:
    records: list[RegistryHousehold] = []
    numbers: list[int] = []
    cursor = None
    while True:
        page = await source.households(cursor=cursor, page_size=25, **kw)  # type: ignore[arg-type]
        numbers.append(page.number)
        records.extend(page.records)
        assert page.invalid == []
        cursor = page.next_cursor
        if cursor is None:
            return records, numbers


async def test_pages_cover_the_region_and_match_the_tallies(backend: Backend) -> None:
    source = backend.client("siks-ng")
    assert isinstance(source, RegistrySource)
    records, numbers = await pull_all(source, region="33.14")
    assert numbers == list(range(1, len(numbers) + 1))
    assert len({r.household_id for r in records}) == len(records) == backend.config.size
    lines: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in records:
        lines[r.village_code.rsplit(".", 1)[0]].append((r.household_id, r.version))
    expected = {d: (len(v), hashlib.sha256("\n".join(f"{k}:{ver}" for k, ver in sorted(v)).encode()).hexdigest())
                for d, v in lines.items()}
    tallies = await source.tallies(region="33.14")
    assert {t.region_code: (t.count, t.digest) for t in tallies} == expected
    await source.aclose()


async def test_records_are_translated_to_the_hub_vocabulary(backend: Backend) -> None:
    source = backend.client("siks-ng")
    page = await source.households(region="33.14.01", page_size=10)
    assert page.records
    for household in page.records:
        assert household.village_code.startswith("33.14.01.")
        assert household.decile is None or 1 <= household.decile <= 10
        assert household.members[0].relationship == "head"
        assert all(m.sex in ("M", "F") for m in household.members)
    await source.aclose()


async def test_updated_since_returns_only_newer_households(backend: Backend) -> None:
    source = backend.client("siks-ng")
    since = datetime(2026, 8, 1, tzinfo=UTC)
    records, _ = await pull_all(source, updated_since=since)
    expected = [h for h in backend.world.households if h.updated_at >= since]
    assert {r.household_id for r in records} == {h.household_id for h in expected}
    await source.aclose()


async def test_wrong_api_key_is_rejected(backend: Backend) -> None:
    source = backend.client("siks-ng", {"api_key": "wrong"})
    with pytest.raises(Rejected) as raised:
        await source.households()
    assert raised.value.status == 401
    await source.aclose()


async def test_a_household_deleted_at_the_source_arrives_as_a_removal(backend: Backend) -> None:
    source = backend.client("siks-ng")
    before = datetime.now(UTC)
    gone = backend.world.delete(3)
    try:
        removed = []
        cursor = None
        while True:
            page = await source.households(cursor=cursor, page_size=25, updated_since=before)
            assert page.records == []
            removed.extend(page.removed)
            cursor = page.next_cursor
            if cursor is None:
                break
        tallies = await source.tallies()
    finally:
        await source.aclose()
        for household in backend.world.households:
            household.deleted = False
        backend.world.reindex()
    assert sorted(r.key for r in removed) == sorted(gone)
    assert all(r.village_code and r.updated_at >= before for r in removed)
    assert sum(t.count for t in tallies) == backend.config.size - 3  # the tallies leave them out
