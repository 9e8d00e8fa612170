"""domains: DKIM selectors per domain (signing, next in rotation, old until retired)

Revision ID: 0006_domain_dkim
Revises: 0005_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_domain_dkim"
down_revision = "0005_sessions"
branch_labels = None
depends_on = None

COLUMNS = ("dkim_selector", "dkim_next_selector", "dkim_old_selector")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("domains", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=63), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("domains", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
