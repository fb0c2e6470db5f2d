"""Packaged Kemendagri region hierarchy (idn-area-data 4.x, Kepmendagri 2025) and its loader.

The DB-backed tests rely on the ``session`` fixture: an ``AsyncSession`` inside a transaction
that is rolled back, against a database whose ``regions`` table the session-wide setup loaded.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.regions.loader import iter_regions, load_regions

EXPECTED_COUNTS = {1: 38, 2: 514, 3: 7285, 4: 83762}

# (code, name, level, parent_code) exactly as published in idn-area-data 4.0.1.
SAMPLES = [
    ("33", "Jawa Tengah", 1, None),
    ("33.14", "Kabupaten Sragen", 2, "33"),
    ("33.14.01", "Kalijambe", 3, "33.14"),
    ("33.14.01.2001", "Keden", 4, "33.14.01"),
    ("31", "Daerah Khusus Ibukota Jakarta", 1, None),
    ("35.29.22", 'Ra"as', 3, "35.29"),  # quoted CSV field survives the round trip
    ("12.07.28.1007", "Lubuk Pakam I,II", 4, "12.07.28"),
]

COUNTS_SQL = text("SELECT level, count(*) FROM regions GROUP BY level")


async def _counts(session: AsyncSession) -> dict[int, int]:
    result = await session.execute(COUNTS_SQL)
    return {int(level): int(count) for level, count in result}


# --- packaged data, no database -------------------------------------------------------------


def test_iter_regions_counts() -> None:
    assert Counter(level for _, _, level, _ in iter_regions()) == EXPECTED_COUNTS


def test_iter_regions_hierarchy() -> None:
    rows = list(iter_regions())
    codes = [code for code, _, _, _ in rows]
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes)
    levels = {code: level for code, _, level, _ in rows}
    for code, name, level, parent in rows:
        assert name, code
        assert name == name.strip(), code
        assert len(code) <= 13, code
        assert code.count(".") == level - 1, code
        if level == 1:
            assert parent is None, code
        else:
            assert parent is not None, code
            assert code.startswith(parent + "."), code
            assert levels[parent] == level - 1, code
    assert set(SAMPLES) <= set(rows)


# --- loaded table ---------------------------------------------------------------------------


async def test_level_counts(session: AsyncSession) -> None:
    assert await _counts(session) == EXPECTED_COUNTS


async def test_parents_are_one_level_up_and_prefix_the_code(session: AsyncSession) -> None:
    bad_children = await session.scalar(
        text(
            "SELECT count(*) FROM regions c LEFT JOIN regions p ON p.code = c.parent_code "
            "WHERE c.level > 1 AND (p.code IS NULL OR p.level <> c.level - 1 "
            "OR left(c.code, length(p.code) + 1) <> p.code || '.')"
        )
    )
    assert bad_children == 0
    provinces_with_parent = await session.scalar(
        text("SELECT count(*) FROM regions WHERE level = 1 AND parent_code IS NOT NULL")
    )
    assert provinces_with_parent == 0


async def test_known_regions(session: AsyncSession) -> None:
    result = await session.execute(
        text("SELECT code, name, level, parent_code FROM regions WHERE code = ANY(:codes)"),
        {"codes": [code for code, _, _, _ in SAMPLES]},
    )
    found = {(code, name, int(level), parent) for code, name, level, parent in result}
    assert found == set(SAMPLES)


async def test_table_matches_packaged_data(session: AsyncSession) -> None:
    result = await session.execute(text("SELECT code, name, level, parent_code FROM regions"))
    in_table = {(code, name, int(level), parent) for code, name, level, parent in result}
    assert in_table == set(iter_regions())


async def test_load_regions_is_idempotent(owner_session: AsyncSession) -> None:
    session = owner_session
    # xmin changes whenever a row is rewritten, so an unchanged fingerprint proves that
    # re-loading identical data updates nothing.
    fingerprint_sql = text(
        "SELECT md5(string_agg(code || ':' || xmin::text, ',' ORDER BY code)) FROM regions"
    )
    before = await session.scalar(fingerprint_sql)

    conn = await session.connection()
    assert await load_regions(conn) == EXPECTED_COUNTS
    assert await load_regions(conn) == EXPECTED_COUNTS  # twice in one transaction is fine too

    assert await _counts(session) == EXPECTED_COUNTS
    assert await session.scalar(fingerprint_sql) == before
