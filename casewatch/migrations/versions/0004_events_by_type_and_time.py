"""events by type and time, for the partnership measures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:15:00
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_events_type_at', 'events', ['type', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_events_type_at', table_name='events')
