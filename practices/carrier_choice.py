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
from datetime import date, timedelta

from practices.availability import week_start, week_windows
from practices.hours import WorkingHours

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
    """Working time the two share in the week of ``on`` (each in their own zone, DST included)."""
    monday = week_start(on)
    shared = 0
    for a_start, a_end in week_windows(first, monday):
        for b_start, b_end in week_windows(second, monday):
            shared += max(0, min(a_end, b_end) - max(a_start, b_start))
    return timedelta(minutes=shared)


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
        if best is None or key < best:
            best, chosen = key, candidate.member_id
    return chosen
