"""Admin roles from the platform and an audit trail of every admin change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Until now the first person Tend heard from in a workspace became its admin. From this revision on an
admin is someone the platform says may administer the workspace, the first installer of a workspace,
or someone an admin grants; every change is written to ``adminchange`` (member ids and a time, no
text). Admins made before this revision stay admins (dropping them could leave a workspace with
none); the trail starts empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "adminchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("by_member_id", sa.Integer(), nullable=True),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["by_member_id"], ["member.id"], ondelete="SET NULL"),
        sqlite_autoincrement=True,  # ids order the trail: never reuse one
    )
    op.create_index("ix_adminchange_workspace", "adminchange", ["workspace_id", "id"])
    op.create_index("ix_adminchange_member_id", "adminchange", ["member_id"])
    op.create_index("ix_adminchange_by_member_id", "adminchange", ["by_member_id"])


def downgrade() -> None:
    op.drop_index("ix_adminchange_by_member_id", table_name="adminchange")
    op.drop_index("ix_adminchange_member_id", table_name="adminchange")
    op.drop_index("ix_adminchange_workspace", table_name="adminchange")
    op.drop_table("adminchange")
