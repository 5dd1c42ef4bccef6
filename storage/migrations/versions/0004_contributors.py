"""Distinct contributors per team, ISO week and family, so index figures count people, not acts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

Check-in answers recorded before this revision were counted for every check-in, however few answered
(one person answering five check-ins looked like five people). They are renamed
``opener_answer_unchecked``, which the index never shows; from now on ``opener_answer`` comes only from
check-ins with at least the minimum group size. The downgrade merges them back.

The signal index the Compassion Index reads whole weeks with becomes covering (team, kind, count and
value sum added), so the organisation's card reads every team's counters without the table's rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAME_BUCKET = (
    "other.organization_id = signal.organization_id AND other.team_id = signal.team_id "
    "AND other.week = signal.week"
)
COVERING = ["organization_id", "week", "team_id", "kind", "count", "value_sum"]


def upgrade() -> None:
    op.create_table(
        "contributor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),  # 0 = no team, so not a foreign key
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("family", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"]),
        sa.UniqueConstraint("organization_id", "week", "family", "team_id", "key", name="uq_contributor"),
    )
    op.execute("UPDATE signal SET kind = 'opener_answer_unchecked' WHERE kind = 'opener_answer'")
    op.drop_index("ix_signal_org_week", table_name="signal")
    op.create_index("ix_signal_org_week", "signal", COVERING)


def downgrade() -> None:
    op.drop_index("ix_signal_org_week", table_name="signal")
    op.create_index("ix_signal_org_week", "signal", ["organization_id", "week"])
    # Back into opener_answer, adding to a bucket the new code already wrote, else renamed.
    op.execute(
        "UPDATE signal SET "
        "count = count + (SELECT other.count FROM signal other WHERE other.kind = 'opener_answer_unchecked' "
        f"AND {SAME_BUCKET}), "
        "value_sum = value_sum + (SELECT other.value_sum FROM signal other "
        f"WHERE other.kind = 'opener_answer_unchecked' AND {SAME_BUCKET}) "
        "WHERE kind = 'opener_answer' AND EXISTS (SELECT 1 FROM signal other "
        f"WHERE other.kind = 'opener_answer_unchecked' AND {SAME_BUCKET})"
    )
    op.execute(
        "DELETE FROM signal WHERE kind = 'opener_answer_unchecked' AND EXISTS (SELECT 1 FROM signal other "
        f"WHERE other.kind = 'opener_answer' AND {SAME_BUCKET})"
    )
    op.execute("UPDATE signal SET kind = 'opener_answer' WHERE kind = 'opener_answer_unchecked'")
    op.execute("DELETE FROM signal WHERE kind LIKE 'contributor\\_%' ESCAPE '\\'")
    op.drop_table("contributor")
