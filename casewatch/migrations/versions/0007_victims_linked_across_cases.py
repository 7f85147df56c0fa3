"""victims linked across cases: the link on each case and the deployment's link secret

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import casewatch.cases.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'victim_link_secret',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=128), nullable=False),
        sa.Column('created_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_victim_link_secret')),
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('victim_link', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_cases_victim_link', ['victim_link'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_victim_link')
        batch_op.drop_column('victim_link')
    op.drop_table('victim_link_secret')
