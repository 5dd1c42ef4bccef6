"""When a ritual fires: a :class:`Recurrence` in a time zone, as instants in UTC.

A schedule names wall-clock times ("Mon at 09:30 in Europe/Berlin"), so across a DST change a 09:30
ritual keeps firing at 09:30 local and its UTC instant moves with the offset. APScheduler 3's
``CronTrigger`` walks the calendar (which days, which times, "last fri"), but on a DST-free clock:
run in a real zone, 3.11 fires a repeated time twice and then stops moving inside the repeated hour
(agronholm/apscheduler#1021), and in the week clocks go forward it skips days for times within an
hour after midnight (00:30 Mon after Sat 28 March 2026 in Berlin comes out as Thu). So the trigger
runs in UTC over wall-clock times, and this module turns each wall-clock time into an instant with
zoneinfo, by two rules pinned in ``tests/test_recurrence.py``:

* A time the clocks repeat (02:30 on 2026-10-25 in Europe/Berlin, where 03:00 goes back to 02:00)
  fires once, at its first pass: 02:30 CEST, 00:30 UTC. Nothing fires during the second pass, so a
  ``cron */20 * * * *`` goes 02:40 CEST, then 03:00 CET.
* A time the clocks skip (02:30 on 2026-03-29 in Europe/Berlin, where 02:00 jumps to 03:00) fires
  once, the moment the clocks jump: 03:00 CEST, 01:00 UTC, as cron(8) does. Several skipped times,
  and a 03:00 beside them, fire once together.

Whether a time is still to come is judged on the local wall clock. A schedule that skips weeks
("every 2 weeks") counts ISO weeks from the week of its anchor date (the day it was created), in its
own time zone; cron fields cannot say that, so the filter is here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from practices.local_time import is_known_zone
from practices.schedules import Recurrence

MAX_OCCURRENCES = 1000
_TICK = timedelta(microseconds=1)
_POSITIONS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}


def valid_time_zone(name: str) -> bool:
    """IANA names only (not "localtime"), so a stored zone means the same on every replica."""
    return is_known_zone(name)


def trigger_for(recurrence: Recurrence, time_zone: str) -> BaseTrigger:
    """The APScheduler trigger for a recurrence's wall-clock times, in its time zone.

    For showing and inspecting a schedule, not for firing it: around DST changes the trigger's own
    fire times are wrong (see the module docstring), and it knows nothing of weeks skipped by
    ``every_weeks``. Fire times come from :func:`next_run`.
    """
    if not valid_time_zone(time_zone):
        raise ValueError(f"unknown time zone {time_zone!r}")
    return CronTrigger(**_fields(recurrence), timezone=time_zone)


def next_run(
    recurrence: Recurrence, time_zone: str, after: datetime, anchor: date | None = None
) -> datetime | None:
    """The first fire time strictly after ``after`` (aware), in UTC; None if there is none.

    ``anchor`` is the date the schedule was created; a schedule that skips weeks needs it.
    """
    return next(_fire_times(recurrence, time_zone, after, anchor), None)


def occurrences_between(
    recurrence: Recurrence,
    time_zone: str,
    start: datetime,
    end: datetime,
    anchor: date | None = None,
    limit: int = MAX_OCCURRENCES,
) -> list[datetime]:
    """Fire times in ``[start, end)``, in UTC, at most ``limit`` of them (a cron can fire every minute)."""
    end_utc = _as_utc(end)
    found: list[datetime] = []
    for fire_time in _fire_times(recurrence, time_zone, _as_utc(start) - _TICK, anchor):
        if fire_time >= end_utc or len(found) >= limit:
            break
        found.append(fire_time)
    return found


def _fire_times(
    recurrence: Recurrence, time_zone: str, after: datetime, anchor: date | None
) -> Iterator[datetime]:
    if recurrence.every_weeks > 1 and anchor is None:
        raise ValueError("a schedule that skips weeks needs the anchor date it counts weeks from")
    if not valid_time_zone(time_zone):
        raise ValueError(f"unknown time zone {time_zone!r}")
    zone = ZoneInfo(time_zone)
    # UTC has no DST, so here APScheduler only walks the calendar of wall-clock times.
    wall_clock = CronTrigger(**_fields(recurrence), timezone=UTC)
    after = _as_utc(after)
    local = after.astimezone(zone)
    cursor = local.replace(tzinfo=None)
    if local.fold and _repeated(cursor, zone):
        # The rest of the repeated hour was already seen on its first pass.
        cursor = _leave(cursor, zone, _repeated) - _TICK
    previous = after
    while (wall := wall_clock.get_next_fire_time(None, (cursor + _TICK).replace(tzinfo=UTC))) is not None:
        cursor = wall.replace(tzinfo=None)
        if anchor is not None and not _in_cycle(cursor.date(), anchor, recurrence.every_weeks):
            continue
        fire_time = _instant(cursor, zone)
        if fire_time > previous:  # several skipped times all come at the jump: fire once
            yield fire_time
            previous = fire_time


def _fields(recurrence: Recurrence) -> dict[str, str | int]:
    if recurrence.kind == "cron":
        assert recurrence.cron is not None
        minute, hour, day, month, day_of_week = recurrence.cron.split()
        return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": day_of_week}
    assert recurrence.at is not None
    at: dict[str, str | int] = {"hour": recurrence.at.hour, "minute": recurrence.at.minute, "second": 0}
    if recurrence.kind == "monthly":
        assert recurrence.nth is not None and recurrence.weekday is not None
        return {"day": f"{_POSITIONS[recurrence.nth]} {recurrence.weekday}", **at}
    return {"day_of_week": ",".join(recurrence.days), **at}


def _in_cycle(day: date, anchor: date, every_weeks: int) -> bool:
    weeks_apart = ((day - timedelta(day.weekday())) - (anchor - timedelta(anchor.weekday()))).days // 7
    return weeks_apart % every_weeks == 0


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The moment a wall-clock time comes: its first pass if repeated, the jump if skipped."""
    if _skipped(wall, zone):
        wall = _leave(wall, zone, _skipped)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _offsets(wall: datetime, zone: ZoneInfo) -> tuple[timedelta, timedelta]:
    """The UTC offsets of a wall-clock time read before and after a nearby clock change."""
    before, after = (wall.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1))
    assert before is not None and after is not None
    return before, after


def _repeated(wall: datetime, zone: ZoneInfo) -> bool:
    before, after = _offsets(wall, zone)
    return before > after


def _skipped(wall: datetime, zone: ZoneInfo) -> bool:
    before, after = _offsets(wall, zone)
    return before < after


def _leave(wall: datetime, zone: ZoneInfo, inside: Callable[[datetime, ZoneInfo], bool]) -> datetime:
    """The first wall-clock second after ``wall`` that is no longer skipped (or repeated)."""
    before, after = _offsets(wall, zone)
    start = wall.replace(microsecond=0)
    # A skipped or repeated stretch is as long as the offset change, so the answer lies within it.
    within, outside = 0, int(abs(after - before).total_seconds())
    while outside - within > 1:
        middle = (within + outside) // 2
        if inside(start + timedelta(seconds=middle), zone):
            within = middle
        else:
            outside = middle
    return start + timedelta(seconds=outside)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("recurrence maths needs aware datetimes")
    return moment.astimezone(UTC)
