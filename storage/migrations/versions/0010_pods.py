"""Compassion pods (issue 17).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

``podprogramme`` (who takes part, sizes, cadence via its ritual, state), ``podparticipant`` (a
person's opt-in or opt-out, a skipped round, a pause), ``podround``, ``pod``, ``podmember`` and
``podanswer`` ("did your pod meet?"). Ids, dates and choices only: no message text.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "podprogramme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("ritual_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.String(length=128), nullable=False),
        sa.Column("min_size", sa.Integer(), nullable=False),
        sa.Column("max_size", sa.Integer(), nullable=False),
        sa.Column("cadence", sa.String(length=40), nullable=False),
        sa.Column("opt_in", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by_member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ritual_id"], ["ritual.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_member_id"], ["member.id"], ondelete="SET NULL"),
        sa.UniqueConstraint("ritual_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_podprogramme_workspace_id", "podprogramme", ["workspace_id"])
    op.create_table(
        "podparticipant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("opted", sa.String(length=8), nullable=False),
        sa.Column("skip_round", sa.Integer(), nullable=True),
        sa.Column("paused_until", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["programme_id"], ["podprogramme.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("programme_id", "member_id", name="uq_podparticipant_member"),
    )
    op.create_index("ix_podparticipant_member_id", "podparticipant", ["member_id"])
    op.create_table(
        "podround",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("formed_at", sa.DateTime(), nullable=False),
        sa.Column("nudge_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("nudged", sa.Boolean(), nullable=False),
        sa.Column("asked", sa.Boolean(), nullable=False),
        sa.Column("unplaced", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["programme_id"], ["podprogramme.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("programme_id", "number", name="uq_podround_number"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_podround_programme_id", "podround", ["programme_id"])
    op.create_table(
        "pod",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("teams", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["round_id"], ["podround.id"], ondelete="CASCADE"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_pod_round_id", "pod", ["round_id"])
    op.create_table(
        "podmember",
        sa.Column("pod_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pod_id", "member_id"),
        sa.ForeignKeyConstraint(["pod_id"], ["pod.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_podmember_member_id", "podmember", ["member_id"])
    op.create_table(
        "podanswer",
        sa.Column("pod_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pod_id", "member_id"),
        sa.ForeignKeyConstraint(["pod_id"], ["pod.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("podanswer")
    op.drop_index("ix_podmember_member_id", table_name="podmember")
    op.drop_table("podmember")
    op.drop_index("ix_pod_round_id", table_name="pod")
    op.drop_table("pod")
    op.drop_index("ix_podround_programme_id", table_name="podround")
    op.drop_table("podround")
    op.drop_index("ix_podparticipant_member_id", table_name="podparticipant")
    op.drop_table("podparticipant")
    op.drop_index("ix_podprogramme_workspace_id", table_name="podprogramme")
    op.drop_table("podprogramme")
