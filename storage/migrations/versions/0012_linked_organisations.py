"""One organisation across Slack and Teams (issue 16): the one-time link codes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

``organizationlinkcode``: a keyed digest of a code an admin issued, where it was issued, when it
expires and whether it was used. Linking itself moves rows that exist already (workspaces, signals,
contributor rollups, stress reports change ``organization_id``), so it needs no other table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizationlinkcode",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_by_member_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by_workspace_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_member_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["used_by_workspace_id"], ["workspace.id"], ondelete="SET NULL"),
    )
    op.create_index("ix_organizationlinkcode_workspace_id", "organizationlinkcode", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_organizationlinkcode_workspace_id", table_name="organizationlinkcode")
    op.drop_table("organizationlinkcode")
