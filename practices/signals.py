"""The leading indicators every practice feeds, as aggregated counters (never per person).

Each practice calls ``record`` inside its own transaction, so the index never counts an action
that did not happen, nor misses one that did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from storage import signals
from storage.db import Session

SignalKind = Literal[
    "shoutout_given",
    "shoutout_contagion",
    "nudge_sent",
    "nudge_done",
    "nudge_skipped",
    "opener_answer",
    "opener_answer_few",  # answers of a check-in with fewer than the minimum group size: a count, no score
    "opener_occurrence",
    "stress_reported",
    "stress_support_requested",
    "stress_supported",
    "stress_unsupported",
]

NO_TEAM = 0


def iso_week(moment: datetime) -> str:
    """``2026-W48``: the bucket every signal and the index use."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


async def record(
    session: Session,
    organization_id: int,
    team_id: int | None,
    moment: datetime,
    kind: SignalKind,
    *,
    count: int = 1,
    value: float = 0.0,
) -> None:
    await signals.bump(
        session, organization_id, team_id or NO_TEAM, iso_week(moment), kind, count=count, value=value
    )
