"""When Tend may message a person: inside their working hours, in their own time zone, never while paused.

"Never add pressure" is the rule this module enforces: a personal prompt that falls due in the evening,
on a day off or during leave waits for the next moment the person would be at work anyway.

Working hours are wall-clock times, so they are checked on the person's local clock, and every instant
that leaves this module is aware UTC. Daylight saving is handled with ``zoneinfo``: a wall time skipped
by a spring-forward gap means the first instant after the gap, and a wall time that happens twice at a
fall-back means its first occurrence.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from practices.local_time import zone_of

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_START = time(9, 0)
DEFAULT_END = time(17, 30)
SEARCH_DAYS = 400
"""How far past the wanted day (or the end of a pause) to look before giving up."""

_SCAN_STEP = timedelta(hours=1)
# Local midnight lies between UTC-14h and UTC+12h (plus slack), so these bound a local day in UTC.
_DAY_BEFORE = timedelta(hours=16)
_DAY_AFTER = timedelta(hours=40)


@dataclass(frozen=True)
class WorkingHours:
    """The hours one person may receive personal prompts.

    ``days`` empty means the person is never reachable: failing closed is the kind default.
    """

    time_zone: str
    days: tuple[str, ...]
    start: time
    end: time
    paused_until: date | None = None
    """No personal prompts before this local date (holiday, leave); they resume ON that date."""

    def __post_init__(self) -> None:
        _zone(self.time_zone)
        unknown = [day for day in self.days if day not in DAY_NAMES]
        if unknown:
            raise ValueError(f"unknown day names {unknown!r}; use {', '.join(DAY_NAMES)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are wall-clock times and must not carry a tzinfo")
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")

    @classmethod
    @functools.lru_cache(maxsize=4096)
    def of(
        cls, time_zone: str, work_days: str, work_start: str, work_end: str, paused_until: date | None
    ) -> WorkingHours:
        """From the ``Member`` columns, forgiving bad stored values so one odd row cannot stop delivery.

        An unknown zone falls back to UTC, unreadable or reversed times to 09:00–17:30, and unknown day
        names are dropped (if none are left the person is simply never prompted). Cached: delivery
        reads the same few stored combinations for every message it sends.
        """
        try:
            _zone(time_zone)
        except ValueError:
            time_zone = "UTC"
        named = {part.strip().lower() for part in work_days.split(",")}
        days = tuple(day for day in DAY_NAMES if day in named)
        start, end = _parse_time(work_start), _parse_time(work_end)
        if start is None or end is None or start >= end:
            start, end = DEFAULT_START, DEFAULT_END
        return cls(time_zone, days, start, end, paused_until)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)


class StoredHours(Protocol):
    """A person's hours as stored (a ``Member`` row, or the slimmer row delivery loads)."""

    @property
    def time_zone(self) -> str: ...
    @property
    def work_days(self) -> str: ...
    @property
    def work_start(self) -> str: ...
    @property
    def work_end(self) -> str: ...
    @property
    def paused_until(self) -> date | None: ...


def hours_of(person: StoredHours) -> WorkingHours:
    """The person's hours, forgiving odd stored values (an unknown zone reads as UTC)."""
    return WorkingHours.of(
        person.time_zone, person.work_days, person.work_start, person.work_end, person.paused_until
    )


def local_at(time_zone: str, on: date, at: time) -> datetime:
    """The aware-UTC instant the clock in ``time_zone`` reads ``at`` on ``on``.

    A wall time inside a DST gap never happens, so the answer is the first instant after the gap; one
    that happens twice (fall-back) gives the first occurrence. ``at`` is read as a wall time.
    """
    zone = _zone(time_zone)
    wall = datetime.combine(on, at.replace(tzinfo=None))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(first, zone) == wall:
        return first
    # In a gap: fold=0 and fold=1 read the wall time with the offsets on either side of the jump, so the
    # jump itself lies between the two readings.
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)

    def reached(instant: datetime) -> bool:
        return _wall(instant, zone) >= wall

    return _first_instant(min(first, second), max(first, second), reached)


def is_within(hours: WorkingHours, instant: datetime) -> bool:
    """Whether a personal prompt may go out at ``instant`` (aware, any tz)."""
    local = _require_aware(instant, "instant").astimezone(hours.zone)
    if hours.paused_until is not None and local.date() < hours.paused_until:
        return False
    if DAY_NAMES[local.weekday()] not in hours.days:
        return False
    return hours.start <= local.time() < hours.end


