"""dsn and requiretls: RET, ENVID, REQUIRETLS per message, NOTIFY and ORCPT per recipient

Revision ID: 0014_dsn_requests
Revises: 0013_user_preferences
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_dsn_requests"
down_revision = "0013_user_preferences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dsn_ret", sa.String(4), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("dsn_envid", sa.String(100), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("require_tls", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("message_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify", sa.String(32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("orcpt", sa.String(512), nullable=False, server_default=""))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("message_recipients", schema=None) as batch_op:
        batch_op.drop_column("orcpt")
        batch_op.drop_column("notify")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("require_tls")
        batch_op.drop_column("dsn_envid")
        batch_op.drop_column("dsn_ret")
