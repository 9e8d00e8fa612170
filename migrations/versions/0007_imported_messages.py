"""imports: the messages 'mailrs import imap' copied in, so a re-run skips them

Revision ID: 0007_imported_messages
Revises: 0006_domain_dkim
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_imported_messages"
down_revision = "0006_domain_dkim"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "imported_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("folder", sa.String(length=512), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("address", "source", "folder", "uidvalidity", "uid"),
    )
    with op.batch_alter_table("imported_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_imported_messages_address"), ["address"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("imported_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imported_messages_address"))
    op.drop_table("imported_messages")