def next_send_time(hours: WorkingHours, wanted: datetime) -> datetime | None:
    """The earliest aware-UTC instant at or after ``wanted`` when the person may be prompted.

    None when there is none within ``SEARCH_DAYS`` (in practice: no working days at all), so the caller
    has to decide what not sending means instead of quietly sending at a bad time.
    """
    wanted = _require_aware(wanted, "wanted").astimezone(UTC)
    if not hours.days:
        return None
    if is_within(hours, wanted):
        return wanted
    zone = hours.zone
    first_day = wanted.astimezone(zone).date() - timedelta(days=1)
    if hours.paused_until is not None:
        first_day = max(first_day, hours.paused_until - timedelta(days=1))
    for offset in range(SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        if not _may_open_on(hours, day):
            continue
        found = _earliest_opening(hours, day, wanted)
        if found is not None:
            # Local days can overlap in UTC around a fall-back at midnight: let the next day compete.
            later = _earliest_opening(hours, day + timedelta(days=1), wanted)
            return found if later is None else min(found, later)
    return None


def _may_open_on(hours: WorkingHours, day: date) -> bool:
    paused = hours.paused_until is not None and day < hours.paused_until
    return not paused and DAY_NAMES[day.weekday()] in hours.days


def _earliest_opening(hours: WorkingHours, day: date, wanted: datetime) -> datetime | None:
    """The earliest allowed instant >= wanted among the moments the hours can open around ``day``.

    Allowed time begins either when the local clock reaches ``start`` (once, twice at a fall-back, or
    at the end of a gap that skips it) or when the clock jumps into the hours at a DST transition, so
    those moments are the only candidates to try.
    """
    zone = hours.zone
    wall = datetime.combine(day, hours.start)
    candidates = [
        local_at(hours.time_zone, day, hours.start),
        wall.replace(tzinfo=zone, fold=1).astimezone(UTC),
        *_transitions(zone, day),
    ]
    allowed = [moment for moment in candidates if moment >= wanted and is_within(hours, moment)]
    return min(allowed, default=None)


def _transitions(zone: ZoneInfo, day: date) -> list[datetime]:
    """UTC offset changes in a window of UTC time that covers the local ``day``."""
    midnight = datetime.combine(day, time(), tzinfo=UTC)
    moment, end = midnight - _DAY_BEFORE, midnight + _DAY_AFTER
    found: list[datetime] = []
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        step_end = moment + _SCAN_STEP
        step_offset = step_end.astimezone(zone).utcoffset()
        if step_offset != offset:
            found.append(_first_instant(moment, step_end, _offset_differs(zone, offset)))
        moment, offset = step_end, step_offset
    return found


def _offset_differs(zone: ZoneInfo, before: timedelta | None) -> Callable[[datetime], bool]:
    def differs(instant: datetime) -> bool:
        return instant.astimezone(zone).utcoffset() != before

    return differs


def _first_instant(low: datetime, high: datetime, reached: Callable[[datetime], bool]) -> datetime:
    """The first whole UTC second in [low, high] where a monotone condition holds (it holds at high).

    Time zone transitions fall on whole seconds, so a search over seconds finds them exactly.
    """
    low_second, high_second = math.floor(low.timestamp()), math.ceil(high.timestamp())
    while low_second < high_second:
        middle = (low_second + high_second) // 2
        if reached(datetime.fromtimestamp(middle, UTC)):
            high_second = middle
        else:
            low_second = middle + 1
    return datetime.fromtimestamp(high_second, UTC)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _zone(time_zone: str) -> ZoneInfo:
    return zone_of(time_zone)  # ValueError for a zone Tend does not accept


def _parse_time(raw: str) -> time | None:
    try:
        parsed = time.fromisoformat(raw.strip())
    except (ValueError, AttributeError):
        return None
    return None if parsed.tzinfo is not None else parsed


_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_DAY_WORDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_clock(raw: str) -> time | None:
    """24-hour ``HH:MM``, the one way working hours are written (the command and the form)."""
    match = _CLOCK.fullmatch(raw.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return time(int(match[1]), int(match[2]))


def _day_index(raw: str) -> int | None:
    return next((i for i, name in enumerate(_DAY_WORDS) if len(raw) >= 3 and name.startswith(raw)), None)


def parse_days(raw: str) -> tuple[str, ...] | str:
    """Week-ordered day names from ``mon-fri`` / ``mon, wed`` / ``fri-mon``; or the first part that
    isn't a day, so the answer can name it. Nothing given gives ``()``."""
    spec = re.sub(r"\s*[-–]\s*", "-", raw.casefold().strip())
    picked: set[int] = set()
    for part in filter(None, re.split(r"[,\s]+", spec)):
        ends = part.split("-")
        first, last = _day_index(ends[0]), _day_index(ends[-1])
        if len(ends) > 2 or first is None or last is None:
            return part
        picked.update((first + step) % 7 for step in range((last - first) % 7 + 1))
    return tuple(DAY_NAMES[index] for index in sorted(picked))


def _require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment
