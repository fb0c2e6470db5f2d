"""Row-level security and the application role, shared by every migration that adds a scoped table.

The API connects as ``slrt_app``: not a superuser, not the owner of any table, so the policies below
apply to it. ``FORCE`` makes them apply to the owner too (seeding and sync set the national scope
explicitly). The scope is read from the transaction-local setting ``slrt.scope`` written by
``hub.db.engine.set_scope``; unset means no rows, so a forgotten scope fails closed.
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op

from hub.config import APP_DB_ROLE

# One expression, no FROM: PostgreSQL inlines it into each policy, so it costs an array overlap per row.
SCOPE_FUNCTION = """
CREATE OR REPLACE FUNCTION hub_scope_allows(p text, r text, d text, v text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        string_to_array(nullif(current_setting('slrt.scope', true), ''), ',') && ARRAY['*', p, r, d, v],
        false)
$$;
"""

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
    op.execute(SCOPE_FUNCTION)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_DB_ROLE}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {APP_DB_ROLE}")
    op.execute(f"GRANT EXECUTE ON FUNCTION hub_scope_allows(text, text, text, text) TO {APP_DB_ROLE}")
    for table in tables:
        op.execute(f"GRANT INSERT, UPDATE, DELETE ON {table} TO {APP_DB_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY region_scope ON {table} "
            "USING (hub_scope_allows(province_code, regency_code, district_code, village_code)) "
            "WITH CHECK (hub_scope_allows(province_code, regency_code, district_code, village_code))"
        )


def grant_writes(tables: Iterable[str]) -> None:
    for table in tables:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_DB_ROLE}")


def disable(tables: Iterable[str]) -> None:
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS region_scope ON {table}")
    op.execute("DROP FUNCTION IF EXISTS hub_scope_allows(text, text, text, text)")
    # The role is cluster-wide and may serve other databases: it is left in place.
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_DB_ROLE}")
