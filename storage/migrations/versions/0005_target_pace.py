"""Per-target pacing shared by every replica: when a channel or private chat may next get a message.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

A 429's Retry-After and the gap after a send were kept only in the memory of the process that saw
them, so a restarted process or another replica could post to that channel at once. Rows are short
lived (dropped once their time has passed), so the upgrade has nothing to carry over.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "targetpace",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "target_kind", "target_id"),
    )


def downgrade() -> None:
    op.drop_table("targetpace")
