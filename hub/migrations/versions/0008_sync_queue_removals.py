"""sync: queued runs (runSync enqueues for the worker), removed-at-source rows and the run's removed count

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 02:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OLD = ('running', 'succeeded', 'mismatch', 'failed', 'crashed', 'skipped')
NEW = ('queued', *OLD)


def _status_check(values: tuple[str, ...]) -> None:
    op.drop_constraint(op.f('ck_sync_runs_run_status'), 'sync_runs', type_='check')
    listed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(op.f('ck_sync_runs_run_status'), 'sync_runs', f"status IN ({listed})")


def upgrade() -> None:
    _status_check(NEW)
    op.add_column('sync_runs', sa.Column('removed', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('households', sa.Column('removed_at_source', sa.DateTime(timezone=True), nullable=True))
    op.add_column('persons', sa.Column('removed_at_source', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('persons', 'removed_at_source')
    op.drop_column('households', 'removed_at_source')
    op.drop_column('sync_runs', 'removed')
    op.execute("UPDATE sync_runs SET status = 'failed', error = 'queued when the schema was downgraded' "
               "WHERE status = 'queued'")
    _status_check(OLD)
