"""Initial schema: the tables of ../shared/DESIGN.md "Data".

Revision ID: 0001
Revises:
Create Date: 2025-11-23

Times are ``sa.DateTime()`` holding naive UTC (the impl of ``storage.types.UTCDateTime``); strings
are ``sa.String(length=N)`` (what SQLModel's AutoString compiles to). Defaults live in the models,
so no column here has a server default.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )

    op.create_table(
        "workspace",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"]),
        sa.UniqueConstraint("platform", "external_id", name="uq_workspace_platform_external"),
    )
    op.create_index("ix_workspace_organization_id", "workspace", ["organization_id"])

    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("platform_user_id", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("work_days", sa.String(length=40), nullable=False),
        sa.Column("work_start", sa.String(length=5), nullable=False),
        sa.Column("work_end", sa.String(length=5), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("is_support", sa.Boolean(), nullable=False),
        sa.Column("paused_until", sa.Date(), nullable=True),
        sa.Column("dm_channel_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.UniqueConstraint("workspace_id", "platform_user_id", name="uq_member_workspace_user"),
        sqlite_autoincrement=True,  # ids feed idempotency keys and links: never reuse one
    )
    op.create_index("ix_member_workspace_id", "member", ["workspace_id"])

    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("channel_id", sa.String(length=128), nullable=True),
        sa.Column("shoutout_channel_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.UniqueConstraint("workspace_id", "name", name="uq_team_workspace_name"),
    )
    op.create_index("ix_team_workspace_id", "team", ["workspace_id"])

    op.create_table(
        "teammembership",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("is_manager", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "member_id"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_teammembership_member_id", "teammembership", ["member_id"])

    op.create_table(
        "ritual",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("place_id", sa.String(length=128), nullable=True),
        sa.Column("schedule", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=True),
        sa.Column("created_by_member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"]),
        sa.ForeignKeyConstraint(["created_by_member_id"], ["member.id"], ondelete="SET NULL"),
        sqlite_autoincrement=True,  # ids feed idempotency keys: never reuse one
    )
    op.create_index("ix_ritual_workspace_id", "ritual", ["workspace_id"])
    op.create_index("ix_ritual_due", "ritual", ["paused", "next_run_at"])

    op.create_table(
        "occurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ritual_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("answer_salt", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["ritual_id"], ["ritual.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("ritual_id", "scheduled_at", name="uq_occurrence_ritual_time"),
        sqlite_autoincrement=True,  # ids feed idempotency keys: never reuse one
    )
    op.create_index("ix_occurrence_ritual_id", "occurrence", ["ritual_id"])

    op.create_table(
        "openeranswer",
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("voter_key", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("occurrence_id", "voter_key"),
        sa.ForeignKeyConstraint(["occurrence_id"], ["occurrence.id"], ondelete="CASCADE"),
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("platform_message_id", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.UniqueConstraint("idempotency_key"),
        sqlite_autoincrement=True,  # ids feed idempotency keys: never reuse one
    )
    op.create_index("ix_outbox_workspace_id", "outbox", ["workspace_id"])
    op.create_index("ix_outbox_ready", "outbox", ["state", "next_attempt_at"])

    op.create_table(
        "shoutout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("giver_member_id", sa.Integer(), nullable=True),
        sa.Column("receiver_member_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("value_tag", sa.String(length=40), nullable=True),
        sa.Column("channel_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.ForeignKeyConstraint(["giver_member_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["receiver_member_id"], ["member.id"], ondelete="SET NULL"),
    )
    op.create_index("ix_shoutout_workspace_id", "shoutout", ["workspace_id"])
    op.create_index("ix_shoutout_giver_member_id", "shoutout", ["giver_member_id"])
    op.create_index("ix_shoutout_receiver_member_id", "shoutout", ["receiver_member_id"])
    op.create_index("ix_shoutout_created_at", "shoutout", ["created_at"])

    # Anonymous by design: no member id, no platform id, no exact time (only the ISO week).
    op.create_table(
        "stressreport",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("intensity", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("support", sa.String(length=16), nullable=False),
        sa.Column("support_state", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"]),
    )
    op.create_index("ix_stressreport_organization_id", "stressreport", ["organization_id"])
    op.create_index("ix_stressreport_week", "stressreport", ["week"])

    op.create_table(
        "stressrelay",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("author_member_id", sa.Integer(), nullable=True),
        sa.Column("supporter_member_id", sa.Integer(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("support_due_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token"),
        sa.ForeignKeyConstraint(["report_id"], ["stressreport.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_member_id"], ["member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["supporter_member_id"], ["member.id"], ondelete="SET NULL"),
    )

    op.create_table(
        "signal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),  # 0 = no team, so not a foreign key
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("value_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"]),
        sa.UniqueConstraint("organization_id", "team_id", "week", "kind", name="uq_signal_bucket"),
    )
    op.create_index("ix_signal_org_week", "signal", ["organization_id", "week"])
    op.create_index("ix_signal_organization_id", "signal", ["organization_id"])

    op.create_table(
        "processedevent",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "event_id"),
    )
    op.create_index("ix_processedevent_received_at", "processedevent", ["received_at"])


def downgrade() -> None:
    for table in (
        "processedevent",
        "signal",
        "stressrelay",
        "stressreport",
        "shoutout",
        "outbox",
        "openeranswer",
        "occurrence",
        "ritual",
        "teammembership",
        "team",
        "member",
        "workspace",
        "organization",
    ):
        op.drop_table(table)  # drops its indexes and constraints with it
