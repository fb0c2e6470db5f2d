"""access log: GIN indexes on person and household ids without a pending list (fastupdate off)

With fastupdate on (PostgreSQL's default) new entries go to a pending list, and the insert that fills
it (gin_pending_list_limit, 4 MB) merges the whole list into the index before it returns. The access
log is written by one group-commit writer that every personal read waits for, so that one insert
stalled every request in flight: measured ~170-260 ms, every few seconds, under benchmarks.api's
households query (each entry lists 200 ids). Without the pending list each entry pays for its own
index insertions, a little more per entry and no stalls.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 06:30:00
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

INDEXES = ('ix_access_logs_person_ids', 'ix_access_logs_household_ids')


def upgrade() -> None:
    for name in INDEXES:
        op.execute(f'ALTER INDEX {name} SET (fastupdate = off)')
        # What is already pending stays pending until merged: merge it now, not in some later insert.
        op.execute(f"SELECT gin_clean_pending_list('{name}'::regclass)")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f'ALTER INDEX {name} RESET (fastupdate)')
