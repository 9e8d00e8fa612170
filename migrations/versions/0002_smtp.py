"""smtp: the protocol and TLS details of each accepted message, for its Received: header

Revision ID: 0002_smtp
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_smtp"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("protocol", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("tls", sa.String(length=128), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("tls")
        batch_op.drop_column("protocol")
