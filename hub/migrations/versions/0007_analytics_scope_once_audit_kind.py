"""row-level security reads the caller's scope once per statement, not once per row

The region policies compared each row with ``hub_scope_allows(...)``, which PostgreSQL inlines and
which split ``current_setting('slrt.scope')`` again for every row: at 100,000 households most of an
aggregate's time. They now compare with ``(SELECT hub_scope())``, an InitPlan run once per statement.
Same rule, same fail-closed default (unset scope: no rows; WITH CHECK refuses writes outside it).
Also an index on persons.birth_date, the blocking key of name matching, and access_logs.kind, which
marks the dashboard's entries as aggregate reads.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 02:40:00
"""
import sqlalchemy as sa
from alembic import op

from hub.migrations import security

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    security.create_functions()
    security.rewrite_policies(security.POLICY_CHECK)
    # Name matching pairs programme-list members with registry members born the same day: an index
    # lookup per list member instead of a scan of every person.
    op.create_index(op.f('ix_persons_birth_date'), 'persons', ['birth_date'], unique=False)
    # The dashboard's reads are logged as aggregate reads. A constant default: no row is rewritten
    # (the append-only trigger would refuse it), and entries logged before read as personal.
    op.add_column('access_logs', sa.Column('kind', sa.String(length=16), server_default='personal', nullable=False))
    op.create_check_constraint(op.f('ck_access_logs_kind'), 'access_logs', "kind IN ('personal', 'aggregate')")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_access_logs_kind'), 'access_logs', type_='check')
    op.drop_column('access_logs', 'kind')
    op.drop_index(op.f('ix_persons_birth_date'), table_name='persons')
    security.rewrite_policies(security.LEGACY_POLICY_CHECK)
    # Revisions 0001-0006 knew only the per-row function; no policy names hub_scope() any more.
    op.execute("DROP FUNCTION IF EXISTS hub_scope()")
