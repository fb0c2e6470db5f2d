from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.config import APP_DB_ROLE
from hub.db.embedded import ensure_database
from hub.db.migrate import downgrade, head_revision, upgrade

TABLES = text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
POLICIES = text("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'")


@asynccontextmanager
async def scratch_database(database_urls: dict[str, str]) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A new, empty database for one test (its URL and an engine on it), dropped afterwards."""
    name = f"slrt_migr_{secrets.token_hex(3)}"
    url = await ensure_database(database_urls["server"], name)
    engine = create_async_engine(url)
    try:
        yield url, engine
    finally:
        await engine.dispose()
        admin = create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_upgrade_downgrade_upgrade_on_an_empty_database(database_urls: dict[str, str]) -> None:
    async with scratch_database(database_urls) as (url, engine):
        await asyncio.to_thread(upgrade, url)
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
            assert await conn.scalar(TABLES) >= 15
            assert await conn.scalar(POLICIES) >= 11

        await asyncio.to_thread(downgrade, url, "base")
        async with engine.connect() as conn:
            assert await conn.scalar(TABLES) == 0
            assert await conn.scalar(POLICIES) == 0

        await asyncio.to_thread(upgrade, url)
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()


POLICY_TEXT = text("SELECT DISTINCT qual || ' / ' || with_check FROM pg_policies "
                   "WHERE schemaname = 'public' AND policyname = 'region_scope'")


async def test_revision_0007_up_and_down(database_urls: dict[str, str]) -> None:
    """0007 rewrites every region policy to read the scope once per statement, adds the birth-date
    index and the access log's kind; its downgrade restores 0006 exactly (the per-row policies)."""
    columns = text("SELECT count(*) FROM information_schema.columns "
                   "WHERE table_name = 'access_logs' AND column_name = 'kind'")
    function = text("SELECT count(*) FROM pg_proc WHERE proname = 'hub_scope'")
    index = text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_persons_birth_date'")
    async with scratch_database(database_urls) as (url, engine):
        await asyncio.to_thread(upgrade, url, "0007")
        async with engine.connect() as conn:
            [policy] = (await conn.execute(POLICY_TEXT)).scalars().all()  # one expression on every table
            assert "SELECT hub_scope()" in policy
            assert (await conn.scalar(columns), await conn.scalar(function), await conn.scalar(index)) == (1, 1, 1)

        await asyncio.to_thread(downgrade, url, "0006")
        async with engine.connect() as conn:
            [policy] = (await conn.execute(POLICY_TEXT)).scalars().all()
            assert policy.startswith("hub_scope_allows(")
            assert (await conn.scalar(columns), await conn.scalar(function), await conn.scalar(index)) == (0, 0, 0)
            assert await conn.scalar(POLICIES) >= 11

        await asyncio.to_thread(upgrade, url, "0007")
        async with engine.connect() as conn:
            assert "SELECT hub_scope()" in (await conn.execute(POLICY_TEXT)).scalars().one()


async def test_revision_0009_up_and_down(database_urls: dict[str, str]) -> None:
    """0009 adds the five analytics summary tables, each with row-level security forced and the region
    policy; its downgrade removes them and leaves 0008."""
    forced = text("SELECT count(*) FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname "
                  "WHERE c.relname LIKE 'analytics_summary_%' AND c.relforcerowsecurity "
                  "AND p.policyname = 'region_scope'")
    async with scratch_database(database_urls) as (url, engine):
        await asyncio.to_thread(upgrade, url, "0009")
        async with engine.connect() as conn:
            assert await conn.scalar(forced) == 5
            policies = await conn.scalar(POLICIES)

        await asyncio.to_thread(downgrade, url, "0008")
        async with engine.connect() as conn:
            assert await conn.scalar(forced) == 0
            assert await conn.scalar(POLICIES) == policies - 5
            assert "SELECT hub_scope()" in (await conn.execute(POLICY_TEXT)).scalars().one()

        await asyncio.to_thread(upgrade, url, "0009")
        async with engine.connect() as conn:
            assert await conn.scalar(forced) == 5


async def test_revision_0010_adds_and_drops_the_list_indexes(database_urls: dict[str, str]) -> None:
    """0010: the keyset-paging indexes of the quarantine and outbox connections; its downgrade drops them."""
    indexes = text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
                   "('ix_quarantine_connector_created', 'ix_outbox_created') ORDER BY indexname")
    async with scratch_database(database_urls) as (url, engine):
        await asyncio.to_thread(upgrade, url, "0010")
        async with engine.connect() as conn:
            found = {row.indexname: row.indexdef for row in await conn.execute(indexes)}
        assert sorted(found) == ["ix_outbox_created", "ix_quarantine_connector_created"]
        assert found["ix_quarantine_connector_created"].endswith("(connector_id, created_at, id)")
        assert found["ix_outbox_created"].endswith("(created_at, id)")

        await asyncio.to_thread(downgrade, url, "0009")
        async with engine.connect() as conn:
            assert (await conn.execute(indexes)).all() == []

        await asyncio.to_thread(upgrade, url, "0010")
        async with engine.connect() as conn:
            assert len((await conn.execute(indexes)).all()) == 2


