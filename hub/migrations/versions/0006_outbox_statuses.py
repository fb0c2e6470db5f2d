"""outbox statuses: what SIKS-NG reports on a pushed proposal, what a partner reports on a referral

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-25 01:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('proposals', sa.Column('registry_status', sa.String(length=32), nullable=True))
    op.add_column('cases', sa.Column('partner_status', sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column('cases', 'partner_status')
    op.drop_column('proposals', 'registry_status')
