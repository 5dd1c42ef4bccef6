"""An index on ``ritual.kind`` (issue 18, the scheduler tick with 100,000 rituals).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

The meeting openers' sweep runs on every tick and finds open check-ins through their ritual's kind.
Without this index SQLite's planner scanned every ritual for it (about 8 ms of an idle tick at
100,000 rituals); with it, only the rituals of that kind are read.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ritual_kind", "ritual", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_ritual_kind", table_name="ritual")
