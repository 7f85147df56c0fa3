"""the case row keeps what its RAG needs from its cycles, for the team page

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 06:00:00

Schema only: `casewatch init` fills the columns from the cycles already stored once the
database is at the newest schema (`casewatch.migrations.schema.upgrade`), so an existing
database shows the same RAG right after it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import casewatch.cases.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy on SQLite: a copy of `cases` would drop the table
    # that the cycles, flags and measure facts refer to).
    op.add_column('cases', sa.Column('rag_breached', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('cases', sa.Column('rag_running', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('cases', sa.Column('rag_due_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('rag_warn_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('rag_last_due_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_cases_team_rag',
        'cases',
        ['team', 'status', 'rag_breached', 'rag_due_at', 'rag_warn_at', 'risk_level'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_cases_team_rag', table_name='cases')
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), for the same reason as above.
    for column in ('rag_last_due_at', 'rag_warn_at', 'rag_due_at', 'rag_running', 'rag_breached'):
        op.execute(f'ALTER TABLE cases DROP COLUMN {column}')
