"""analytics summary: per-village counts the dashboard sums instead of reading every person

Five tables written by ``hub.analytics.summary`` after each sync run and seed (and by
``slrt-hub analytics refresh``): units (households by decile and programme set), enrolled (per
programme and decile), persons (by sex, age group, disability), name matches, and one refresh row per
regency. Row-level security as on every scoped table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 03:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hub.config import APP_DB_ROLE
from hub.migrations import security

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TABLES = ("analytics_summary_units", "analytics_summary_enrolled", "analytics_summary_persons",
          "analytics_summary_name_matches", "analytics_summary_refreshes")
_UUIDS = postgresql.ARRAY(sa.Uuid())


def _regions() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column('province_code', sa.String(length=2), nullable=False),
            sa.Column('regency_code', sa.String(length=5), nullable=False),
            sa.Column('district_code', sa.String(length=8), nullable=False),
            sa.Column('village_code', sa.String(length=13), nullable=False)]


def _index(table: str) -> None:
    op.create_index(op.f(f'ix_{table}_regency_code'), table, ['regency_code'])
    op.create_index(op.f(f'ix_{table}_district_code'), table, ['district_code'])
    op.create_index(op.f(f'ix_{table}_village_code'), table, ['village_code'])
    op.create_index(op.f(f'ix_{table}_province_code'), table, ['province_code'])


def upgrade() -> None:
    op.create_table(
        'analytics_summary_units',
        sa.Column('id', sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column('decile', sa.SmallInteger(), nullable=False),
        sa.Column('programmes', _UUIDS, nullable=False),
        sa.Column('direct', _UUIDS, nullable=False),
        sa.Column('by_nik', _UUIDS, nullable=False),
        sa.Column('by_name', _UUIDS, nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('persons', sa.Integer(), nullable=False),
        *_regions())
    op.create_table(
        'analytics_summary_enrolled',
        sa.Column('id', sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column('programme_id', sa.Uuid(), nullable=False),
        sa.Column('decile', sa.SmallInteger(), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('persons', sa.Integer(), nullable=False),
        *_regions())
    op.create_table(
        'analytics_summary_persons',
        sa.Column('id', sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column('programmes', _UUIDS, nullable=False),
        sa.Column('sex', sa.String(length=16), nullable=False),
        sa.Column('age_group', sa.String(length=16), nullable=False),
        sa.Column('has_disability', sa.Boolean(), nullable=True),
        sa.Column('persons', sa.Integer(), nullable=False),
        sa.Column('with_need', sa.Integer(), nullable=False),
        *_regions())
    op.create_table(
        'analytics_summary_name_matches',
        sa.Column('id', sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column('programmes', _UUIDS, nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        *_regions())
    for table in TABLES[:4]:
        _index(table)
    op.create_table(
        'analytics_summary_refreshes',
        sa.Column('regency_code', sa.String(length=5), primary_key=True),
        sa.Column('province_code', sa.String(length=2), nullable=False),
        sa.Column('district_code', sa.String(length=8), nullable=True),
        sa.Column('village_code', sa.String(length=13), nullable=True),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False))
    security.enable(TABLES)
    # Identity columns: the app role inserts, so it needs the sequences too.
    for table in TABLES[:4]:
        op.execute(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {APP_DB_ROLE}")


def downgrade() -> None:
    for table in reversed(TABLES):  # their policies go with them
        op.drop_table(table)
