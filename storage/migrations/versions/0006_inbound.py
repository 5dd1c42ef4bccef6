"""Durable inbound work: acked events waiting for any replica to handle them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Slack commands and taps were acked and then queued in the memory of the process that took them, so a
deploy or a crash lost them. They are now written here before the ack and deleted in the same
transaction as their handling. A new table: the upgrade has nothing to carry over.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbound_lease", "inbound", ["platform", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_inbound_lease", table_name="inbound")
    op.drop_table("inbound")