async def test_revision_0011_turns_the_access_log_gin_pending_list_off(database_urls: dict[str, str]) -> None:
    """0011: both GIN indexes of the access log without fastupdate; its downgrade restores the default."""
    options = text("SELECT relname, reloptions FROM pg_class WHERE relname IN "
                   "('ix_access_logs_person_ids', 'ix_access_logs_household_ids') ORDER BY relname")
    async with scratch_database(database_urls) as (url, engine):
        await asyncio.to_thread(upgrade, url, "0011")
        async with engine.connect() as conn:
            assert [tuple(r) for r in await conn.execute(options)] == [
                ("ix_access_logs_household_ids", ["fastupdate=off"]), ("ix_access_logs_person_ids", ["fastupdate=off"])]

        await asyncio.to_thread(downgrade, url, "0010")
        async with engine.connect() as conn:
            assert [tuple(r) for r in await conn.execute(options)] == [
                ("ix_access_logs_household_ids", None), ("ix_access_logs_person_ids", None)]


async def test_revision_0012_adds_the_page_order_indexes(database_urls: dict[str, str]) -> None:
    """0012: a programme's enrolments and a region's households are paged off an index in page order; its
    downgrade restores the indexes it replaced."""
    indexes = text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('enrolments', 'households') "
                   "AND (indexname LIKE 'ix_enrolments_programme%' OR indexname LIKE 'ix_households_%_updated') "
                   "ORDER BY indexname")
    async with scratch_database(database_urls) as (url, engine):
        await asyncio.to_thread(upgrade, url, "0012")
        async with engine.connect() as conn:
            found = {row.indexname: row.indexdef.partition(" USING btree ")[2] for row in await conn.execute(indexes)}
        assert found == {"ix_enrolments_programme_page": "(programme_id, id)",
                         "ix_enrolments_programme_status": "(programme_id, status, id)",
                         "ix_households_district_updated": "(district_code, updated_at, id)",
                         "ix_households_village_updated": "(village_code, updated_at, id)"}

        await asyncio.to_thread(downgrade, url, "0011")
        async with engine.connect() as conn:
            found = {row.indexname: row.indexdef.partition(" USING btree ")[2] for row in await conn.execute(indexes)}
        assert found == {"ix_enrolments_programme_id": "(programme_id)",
                         "ix_enrolments_programme_status": "(programme_id, status)"}


async def test_revision_0013_turns_the_pending_list_on_with_a_merge_the_app_may_run(
        database_urls: dict[str, str]) -> None:
    """0013: both GIN indexes of the access log with fastupdate on, and a merge function only the app role
    (besides the owner) may execute; its downgrade restores 0011's settings and drops the function."""
    options = text("SELECT relname, reloptions FROM pg_class WHERE relname IN "
                   "('ix_access_logs_person_ids', 'ix_access_logs_household_ids') ORDER BY relname")
    grantees = text("SELECT array_agg(DISTINCT grantee::regrole::text ORDER BY grantee::regrole::text) "
                    "FROM pg_proc, aclexplode(proacl) WHERE proname = 'hub_access_logs_merge_pending' "
                    "AND privilege_type = 'EXECUTE' AND grantee <> proowner")
    async with scratch_database(database_urls) as (url, engine):
        await asyncio.to_thread(upgrade, url, "0013")
        async with engine.connect() as conn:
            assert [tuple(r) for r in await conn.execute(options)] == [
                ("ix_access_logs_household_ids", ["fastupdate=on"]), ("ix_access_logs_person_ids", ["fastupdate=on"])]
            assert await conn.scalar(grantees) == [APP_DB_ROLE]  # not PUBLIC
            assert await conn.scalar(text("SELECT hub_access_logs_merge_pending()")) == 0

        await asyncio.to_thread(downgrade, url, "0012")
        async with engine.connect() as conn:
            assert [tuple(r) for r in await conn.execute(options)] == [
                ("ix_access_logs_household_ids", ["fastupdate=off"]), ("ix_access_logs_person_ids", ["fastupdate=off"])]
            assert await conn.scalar(text(
                "SELECT count(*) FROM pg_proc WHERE proname = 'hub_access_logs_merge_pending'")) == 0
