"""urlauth_keys: the mailbox access keys of URLAUTH (RFC 4467), one per user and mailbox

Revision ID: 0016_urlauth_keys
Revises: 0015_mta_sts_tls_rpt
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_urlauth_keys"
down_revision = "0015_mta_sts_tls_rpt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "urlauth_keys",
        sa.Column("owner_uid", sa.String(length=32), nullable=False),
        sa.Column("mailbox", sa.String(length=512), nullable=False),
        sa.Column("secret", sa.LargeBinary(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_uid", "mailbox"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("urlauth_keys")
