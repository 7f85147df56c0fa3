"""scheduler passes for /metrics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 01:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import casewatch.cases.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduler_passes',
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('passes', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_checked', sa.Integer(), nullable=False),
    sa.Column('last_backlog', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_scheduler_passes'))
    )


def downgrade() -> None:
    op.drop_table('scheduler_passes')
