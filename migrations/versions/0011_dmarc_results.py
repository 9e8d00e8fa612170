"""dmarc: the results we record for the aggregate reports we send, and each message's disposition

Revision ID: 0011_dmarc_results
Revises: 0010_dmarc_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_dmarc_results"
down_revision = "0010_dmarc_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "dmarc_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue_id", sa.String(length=32), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=False),
        sa.Column("header_from", sa.String(length=253), nullable=False),
        sa.Column("envelope_from", sa.String(length=253), nullable=False),
        sa.Column("policy_domain", sa.String(length=253), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("dkim_aligned", sa.String(length=8), nullable=False),
        sa.Column("spf_aligned", sa.String(length=8), nullable=False),
        sa.Column("override", sa.String(length=16), nullable=False),
        sa.Column("dkim_results", sa.Text(), nullable=False),
        sa.Column("spf_domain", sa.String(length=253), nullable=False),
        sa.Column("spf_scope", sa.String(length=8), nullable=False),
        sa.Column("spf_result", sa.String(length=16), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dmarc_results_at", "dmarc_results", ["at"])
    op.create_index("ix_dmarc_results_policy_domain", "dmarc_results", ["policy_domain"])
    op.create_index("ix_dmarc_results_reported_at", "dmarc_results", ["reported_at"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("dmarc_disposition", sa.String(length=16), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("dmarc_disposition")
    op.drop_index("ix_dmarc_results_reported_at", table_name="dmarc_results")
    op.drop_index("ix_dmarc_results_policy_domain", table_name="dmarc_results")
    op.drop_index("ix_dmarc_results_at", table_name="dmarc_results")
    op.drop_table("dmarc_results")
