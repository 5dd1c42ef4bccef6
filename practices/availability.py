"""Who may be matched or paired right now, and when in a week they are at work, as pure rules.

The networks practices (pods, culture carriers) share these so "paused", "out of office" and "working
hours" mean the same thing everywhere: someone on leave is never matched, and people are only grouped
when their working hours meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from practices.hours import DAY_NAMES, WorkingHours, local_at

WEEK_MINUTES = 7 * 24 * 60

Window = tuple[int, int]
"""Minutes after Monday 00:00 UTC of the reference week: ``[start, end)``, ``0 <= start < end <= WEEK``."""


@dataclass(frozen=True)
class Presence:
    """What decides whether a person can take part today (a ``Member`` row has all of these)."""

    paused_until: date | None = None  # out of office / on leave until this date (they return ON it)
    deactivated: bool = False
    is_bot: bool = False
    unreachable: bool = False


def is_available(person: Presence, on: date, paused_until: date | None = None) -> bool:
    """Whether ``person`` may be matched on ``on``: not a bot, not gone, not out of office, not paused.

    ``paused_until`` is a practice's own pause (a pod member's "pause until"), applied like leave.
    """
    if person.is_bot or person.deactivated or person.unreachable:
        return False
    return all(until is None or on >= until for until in (person.paused_until, paused_until))


def week_start(on: date) -> date:
    """The Monday of ``on``'s week: the reference week's windows are computed for real dates (DST)."""
    return on - timedelta(days=on.weekday())


def week_windows(hours: WorkingHours, monday: date) -> tuple[Window, ...]:
    """A person's working hours in the week starting ``monday``, as UTC minutes after that Monday 00:00 UTC.

    The week repeats, so a window crossing the week's edge (Monday morning east of UTC is still Sunday
    in UTC) is wrapped round: every zone's week covers the same 10,080 minutes.
    """
    origin = datetime.combine(monday, time(0), tzinfo=UTC)
    windows: list[Window] = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        if DAY_NAMES[day.weekday()] not in hours.days:
            continue
        start = int((local_at(hours.time_zone, day, hours.start) - origin).total_seconds() // 60)
        end = int((local_at(hours.time_zone, day, hours.end) - origin).total_seconds() // 60)
        # The week repeats: a Monday morning east of UTC starts on the Sunday before, which is the
        # same reference minute as the end of this week.
        for shift in (-WEEK_MINUTES, 0, WEEK_MINUTES):
            lo, hi = max(start + shift, 0), min(end + shift, WEEK_MINUTES)
            if lo < hi:
                windows.append((lo, hi))
    return merge_windows(windows)


def merge_windows(windows: list[Window] | tuple[Window, ...]) -> tuple[Window, ...]:
    """Sorted, non-overlapping windows."""
    merged: list[Window] = []
    for lo, hi in sorted(w for w in windows if w[0] < w[1]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)
