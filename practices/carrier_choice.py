"""Who welcomes a newcomer: the choice of culture carrier, as a pure rule.

A carrier from another team widens the newcomer's circle beyond the people they meet anyway; spreading
newcomers evenly (and never past a carrier's cap) keeps welcoming light; overlapping working hours let
the two actually talk. Nobody on leave, paused or gone is chosen. Ties are broken by a digest of the two
ids, so the same inputs always give the same carrier while equal carriers share the newcomers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from practices.hours import DAY_NAMES, WorkingHours, local_at

MIN_OVERLAP = timedelta(hours=1)
"""Less shared working time than this a week counts as none: the two could hardly meet."""


@dataclass(frozen=True)
class Newcomer:
    member_id: int
    team_ids: frozenset[int]
    hours: WorkingHours


@dataclass(frozen=True)
class Candidate:
    """A carrier (or an ambassador, who is eligible too) as the choice sees them."""

    member_id: int
    team_ids: frozenset[int]
    hours: WorkingHours
    load: int  # newcomers they welcome now
    cap: int
    available: bool = True  # False while out of office, paused, deactivated, a bot or unreachable


def weekly_overlap(first: WorkingHours, second: WorkingHours, on: date) -> timedelta:
    """Working time the two share in the UTC week of ``on`` (each in their own zone, DST included)."""
    monday = on - timedelta(days=on.weekday())
    start = datetime.combine(monday, time(0), tzinfo=UTC)
    week = (start, start + timedelta(days=7))
    days = [monday + timedelta(days=offset) for offset in range(-1, 8)]  # local days reach over the edges
    shared = timedelta()
    for a_start, a_end in _windows(first, days, week):
        for b_start, b_end in _windows(second, days, week):
            start, end = max(a_start, b_start), min(a_end, b_end)
            if start < end:
                shared += end - start
    return shared


def _windows(
    hours: WorkingHours, days: Iterable[date], week: tuple[datetime, datetime]
) -> list[tuple[datetime, datetime]]:
    """The person's working windows on ``days``, cut to ``week``."""
    found: list[tuple[datetime, datetime]] = []
    for day in days:
        if DAY_NAMES[day.weekday()] not in hours.days:
            continue
        start = max(local_at(hours.time_zone, day, hours.start), week[0])
        end = min(local_at(hours.time_zone, day, hours.end), week[1])
        if start < end:
            found.append((start, end))
    return found


def _tie(newcomer_id: int, member_id: int) -> bytes:
    return hashlib.sha256(f"{newcomer_id}:{member_id}".encode()).digest()


def choose_carrier(newcomer: Newcomer, candidates: Iterable[Candidate], on: date) -> int | None:
    """The member id of the carrier to pair ``newcomer`` with on ``on``, or None when nobody can.

    Only available carriers under their cap count (and never the newcomer themself). Among them, in
    order: someone whose working hours overlap the newcomer's by at least ``MIN_OVERLAP`` (if nobody
    does, the others still beat no welcome at all), someone from another team, the least loaded
    (relative to their cap, then in newcomers), the most shared hours, then the digest tie-break.
    """
    best: tuple[object, ...] | None = None
    chosen: int | None = None
    for candidate in candidates:
        if candidate.member_id == newcomer.member_id or not candidate.available:
            continue
        if candidate.load >= candidate.cap:
            continue
        overlap = weekly_overlap(newcomer.hours, candidate.hours, on)
        same_team = bool(newcomer.team_ids & candidate.team_ids)
        key = (
            overlap < MIN_OVERLAP,
            same_team,
            candidate.load / candidate.cap,
            candidate.load,
            -overlap,
            _tie(newcomer.member_id, candidate.member_id),
        )
        if best is None or key < best:  # type: ignore[operator]
            best, chosen = key, candidate.member_id
    return chosen
