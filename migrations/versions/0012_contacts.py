"""contacts: a user's address book, saved and collected from mail exchanged

Revision ID: 0012_contacts
Revises: 0011_dmarc_results
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_contacts"
down_revision = "0011_dmarc_results"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_uid", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("saved", sa.Boolean(), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_uid", "email", name="uq_contacts_email"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_owner_uid"), ["owner_uid"], unique=False)
    op.create_table(
        "contact_harvests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_uid", sa.String(length=32), nullable=False),
        sa.Column("folder", sa.String(length=512), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_uid", "folder", name="uq_contact_harvests"),
    )
    with op.batch_alter_table("contact_harvests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_harvests_owner_uid"), ["owner_uid"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("contact_harvests")
    op.drop_table("contacts")
