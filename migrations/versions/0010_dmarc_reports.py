"""dmarc: aggregate reports received about our domains (RFC 7489)

Revision ID: 0010_dmarc_reports
Revises: 0009_sieve_scripts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_dmarc_reports"
down_revision = "0009_sieve_scripts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "dmarc_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_name", sa.String(length=200), nullable=False),
        sa.Column("report_id", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("begin", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_name", "report_id", name="uq_dmarc_reports_id"),
    )
    with op.batch_alter_table("dmarc_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dmarc_reports_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_dmarc_reports_end"), ["end"], unique=False)
    op.create_table(
        "dmarc_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("dkim", sa.String(length=8), nullable=False),
        sa.Column("spf", sa.String(length=8), nullable=False),
        sa.Column("header_from", sa.String(length=253), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["dmarc_reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dmarc_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dmarc_records_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("dmarc_records")
    op.drop_table("dmarc_reports")
