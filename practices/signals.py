"""The leading indicators every practice feeds, as aggregated counters (never per person).

Which counters exist is not listed here: each practice declares the kinds it counts in its
``PRACTICE`` (``Practice.signals``), next to the code that records them.

Each practice calls ``record`` inside its own transaction, so the index never counts an action
that did not happen, nor misses one that did. Acts that are public by nature (a shout-out, a 1:1
nudge) also call ``contributed``, so the index can tell how many distinct people a figure rests on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from practices import sealing
from storage import signals
from storage.db import Session

# A signal kind is a counter's name. Each practice declares the kinds it records (``Practice.signals``:
# shout-outs "shoutout_given", 1:1s "nudge_sent", ...); the index reads them by name, and
# tests/test_signals_declared.py checks that every kind recorded or read is declared by a practice.
SignalKind = str

# Whose acts a figure rests on: shout-out givers, managers with 1:1 nudges (sent, done or skipped), and
# supporters who answered an anonymous support request (accepted, never kept: see ``contributed``).
ContributorFamily = Literal["shoutout", "nudge", "support"]
KEPT_FAMILIES: tuple[ContributorFamily, ...] = ("shoutout", "nudge")
CONTRIBUTOR_PURPOSE = "contributor"

NO_TEAM = 0
Count = tuple[int | None, str, int]  # (team id or None, signal kind, how many) for ``record_many``
# Contributors are also kept under this team id, where each person counts once for the organisation:
# how many distinct people are behind the organisation's figure, read with its counters.
WHOLE_ORGANISATION = -1


def iso_week(moment: datetime) -> str:
    """``2026-W48``: the bucket every signal and the index use."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def contributor_kind(family: str) -> str:
    """The counter holding how many distinct people of ``family`` acted for a team in a week."""
    return f"contributor_{family}"


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


async def forget_contributor(
    session: Session, secret_key: bytes, organization_id: int, member_id: int
) -> int:
    """Forget-me: the person's contributor digests, recomputed for each week there are any, go."""
    weeks = await signals.contributor_weeks(session, organization_id)
    keys = [  # under every key: digests written before a key rotation go too
        key
        for week in weeks
        for key in sealing.digests(secret_key, CONTRIBUTOR_PURPOSE, organization_id, week, member_id)
    ]
    return await signals.delete_contributors(session, organization_id, keys)


async def contributed(
    session: Session,
    secret_key: bytes,
    organization_id: int,
    team_id: int | None,
    moment: datetime,
    family: ContributorFamily,
    member_id: int,
) -> None:
    """Counts ``member_id`` once among the people behind ``family``'s figures for this team and week.

    Idempotent: the same person acting twice in a week is one contributor. Stored as a keyed digest of
    (organisation, week, member), the same in every team and family, so distinct people can be counted
    across teams; without ``TEND_SECRET_KEY`` it names nobody. The count of distinct people of the team,
    and of the whole organisation (``WHOLE_ORGANISATION``), is bumped in the same transaction, so the
    index reads both with the other counters.

    ``support`` is accepted and nothing is kept: answered requests are released under the support
    request rule (docs/index.md), and a digest of who answered could be matched with the public
    families' digests, naming the supporter that ``StressRelay`` seals.
    """
    await record_many(
        session,
        organization_id,
        moment,
        await newly_contributed(session, secret_key, organization_id, team_id, moment, family, member_id),
    )


async def record_many(
    session: Session, organization_id: int, moment: datetime, counts: Sequence[Count]
) -> None:
    """``record`` for several counters of one organisation and week in one statement (a shout-out's
    given, contagion and contributor counts: one round trip, not three or four)."""
    merged: dict[tuple[int, SignalKind], int] = {}
    for team_id, kind, count in counts:
        key = (team_id or NO_TEAM, kind)
        merged[key] = merged.get(key, 0) + count
    rows = [(team, kind, count) for (team, kind), count in merged.items()]
    await signals.bump_many(session, organization_id, iso_week(moment), rows)


async def newly_contributed(
    session: Session,
    secret_key: bytes,
    organization_id: int,
    team_id: int | None,
    moment: datetime,
    family: ContributorFamily,
    member_id: int,
) -> list[Count]:
    """``contributed``'s digests written, and the counters still to bump for them (the caller
    records them with its own counts, in one statement)."""
    if family not in KEPT_FAMILIES:
        return []
    week = iso_week(moment)
    key, *earlier = sealing.digests(secret_key, CONTRIBUTOR_PURPOSE, organization_id, week, member_id)
    teams = [team_id or NO_TEAM, WHOLE_ORGANISATION]
    if (
        earlier
    ):  # while TEND_PREVIOUS_SECRET_KEYS is set, someone counted under the old key is not counted again
        teams = [
            team
            for team in teams
            if not await signals.has_contributor(session, organization_id, team, week, family, earlier)
        ]
    # Two statements for both teams (every shout-out pays this), not two per team.
    added = await signals.add_contributor(session, organization_id, teams, week, family, key)
    return [(team, contributor_kind(family), 1) for team in added]
