"""Row-level security and the application role, shared by every migration that adds a scoped table.

The API connects as ``slrt_app``: not a superuser, not the owner of any table, so the policies below
apply to it. ``FORCE`` makes them apply to the owner too (seeding and sync set the national scope
explicitly). The scope is read from the transaction-local setting ``slrt.scope`` written by
``hub.db.engine.set_scope``; unset means no rows, so a forgotten scope fails closed.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

from hub.config import APP_DB_ROLE

# The caller's regions, read once: policies call it inside a scalar sub-SELECT, which PostgreSQL plans
# as an InitPlan evaluated once per statement instead of once per row (``hub_scope_allows`` below,
# inlined into the policy, split the setting again for every row). An unset or empty setting gives an
# empty array, which matches no row: a forgotten scope still fails closed.
SCOPE_FUNCTION = """
CREATE OR REPLACE FUNCTION hub_scope() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_to_array(nullif(current_setting('slrt.scope', true), ''), ','), '{}'::text[])
$$;
"""
# Each level compared on its own, against the scope array computed once (five InitPlans, no array
# built per row): a regency's 356,000 persons scan in ~0.19 s against ~0.29 s for
# `ARRAY[...] && (SELECT hub_scope())` and ~0.35 s for the per-row function (0.1-0.13 s without any
# policy). The planner also estimates this OR at nearly every row, so the repository's own region
# filter supplies the real selectivity; a bare `array && $param` is estimated at 1 % of the rows and
# gave a district's profiles a 14 s nested loop. ``= ANY((SELECT ...)::text[])``: the cast makes the
# sub-SELECT a scalar array, not a set to compare against.
_SCOPE = "(SELECT hub_scope())::text[]"
POLICY_CHECK = (f"(SELECT '*' = ANY(hub_scope())) OR province_code::text = ANY({_SCOPE}) "
                f"OR regency_code::text = ANY({_SCOPE}) OR district_code::text = ANY({_SCOPE}) "
                f"OR village_code::text = ANY({_SCOPE})")

# The per-row form of revisions 0001-0006, kept so that revision 0007's downgrade can restore it.
LEGACY_SCOPE_FUNCTION = """
CREATE OR REPLACE FUNCTION hub_scope_allows(p text, r text, d text, v text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        string_to_array(nullif(current_setting('slrt.scope', true), ''), ',') && ARRAY['*', p, r, d, v],
        false)
$$;
"""
LEGACY_POLICY_CHECK = "hub_scope_allows(province_code, regency_code, district_code, village_code)"

# A constant role name, no caller input.
CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_DB_ROLE}') THEN
        CREATE ROLE {APP_DB_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
"""  # noqa: S608


def enable(tables: Iterable[str]) -> None:
    op.execute(CREATE_ROLE)
    create_functions()
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_DB_ROLE}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {APP_DB_ROLE}")
    for table in tables:
        op.execute(f"GRANT INSERT, UPDATE, DELETE ON {table} TO {APP_DB_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY region_scope ON {table} USING ({POLICY_CHECK}) WITH CHECK ({POLICY_CHECK})")


def create_functions() -> None:
    """Both scope functions: the policies of a database migrated before revision 0007 still name the
    per-row one until 0007 rewrites them, and 0007's downgrade names it again."""
    op.execute(SCOPE_FUNCTION)
    op.execute(LEGACY_SCOPE_FUNCTION)
    op.execute(f"GRANT EXECUTE ON FUNCTION hub_scope() TO {APP_DB_ROLE}")
    op.execute(f"GRANT EXECUTE ON FUNCTION hub_scope_allows(text, text, text, text) TO {APP_DB_ROLE}")


def rewrite_policies(check: str) -> None:
    """Give every table's region policy the expression ``check`` (a constant of this module)."""
    rows = op.get_bind().execute(sa.text(
        "SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'region_scope' "
        "ORDER BY tablename"))
    tables = [str(row[0]) for row in rows]
    for table in tables:
        op.execute(f'ALTER POLICY region_scope ON "{table}" USING ({check}) WITH CHECK ({check})')


def grant_writes(tables: Iterable[str]) -> None:
    for table in tables:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_DB_ROLE}")


def disable(tables: Iterable[str]) -> None:
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS region_scope ON {table}")
    op.execute("DROP FUNCTION IF EXISTS hub_scope_allows(text, text, text, text)")
    op.execute("DROP FUNCTION IF EXISTS hub_scope()")
    # The role is cluster-wide and may serve other databases: it is left in place.
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_DB_ROLE}")
