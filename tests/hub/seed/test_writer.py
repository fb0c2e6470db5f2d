"""Writing the synthetic population into PostgreSQL with COPY, as the owner, in a rolled-back transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.config import APP_DB_ROLE
from hub.seed.population import PROGRAMMES, Population
from hub.seed.writer import TABLES, AlreadySeeded, count_synthetic, row_counts, write_population


@pytest.fixture
async def owner_connection(owner_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    # The seed is a CLI job run by the owner; RLS is forced for it too, the writer sets the scope.
    async with owner_engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


async def _table_counts(conn: AsyncConnection) -> dict[str, int]:
    await conn.execute(text("SELECT set_config('slrt.scope', '*', true)"))
    counts = {}
    for table in TABLES:
        counts[table] = int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
    return counts


@pytest.mark.parametrize("role", [None, APP_DB_ROLE], ids=["superuser-copy", "rls-role-staging"])
async def test_row_counts_match_the_stream(owner_connection: AsyncConnection, role: str | None) -> None:
    if role is not None:
        # A role under row-level security may not COPY into the tables (PostgreSQL refuses);
        # the writer notices and goes through temporary tables, with the policies checked.
        await owner_connection.execute(text(f"SET LOCAL ROLE {role}"))
    population = Population(21)
    expected = row_counts(population.households(0, 150))
    progress: list[tuple[int, int]] = []

    result = await write_population(owner_connection, population, 150, batch_size=40,
                                    progress=lambda h, p: progress.append((h, p)))

    assert result.rows == expected
    assert await _table_counts(owner_connection) == expected
    assert [h for h, _ in progress] == [40, 80, 120, 150]
    assert progress[-1][1] == expected["persons"]
    provenance = await owner_connection.execute(text(
        "SELECT count(*) FILTER (WHERE source_system = 'synthetic' AND source_record_id LIKE '21:%'), count(*) "
        "FROM persons"
    ))
    synthetic, total = provenance.one()
    assert synthetic == total == expected["persons"]


async def test_invalid_and_duplicate_niks_flagged_across_batches(owner_connection: AsyncConnection) -> None:
    population = Population(11)
    n = 600
    stream = list(population.households(0, n))
    invalid = {p.id for h in stream for p in h.persons if p.nik_defect in {"length", "letter", "date"}}
    copies = [(p, h.index) for h in stream for p in h.persons if p.nik_defect == "duplicate"]
    assert invalid
    assert copies
    heads = {h.persons[0].nik: h.persons[0].id for h in stream}

    # Batches of 50: a copy and the head it copies are usually written by different COPYs.
    result = await write_population(owner_connection, population, n, batch_size=50)

    rows = (await owner_connection.execute(text(
        "SELECT id, nik, nik_valid, nik_flags FROM persons WHERE source_system = 'synthetic'"
    ))).all()
    by_id = {r.id: r for r in rows}
    assert {r.id for r in rows if not r.nik_valid} == invalid
    assert all(by_id[i].nik_flags for i in invalid)  # the reason is kept, the row is kept
    assert result.invalid_niks == len(invalid)

    duplicated = {r.id for r in rows if "duplicate" in r.nik_flags}
    expected = {p.id for p, _ in copies} | {heads[p.nik] for p, _ in copies}
    assert expected <= duplicated
    nik_count: dict[str, int] = {}
    for r in rows:
        nik_count[r.nik] = nik_count.get(r.nik, 0) + 1
    assert all(nik_count[by_id[i].nik] > 1 for i in duplicated)
    assert all(nik_count[r.nik] == 1 for r in rows if r.id not in duplicated)
    assert result.duplicate_niks == len(duplicated)


async def test_enrolments_in_band_in_the_database(owner_connection: AsyncConnection) -> None:
    await write_population(owner_connection, Population(3), 400)
    rows = (await owner_connection.execute(text(
        "SELECT p.code, count(*) FILTER (WHERE h.decile BETWEEN p.decile_min AND p.decile_max), count(*) "
        "FROM enrolments e JOIN programmes p ON p.id = e.programme_id JOIN households h ON h.id = e.household_id "
        "GROUP BY p.code"
    ))).all()
    assert {code for code, _, _ in rows} == {p.code for p in PROGRAMMES}
    in_band = sum(r[1] for r in rows)
    total = sum(r[2] for r in rows)
    assert 0.9 < in_band / total < 0.99
    baznas = (await owner_connection.execute(text(
        "SELECT pa.code FROM programmes p JOIN partners pa ON pa.id = p.partner_id WHERE p.code = 'BAZNAS-ZAKAT'"
    ))).scalar_one()
    assert baznas == "BAZNAS"


async def test_seeding_twice_refuses_then_resets(owner_connection: AsyncConnection) -> None:
    first = Population(1)
    await write_population(owner_connection, first, 60)
    before = await _table_counts(owner_connection)

    with pytest.raises(AlreadySeeded) as refused:
        await write_population(owner_connection, first, 60)
    assert refused.value.code == "CONFLICT"
    assert refused.value.households == 60
    assert await _table_counts(owner_connection) == before  # nothing written, nothing duplicated

    second = Population(2)
    result = await write_population(owner_connection, second, 45, reset=True)
    assert result.deleted_households == 60
    assert await _table_counts(owner_connection) == row_counts(second.households(0, 45))
    assert await count_synthetic(owner_connection) == 45
    catalogue = await owner_connection.execute(text("SELECT count(*) FROM programmes"))
    assert catalogue.scalar_one() == len(PROGRAMMES)  # upserted, not duplicated


async def test_zero_households_writes_only_the_catalogue(owner_connection: AsyncConnection) -> None:
    result = await write_population(owner_connection, Population(1), 0)
    assert result.rows == dict.fromkeys(TABLES, 0)
    assert await _table_counts(owner_connection) == dict.fromkeys(TABLES, 0)
    codes = (await owner_connection.execute(text("SELECT code FROM programmes ORDER BY code"))).scalars().all()
    assert codes == sorted(p.code for p in PROGRAMMES)
