"""sieve: per-user Sieve scripts (one active) and vacation duplicate tracking

Revision ID: 0009_sieve_scripts
Revises: 0008_admin_role
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sieve_scripts"
down_revision = "0008_admin_role"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "sieve_scripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_address", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_address", "name", name="uq_sieve_scripts_name"),
    )
    with op.batch_alter_table("sieve_scripts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sieve_scripts_user_address"), ["user_address"], unique=False
        )
    op.create_table(
        "sieve_vacation_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_address", sa.String(length=254), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_address", "sender", "handle", name="uq_sieve_vacation_sender"),
    )
    with op.batch_alter_table("sieve_vacation_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sieve_vacation_replies_user_address"), ["user_address"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("sieve_vacation_replies")
    op.drop_table("sieve_scripts")
