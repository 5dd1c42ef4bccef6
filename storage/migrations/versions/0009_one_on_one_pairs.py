"""1:1 pairs in their own tables (issue 15).

Until now a pair's facts lived in its ritual's options JSON (``manager``, ``report``, ``prep``,
``nudge_minutes``, the ``asked`` question history and the last few meetings' ``questions``), and a
moved meeting was known only from its nudge's outbox key (``1on1:<occurrence>:moved:<day>``), which
the outbox forgets after a while. From this revision:

- ``oneononepair``: one row per ``one-on-one`` ritual (which stays the scheduling handle; its options
  keep ``anchor`` and ``lead_minutes``), with the manager, the report, the prep flag and the lead;
- ``oneononequestion``: the questions the pair's nudges asked, oldest first (the rotation); the ones the
  old options tied to a meeting keep their occurrence, older ones have none;
- ``oneononemove``: the days a meeting was moved to, from the outbox keys still stored.

A member id in the options whose member is gone becomes NULL ("someone who left", as before).
Downgrading writes the options back (the last 8 meetings' questions, as the old code kept) and drops
the tables; moves go back to being known from the outbox keys.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND = "one-on-one"
PAIR_KEYS = ("manager", "report", "prep", "nudge_minutes", "asked", "questions")
RECENT_QUESTIONS = 8  # what the options kept before this revision
NUDGE_MINUTES = 60

# Lightweight table descriptions for the data steps: the app's models may change after this revision.
ritual = sa.table(
    "ritual",
    sa.column("id", sa.Integer),
    sa.column("workspace_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("options", sa.Text),
)
member = sa.table("member", sa.column("id", sa.Integer), sa.column("workspace_id", sa.Integer))
occurrence = sa.table("occurrence", sa.column("id", sa.Integer), sa.column("ritual_id", sa.Integer))
outbox = sa.table("outbox", sa.column("idempotency_key", sa.String))
pair = sa.table(
    "oneononepair",
    sa.column("ritual_id", sa.Integer),
    sa.column("workspace_id", sa.Integer),
    sa.column("manager_member_id", sa.Integer),
    sa.column("report_member_id", sa.Integer),
    sa.column("prep", sa.Boolean),
    sa.column("nudge_minutes", sa.Integer),
)
question = sa.table(
    "oneononequestion",
    sa.column("id", sa.Integer),
    sa.column("ritual_id", sa.Integer),
    sa.column("occurrence_id", sa.Integer),
    sa.column("question_id", sa.String),
)
move = sa.table("oneononemove", sa.column("occurrence_id", sa.Integer), sa.column("day", sa.Date))


def upgrade() -> None:
    op.create_table(
        "oneononepair",
        sa.Column("ritual_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("manager_member_id", sa.Integer(), nullable=True),
        sa.Column("report_member_id", sa.Integer(), nullable=True),
        sa.Column("prep", sa.Boolean(), nullable=False),
        sa.Column("nudge_minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ritual_id"], ["ritual.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["manager_member_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["report_member_id"], ["member.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("ritual_id"),
    )
    op.create_index("ix_oneononepair_workspace_id", "oneononepair", ["workspace_id"])
    op.create_index("ix_oneononepair_manager_member_id", "oneononepair", ["manager_member_id"])
    op.create_index("ix_oneononepair_report_member_id", "oneononepair", ["report_member_id"])
    op.create_table(
        "oneononequestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ritual_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=True),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["ritual_id"], ["oneononepair.ritual_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["occurrence_id"], ["occurrence.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("occurrence_id"),
        sqlite_autoincrement=True,  # ids order the rotation: never reuse one
    )
    op.create_index("ix_oneononequestion_pair", "oneononequestion", ["ritual_id", "id"])
    op.create_table(
        "oneononemove",
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["occurrence_id"], ["occurrence.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("occurrence_id", "day"),
    )
    _pairs_out_of_options()


def downgrade() -> None:
    _pairs_back_into_options()
    op.drop_table("oneononemove")
    op.drop_index("ix_oneononequestion_pair", table_name="oneononequestion")
    op.drop_table("oneononequestion")
    op.drop_index("ix_oneononepair_report_member_id", table_name="oneononepair")
    op.drop_index("ix_oneononepair_manager_member_id", table_name="oneononepair")
    op.drop_index("ix_oneononepair_workspace_id", table_name="oneononepair")
    op.drop_table("oneononepair")


def _options(raw: str | None) -> dict[str, Any]:
    try:
        loaded = json.loads(raw or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _an_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _history(options: dict[str, Any], occurrences: set[int]) -> list[tuple[int | None, str]]:
    """The asked ids, oldest first, each with its meeting where the options said which it was.

    ``questions`` held the last meetings' ids in firing order, and they were the tail of ``asked``."""
    asked = [item for item in options.get("asked") or [] if isinstance(item, str)]
    recent = options.get("questions")
    recent = recent if isinstance(recent, dict) else {}
    tail = [
        (int(key), value) for key, value in recent.items() if str(key).isdigit() and isinstance(value, str)
    ]
    if not tail or [value for _, value in tail] != asked[len(asked) - len(tail) :]:
        return [(None, item) for item in asked]
    head = [(None, item) for item in asked[: len(asked) - len(tail)]]
    return head + [(key if key in occurrences else None, value) for key, value in tail]


