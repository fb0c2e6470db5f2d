"""access log: GIN pending list back on, merged in the background by a function the app may call

0011 turned the pending list off because whichever insert filled it (4 MB) merged it inline, stalling
every request waiting on the access log. Without it each entry pays for its own index insertions
inside the request's wait: measured on benchmarks.api's database, ~0.55 ms of server CPU per entry of
200 ids (1.33 ms with the machine busy), against ~0.08 ms (0.17 ms) to append the entry to the pending
list and, merged in bulk later, about a quarter less in all.

So the pending list is back on, and the app's access-log writer merges it itself, in the background,
every few hundred entries (``hub.audit.writer``): requests only ever append, and the list never grows
near the size at which an insert would merge it. ``gin_clean_pending_list`` needs the index's owner;
``hub_access_logs_merge_pending()`` runs it as the owner for the two access-log indexes and nothing
else, and only the app role may call it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 08:30:00
"""
from alembic import op

from hub.config import APP_DB_ROLE

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

INDEXES = ('ix_access_logs_person_ids', 'ix_access_logs_household_ids')

MERGE_FUNCTION = """
CREATE FUNCTION hub_access_logs_merge_pending() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT gin_clean_pending_list('public.ix_access_logs_person_ids'::regclass)
         + gin_clean_pending_list('public.ix_access_logs_household_ids'::regclass)
$$"""


def upgrade() -> None:
    for name in INDEXES:
        op.execute(f'ALTER INDEX {name} SET (fastupdate = on)')
    op.execute(MERGE_FUNCTION)
    op.execute('REVOKE ALL ON FUNCTION hub_access_logs_merge_pending() FROM PUBLIC')
    op.execute(f'GRANT EXECUTE ON FUNCTION hub_access_logs_merge_pending() TO {APP_DB_ROLE}')


def downgrade() -> None:
    op.execute('DROP FUNCTION hub_access_logs_merge_pending()')
    for name in INDEXES:
        op.execute(f'ALTER INDEX {name} SET (fastupdate = off)')
        op.execute(f"SELECT gin_clean_pending_list('{name}'::regclass)")
