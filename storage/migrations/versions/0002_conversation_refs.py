"""Teams proactive messages: stored conversation references, and members Tend may not DM.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

``member.unreachable`` gets a server default only so existing rows can be filled in; the model keeps
its default in Python like every other column (drift checks do not compare server defaults).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversationref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("workspace_id", "kind", "key", name="uq_conversationref_workspace_kind_key"),
    )
    op.create_index("ix_conversationref_workspace_id", "conversationref", ["workspace_id"])
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("unreachable", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("unreachable")
    op.drop_table("conversationref")
