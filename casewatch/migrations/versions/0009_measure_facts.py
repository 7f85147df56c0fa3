"""measure facts: what the partnership measures count, kept with the events

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 05:00:00

Schema only: `casewatch init` fills the table from the events already stored once the
database is at the newest schema (`casewatch.migrations.schema.upgrade`), so an existing
database reports the same figures right after it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import casewatch.cases.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('measure_facts',
    sa.Column('case_id', sa.String(length=200), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('fact', sa.String(length=40), nullable=False),
    sa.Column('at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('until', casewatch.cases.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.String(length=100), nullable=True),
    sa.Column('incident_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('person', sa.String(length=200), nullable=False),
    sa.Column('caseworker', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('case_id', 'seq', name=op.f('pk_measure_facts'))
    )
    op.create_index('ix_measure_facts_fact_at', 'measure_facts', ['fact', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_measure_facts_fact_at', table_name='measure_facts')
    op.drop_table('measure_facts')
