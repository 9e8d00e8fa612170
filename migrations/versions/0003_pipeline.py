"""pipeline: spam verdict, retry schedule, deliveries and delivery attempts

Revision ID: 0003_pipeline
Revises: 0002_smtp
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_pipeline"
down_revision = "0002_smtp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spam_score", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("spam_verdict", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("spam_symbols", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_messages_next_attempt_at", ["next_attempt_at"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("rcpt_idx", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("folder", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("remote_mta", sa.String(length=255), nullable=False),
        sa.Column("delivered_as", sa.String(length=255), nullable=False),
        sa.Column("dsn_sent", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", "kind", "address", name="uq_delivery"),
    )
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"], unique=False)

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_delivery_attempts_message_id", "delivery_attempts", ["message_id"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_delivery_attempts_message_id", table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_index("ix_deliveries_message_id", table_name="deliveries")
    op.drop_table("deliveries")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_next_attempt_at")
        for column in (
            "warned_at",
            "next_attempt_at",
            "attempts",
            "spam_symbols",
            "spam_verdict",
            "spam_score",
        ):
            batch_op.drop_column(column)
