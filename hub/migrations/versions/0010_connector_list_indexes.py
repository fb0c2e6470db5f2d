"""connector lists as connections: keyset-paging indexes for quarantine and outbox (newest first)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 04:00:00
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_quarantine_connector_created', 'quarantine', ['connector_id', 'created_at', 'id'])
    op.create_index('ix_outbox_created', 'outbox', ['created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_outbox_created', table_name='outbox')
    op.drop_index('ix_quarantine_connector_created', table_name='quarantine')
