"""Anonymity that survives a database dump: sealed relay routing, no stored answer salt, member flags.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

The support relay's plain member ids give way to values sealed under ``TEND_SECRET_KEY``, which the
migration cannot know: conversations still open at the upgrade end (their reports stay counted).
Check-in answers are now keyed by the secret, so the per-occurrence salt column goes, and the
choice is stored sealed (answers of a check-in open during the upgrade cannot be re-keyed and go). Existing
members whose time zone was learned count as looked up; members' first-seen times become days.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _relay_table(sealed: bool) -> None:
    people = (
        [
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("author_seal", sa.String(length=200), nullable=True),
            sa.Column("supporter_seal", sa.String(length=200), nullable=True),
        ]
        if sealed
        else [
            sa.Column("author_member_id", sa.Integer(), nullable=True),
            sa.Column("supporter_member_id", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(["author_member_id"], ["member.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["supporter_member_id"], ["member.id"], ondelete="SET NULL"),
        ]
    )
    op.create_table(
        "stressrelay",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        *people,
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("support_due_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["stressreport.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token"),
    )


def upgrade() -> None:
    op.drop_table("stressrelay")
    _relay_table(sealed=True)
    with op.batch_alter_table("occurrence") as batch:
        batch.drop_column("answer_salt")
    # Answers of a check-in open during the upgrade were keyed by the salt just dropped and hold the
    # choice in plain: they cannot be re-keyed without TEND_SECRET_KEY, so they go (that check-in
    # closes with the answers given after the upgrade).
    op.execute("DELETE FROM openeranswer")
    with op.batch_alter_table("openeranswer") as batch:
        batch.drop_column("score")
        batch.add_column(sa.Column("sealed_score", sa.String(length=200), nullable=False))
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("profile_known", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("deactivated", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE member SET profile_known = (time_zone <> 'UTC')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE member SET created_at = date_trunc('day', created_at)")
    else:
        op.execute("UPDATE member SET created_at = substr(created_at, 1, 10) || ' 00:00:00.000000'")


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("deactivated")
        batch.drop_column("profile_known")
    op.execute("DELETE FROM openeranswer")
    with op.batch_alter_table("openeranswer") as batch:
        batch.drop_column("sealed_score")
        batch.add_column(sa.Column("score", sa.Integer(), nullable=False))
    with op.batch_alter_table("occurrence") as batch:
        batch.add_column(sa.Column("answer_salt", sa.String(length=64), nullable=True))
    op.drop_table("stressrelay")
    _relay_table(sealed=False)
