"""page-order indexes: a programme's enrolments by id, a village's or district's households by last change

A programme's enrolments are paged in id order. With only ``(programme_id)`` and ``(programme_id,
status)`` to choose from, PostgreSQL read the primary key in id order and filtered by programme:
for a programme holding 1 % of the enrolments of benchmarks.api's population (100,000 households)
a page of 100 took ~51 ms (16,379 rows read and thrown away); it grows with the table.
``(programme_id, id)`` and ``(programme_id, status, id)`` make a page a range of an index.
``(programme_id)`` alone is then a prefix of the first, so it goes.

The household list's default order is newest change first. Filtered to a village, PostgreSQL
fetched all of the village's households (~480 here) and sorted them for every page; filtered to a
district, ten times that. ``(village_code, updated_at, id)`` and ``(district_code, updated_at, id)``
give the page in order (read backwards for the descending order).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 07:45:00
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


# Built CONCURRENTLY, outside the migration's transaction: on a national registry these tables hold tens
# of millions of rows, and a plain CREATE INDEX would block every write to them while it builds. The
# status index is rebuilt under a new name and then renamed, so the old one serves until the new is ready.
def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_enrolments_programme_page '
                   'ON enrolments (programme_id, id)')
        op.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_enrolments_programme_status_page '
                   'ON enrolments (programme_id, status, id)')
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_enrolments_programme_status')
        op.execute('ALTER INDEX ix_enrolments_programme_status_page RENAME TO ix_enrolments_programme_status')
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_enrolments_programme_id')
        op.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_households_village_updated '
                   'ON households (village_code, updated_at, id)')
        op.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_households_district_updated '
                   'ON households (district_code, updated_at, id)')


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_households_district_updated')
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_households_village_updated')
        op.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_enrolments_programme_id ON enrolments (programme_id)')
        op.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_enrolments_programme_status_old '
                   'ON enrolments (programme_id, status)')
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_enrolments_programme_status')
        op.execute('ALTER INDEX ix_enrolments_programme_status_old RENAME TO ix_enrolments_programme_status')
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_enrolments_programme_page')
