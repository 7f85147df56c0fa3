"""the inbox newest first, and the cycles that make a case's RAG

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

LIVE_CYCLE = "state = 'running' OR outcome = 'breached'"


def upgrade() -> None:
    op.create_index('ix_alerts_at_id', 'alerts', ['at', 'id'], unique=False)
    op.create_index(
        'ix_sla_cycles_live_case_id',
        'sla_cycles',
        ['case_id'],
        unique=False,
        postgresql_where=sa.text(LIVE_CYCLE),
        sqlite_where=sa.text(LIVE_CYCLE),
    )


def downgrade() -> None:
    op.drop_index('ix_sla_cycles_live_case_id', table_name='sla_cycles')
    op.drop_index('ix_alerts_at_id', table_name='alerts')
