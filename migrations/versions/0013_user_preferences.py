"""user_preferences: display name and signature of a webmail user

Revision ID: 0013_user_preferences
Revises: 0012_contacts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_user_preferences"
down_revision = "0012_contacts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "user_preferences",
        sa.Column("owner_uid", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_uid"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("user_preferences")
