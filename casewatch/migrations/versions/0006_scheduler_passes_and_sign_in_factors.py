"""scheduler passes for /metrics; two-factor secrets, recovery codes, session stage;
OpenID Connect sign-ins under way

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
    op.create_table('oidc_requests',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('next_path', sa.String(length=500), nullable=False),
    sa.Column('expires_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oidc_requests'))
    )
    op.create_table('recovery_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', casewatch.cases.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))

    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=20), server_default='full', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_column('stage')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')

    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))

    op.drop_table('recovery_codes')
    op.drop_table('oidc_requests')
    op.drop_table('scheduler_passes')
