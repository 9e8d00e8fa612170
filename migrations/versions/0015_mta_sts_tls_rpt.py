"""mta-sts and tls-rpt: cached MTA-STS policies and outbound TLS results

Revision ID: 0015_mta_sts_tls_rpt
Revises: 0014_dsn_requests
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_mta_sts_tls_rpt"
down_revision = "0014_dsn_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "mta_sts_policies",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("policy_id", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("mx", sa.Text(), nullable=False),
        sa.Column("max_age", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("domain"),
    )
    op.create_table(
        "tls_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy_domain", sa.String(length=253), nullable=False),
        sa.Column("policy_type", sa.String(length=16), nullable=False),
        sa.Column("policy_text", sa.Text(), nullable=False),
        sa.Column("mx_host", sa.String(length=255), nullable=False),
        sa.Column("receiving_ip", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tls_results_at", "tls_results", ["at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_tls_results_at", table_name="tls_results")
    op.drop_table("tls_results")
    op.drop_table("mta_sts_policies")
