"""admin role: users.is_admin

Revision ID: 0008_admin_role
Revises: 0007_imported_messages
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_admin_role"
down_revision = "0007_imported_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_admin")
