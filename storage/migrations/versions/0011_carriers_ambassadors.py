"""Culture carriers for newcomers and compassion ambassadors (issue 17).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

``carrier`` (who an admin named to welcome newcomers, with a cap), ``newcomerpairing`` (a newcomer,
their carrier, and counts of the check-ins at about 1, 4 and 12 weeks: never what was said),
``ambassador``, ``ambassadordigest`` (one monthly digest per ambassador) and ``ambassadorspace`` (the
channel the digest links). Ids and times only, no text.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("workspace_id", "member_id", name="uq_carrier_member"),
    )
    op.create_index("ix_carrier_member_id", "carrier", ["member_id"])
    op.create_table(
        "newcomerpairing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("newcomer_id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("next_checkin", sa.Integer(), nullable=False),
        sa.Column("next_checkin_at", sa.DateTime(), nullable=True),
        sa.Column("checkins_sent", sa.Integer(), nullable=False),
        sa.Column("checkins_answered", sa.Integer(), nullable=False),
        sa.Column("last_answered", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["newcomer_id"], ["member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["carrier_id"], ["member.id"], ondelete="SET NULL"),
        sa.UniqueConstraint("newcomer_id", name="uq_newcomerpairing_newcomer"),
        sqlite_autoincrement=True,  # ids ride on check-in buttons: never reuse one
    )
    op.create_index("ix_newcomerpairing_due", "newcomerpairing", ["next_checkin_at"])
    op.create_index("ix_newcomerpairing_workspace_id", "newcomerpairing", ["workspace_id"])
    op.create_index("ix_newcomerpairing_carrier_id", "newcomerpairing", ["carrier_id"])
    op.create_table(
        "ambassador",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("workspace_id", "member_id", name="uq_ambassador_member"),
    )
    op.create_index("ix_ambassador_member_id", "ambassador", ["member_id"])
    op.create_table(
        "ambassadordigest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("member_id", "month", name="uq_ambassadordigest_month"),
    )
    op.create_table(
        "ambassadorspace",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("ambassadorspace")
    op.drop_table("ambassadordigest")
    op.drop_index("ix_ambassador_member_id", table_name="ambassador")
    op.drop_table("ambassador")
    op.drop_index("ix_newcomerpairing_carrier_id", table_name="newcomerpairing")
    op.drop_index("ix_newcomerpairing_workspace_id", table_name="newcomerpairing")
    op.drop_index("ix_newcomerpairing_due", table_name="newcomerpairing")
    op.drop_table("newcomerpairing")
    op.drop_index("ix_carrier_member_id", table_name="carrier")
    op.drop_table("carrier")