def _pairs_out_of_options() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(ritual.c.id, ritual.c.workspace_id, ritual.c.options).where(ritual.c.kind == KIND)
    )
    for ritual_id, workspace_id, raw in rows.all():
        options = _options(raw)
        people = {
            key: found
            for key in ("manager", "report")
            if (found := _an_int(options.get(key))) is not None
            and bind.execute(
                sa.select(member.c.id).where(member.c.id == found, member.c.workspace_id == workspace_id)
            ).first()
        }
        minutes = _an_int(options.get("nudge_minutes"))
        bind.execute(
            pair.insert().values(
                ritual_id=ritual_id,
                workspace_id=workspace_id,
                manager_member_id=people.get("manager"),
                report_member_id=people.get("report"),
                prep=options.get("prep") is True,
                nudge_minutes=minutes if minutes is not None and minutes >= 0 else NUDGE_MINUTES,
            )
        )
        occurrences = set(
            bind.execute(sa.select(occurrence.c.id).where(occurrence.c.ritual_id == ritual_id)).scalars()
        )
        for occurrence_id, question_id in _history(options, occurrences):
            bind.execute(
                question.insert().values(
                    ritual_id=ritual_id, occurrence_id=occurrence_id, question_id=question_id[:64]
                )
            )
        kept = {key: value for key, value in options.items() if key not in PAIR_KEYS}
        bind.execute(ritual.update().where(ritual.c.id == ritual_id).values(options=json.dumps(kept)))
        for occurrence_id, day in _moves(bind, occurrences):
            bind.execute(move.insert().values(occurrence_id=occurrence_id, day=day))


def _moves(bind: sa.engine.Connection, occurrences: set[int]) -> set[tuple[int, date]]:
    found: set[tuple[int, date]] = set()
    keys = bind.execute(
        sa.select(outbox.c.idempotency_key).where(outbox.c.idempotency_key.like("1on1:%:moved:%"))
    ).scalars()
    for key in keys:
        parts = key.split(":")
        if len(parts) != 4 or not parts[1].isdigit() or int(parts[1]) not in occurrences:
            continue
        try:
            found.add((int(parts[1]), date.fromisoformat(parts[3])))
        except ValueError:
            continue
    return found


def _pairs_back_into_options() -> None:
    bind = op.get_bind()
    facts = bind.execute(
        sa.select(
            pair.c.ritual_id,
            pair.c.manager_member_id,
            pair.c.report_member_id,
            pair.c.prep,
            pair.c.nudge_minutes,
        )
    )
    for ritual_id, manager_id, report_id, prep, minutes in facts.all():
        asked = bind.execute(
            sa.select(question.c.occurrence_id, question.c.question_id)
            .where(question.c.ritual_id == ritual_id)
            .order_by(question.c.id)
        ).all()
        recent = [
            (occurrence_id, question_id) for occurrence_id, question_id in asked if occurrence_id is not None
        ]
        raw = bind.execute(sa.select(ritual.c.options).where(ritual.c.id == ritual_id)).scalar()
        options = {
            **_options(raw),
            "manager": manager_id,
            "report": report_id,
            "prep": bool(prep),
            "nudge_minutes": minutes,
            "asked": [question_id for _, question_id in asked],
            "questions": {
                str(occurrence_id): question_id for occurrence_id, question_id in recent[-RECENT_QUESTIONS:]
            },
        }
        bind.execute(ritual.update().where(ritual.c.id == ritual_id).values(options=json.dumps(options)))
