"""When rituals fire: wall-clock times in a time zone, as UTC instants, across DST changes."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.recurrence import next_run, occurrences_between, trigger_for, valid_time_zone
from practices.schedules import WEEKDAYS, Recurrence, parse_schedule

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def schedule(text: str) -> Recurrence:
    recurrence = parse_schedule(text)
    assert isinstance(recurrence, Recurrence), recurrence
    return recurrence


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local(moment: datetime, time_zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(time_zone))


def days_around(text: str, time_zone: str, day: date, before: int = 2, after: int = 3) -> list[datetime]:
    start = datetime.combine(day - timedelta(before), time(), ZoneInfo(time_zone))
    end = datetime.combine(day + timedelta(after), time(), ZoneInfo(time_zone))
    return occurrences_between(schedule(text), time_zone, start, end)


# --- ordinary weeks -------------------------------------------------------------------------------


def test_berlin_morning_ritual_moves_in_utc_with_summer_time() -> None:
    ritual = schedule("mon,wed 09:25")
    winter = next_run(ritual, BERLIN, utc(2026, 1, 1))
    summer = next_run(ritual, BERLIN, utc(2026, 7, 1))
    assert winter == utc(2026, 1, 5, 8, 25)
    assert summer == utc(2026, 7, 1, 7, 25)
    assert local(winter, BERLIN).strftime("%a %H:%M") == "Mon 09:25"
    assert local(summer, BERLIN).strftime("%a %H:%M") == "Wed 09:25"


def test_next_run_is_strictly_after() -> None:
    ritual = schedule("mon,wed 09:25")
    fire = utc(2026, 1, 5, 8, 25)
    assert next_run(ritual, BERLIN, fire - timedelta(microseconds=1)) == fire
    assert next_run(ritual, BERLIN, fire) == utc(2026, 1, 7, 8, 25)
    assert next_run(ritual, BERLIN, fire + timedelta(seconds=30)) == utc(2026, 1, 7, 8, 25)


def test_answers_are_aware_utc_whatever_zone_after_is_in() -> None:
    after = datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 00:00 UTC
    fire = next_run(schedule("mon 09:25"), BERLIN, after)
    assert fire == utc(2026, 1, 5, 8, 25)
    assert fire is not None and fire.tzinfo is UTC


def test_same_recurrence_in_tokyo_and_los_angeles_is_two_different_instants() -> None:
    ritual = schedule("daily 09:30")
    tokyo = next_run(ritual, "Asia/Tokyo", utc(2026, 1, 15))
    los_angeles = next_run(ritual, "America/Los_Angeles", utc(2026, 1, 15))
    assert tokyo == utc(2026, 1, 15, 0, 30)
    assert los_angeles == utc(2026, 1, 15, 17, 30)
    assert (
        local(tokyo, "Asia/Tokyo").time() == local(los_angeles, "America/Los_Angeles").time() == time(9, 30)
    )


def test_cron_weekday_numbers_are_standard_cron_monday_is_one() -> None:
    fires = occurrences_between(schedule("cron 0 9 * * 1-5"), BERLIN, utc(2026, 1, 5), utc(2026, 1, 12))
    assert fires == [utc(2026, 1, day, 8) for day in range(5, 10)]
    assert [local(fire, BERLIN).strftime("%a %H:%M") for fire in fires] == [
        "Mon 09:00",
        "Tue 09:00",
        "Wed 09:00",
        "Thu 09:00",
        "Fri 09:00",
    ]


def test_cron_sunday_is_zero_and_seven() -> None:
    for text in ("cron 0 9 * * 0", "cron 0 9 * * 7"):
        assert next_run(schedule(text), BERLIN, utc(2026, 1, 5)) == utc(2026, 1, 11, 8)


def test_cron_fields_minute_hour_day_month() -> None:
    ritual = schedule("cron */30 8-9 1,15 jan,jul *")
    fires = occurrences_between(ritual, "UTC", utc(2026, 1, 1), utc(2026, 12, 31))
    assert len(fires) == 2 * 2 * 2 * 2  # days x months x hours x minutes
    assert fires[:4] == [
        utc(2026, 1, 1, 8),
        utc(2026, 1, 1, 8, 30),
        utc(2026, 1, 1, 9),
        utc(2026, 1, 1, 9, 30),
    ]
    assert fires[-1] == utc(2026, 7, 15, 9, 30)


def test_first_monday_of_each_month() -> None:
    fires = occurrences_between(schedule("first mon 10:00"), BERLIN, utc(2026, 1, 1), utc(2026, 7, 1))
    assert fires == [
        utc(2026, 1, 5, 9),
        utc(2026, 2, 2, 9),
        utc(2026, 3, 2, 9),
        utc(2026, 4, 6, 8),  # summer time from 29 March: 10:00 CEST is 08:00 UTC
        utc(2026, 5, 4, 8),
        utc(2026, 6, 1, 8),
    ]


def test_last_friday_of_each_month() -> None:
    fires = occurrences_between(schedule("last fri 16:00"), BERLIN, utc(2026, 1, 1), utc(2026, 7, 1))
    assert fires == [
        utc(2026, 1, 30, 15),
        utc(2026, 2, 27, 15),
        utc(2026, 3, 27, 15),
        utc(2026, 4, 24, 14),
        utc(2026, 5, 29, 14),
        utc(2026, 6, 26, 14),
    ]


def test_fourth_and_last_differ_in_a_month_with_five_fridays() -> None:
    may = (utc(2026, 5, 1), utc(2026, 6, 1))
    assert occurrences_between(schedule("fourth fri 16:00"), BERLIN, *may) == [utc(2026, 5, 22, 14)]
    assert occurrences_between(schedule("last fri 16:00"), BERLIN, *may) == [utc(2026, 5, 29, 14)]


# --- weeks apart ----------------------------------------------------------------------------------


def test_every_two_weeks_fires_on_alternate_thursdays_from_the_anchor_week() -> None:
    ritual = schedule("every 2 weeks thu 10:00")
    fires = occurrences_between(ritual, BERLIN, utc(2026, 1, 1), utc(2026, 3, 1), anchor=date(2026, 1, 5))
    assert fires == [utc(2026, 1, 8, 9), utc(2026, 1, 22, 9), utc(2026, 2, 5, 9), utc(2026, 2, 19, 9)]
    shifted = occurrences_between(ritual, BERLIN, utc(2026, 1, 14), utc(2026, 3, 1), anchor=date(2026, 1, 14))
    assert shifted == [utc(2026, 1, 15, 9), utc(2026, 1, 29, 9), utc(2026, 2, 12, 9), utc(2026, 2, 26, 9)]


def test_anchor_anywhere_in_its_week_counts_that_week() -> None:
    ritual = schedule("every 2 weeks thu 10:00")
    for anchor in (date(2026, 1, 5), date(2026, 1, 8), date(2026, 1, 11)):
        assert next_run(ritual, BERLIN, utc(2026, 1, 1), anchor=anchor) == utc(2026, 1, 8, 9)


def test_weeks_apart_with_several_days_keeps_whole_weeks() -> None:
    ritual = schedule("every 3 weeks mon,fri 09:00")
    fires = occurrences_between(ritual, "UTC", utc(2026, 1, 7), utc(2026, 2, 21), anchor=date(2026, 1, 7))
    assert fires == [
        utc(2026, 1, 9, 9),
        utc(2026, 1, 26, 9),
        utc(2026, 1, 30, 9),
        utc(2026, 2, 16, 9),
        utc(2026, 2, 20, 9),
    ]


def test_weeks_apart_counts_calendar_weeks_across_a_53_week_year() -> None:
    ritual = schedule("every 2 weeks mon 09:00")
    fires = occurrences_between(ritual, "UTC", utc(2026, 12, 1), utc(2027, 1, 20), anchor=date(2026, 12, 14))
    assert fires == [utc(2026, 12, 14, 9), utc(2026, 12, 28, 9), utc(2027, 1, 11, 9)]


def test_weeks_apart_needs_an_anchor() -> None:
    with pytest.raises(ValueError, match="anchor"):
        next_run(schedule("every 2 weeks thu 10:00"), BERLIN, utc(2026, 1, 1))


def test_weekly_schedules_need_no_anchor_and_ignore_one() -> None:
    ritual = schedule("thu 10:00")
    assert next_run(ritual, BERLIN, utc(2026, 1, 1)) == next_run(
        ritual, BERLIN, utc(2026, 1, 1), date(2025, 3, 3)
    )


# --- DST: a 09:30 ritual stays at 09:30 local, once a day --------------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "change_day", "hours_before", "hours_after"),
    [
        (BERLIN, date(2026, 3, 29), 1, 2),  # CET -> CEST
        (BERLIN, date(2026, 10, 25), 2, 1),  # CEST -> CET
        (NEW_YORK, date(2026, 3, 8), -5, -4),  # EST -> EDT
        (NEW_YORK, date(2026, 11, 1), -4, -5),  # EDT -> EST
    ],
)
def test_daily_ritual_fires_once_a_day_at_the_same_local_time_across_the_change(
    time_zone: str, change_day: date, hours_before: int, hours_after: int
) -> None:
    fires = days_around("daily 09:30", time_zone, change_day, before=3, after=4)
    expected = [
        datetime.combine(day, time(9, 30), UTC)
        - timedelta(hours=hours_before if day < change_day else hours_after)
        for day in (change_day + timedelta(offset) for offset in range(-3, 4))
    ]
    assert fires == expected
    assert [local(fire, time_zone).time() for fire in fires] == [time(9, 30)] * 7
    assert len({local(fire, time_zone).date() for fire in fires}) == 7


# --- DST: times the clocks skip or repeat -----------------------------------------------------------


def test_berlin_0230_on_the_spring_forward_day_fires_once_when_the_clocks_jump() -> None:
    # 02:00 CET jumps to 03:00 CEST on 29 March 2026: 02:30 does not exist that day.
    fires = days_around("daily 02:30", BERLIN, date(2026, 3, 29), before=1, after=2)
    assert fires == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]
    assert local(fires[1], BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


def test_berlin_0230_on_the_fall_back_day_fires_once_on_the_first_pass() -> None:
    # 03:00 CEST goes back to 02:00 CET on 25 October 2026: 02:30 happens twice that night.
    fires = days_around("daily 02:30", BERLIN, date(2026, 10, 25), before=1, after=2)
    assert fires == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert local(fires[1], BERLIN).strftime("%H:%M %Z") == "02:30 CEST"


def test_new_york_0230_on_the_spring_forward_day_fires_once_when_the_clocks_jump() -> None:
    fires = days_around("daily 02:30", NEW_YORK, date(2026, 3, 8), before=1, after=2)
    assert fires == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]
    assert local(fires[1], NEW_YORK).strftime("%H:%M %Z") == "03:00 EDT"


def test_new_york_repeats_0100_to_0200_so_0130_fires_once_and_0230_is_ordinary() -> None:
    repeated = days_around("daily 01:30", NEW_YORK, date(2026, 11, 1), before=1, after=2)
    assert repeated == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    assert local(repeated[1], NEW_YORK).strftime("%H:%M %Z") == "01:30 EDT"
    ordinary = days_around("daily 02:30", NEW_YORK, date(2026, 11, 1), before=1, after=2)
    assert ordinary == [utc(2026, 10, 31, 6, 30), utc(2026, 11, 1, 7, 30), utc(2026, 11, 2, 7, 30)]


@pytest.mark.parametrize(
    "after",
    [
        utc(2026, 10, 25, 0, 45),  # 02:45 CEST: between the two passes of 02:30
        utc(2026, 10, 25, 1, 15),  # 02:15 CET: inside the repeated hour, before its second 02:30
        utc(2026, 10, 25, 1, 30),  # 02:30 CET: the second 02:30 itself
    ],
)
def test_the_second_pass_of_a_repeated_time_never_fires(after: datetime) -> None:
    assert next_run(schedule("daily 02:30"), BERLIN, after) == utc(2026, 10, 26, 1, 30)


def test_a_skipped_time_counts_as_passed_once_the_clocks_have_jumped() -> None:
    ritual = schedule("daily 02:30")
    assert next_run(ritual, BERLIN, utc(2026, 3, 29, 0, 59)) == utc(2026, 3, 29, 1, 0)
    assert next_run(ritual, BERLIN, utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 30, 0, 30)
    assert next_run(ritual, BERLIN, utc(2026, 3, 29, 1, 10)) == utc(2026, 3, 30, 0, 30)


def test_minute_cron_through_the_repeated_hour_skips_its_second_pass() -> None:
    fires = occurrences_between(
        schedule("cron */20 * * * *"), BERLIN, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3)
    )
    assert [local(fire, BERLIN).strftime("%H:%M %Z") for fire in fires] == [
        "01:40 CEST",
        "02:00 CEST",
        "02:20 CEST",
        "02:40 CEST",
        "03:00 CET",
        "03:20 CET",
        "03:40 CET",
    ]


def test_skipped_times_and_the_time_after_them_fire_once_together() -> None:
    fires = occurrences_between(
        schedule("cron 0,30 * * * *"), BERLIN, utc(2026, 3, 29, 0), utc(2026, 3, 29, 2)
    )
    assert fires == [
        utc(2026, 3, 29, 0, 0),
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 29, 1, 30),
    ]
    assert [local(fire, BERLIN).strftime("%H:%M") for fire in fires] == ["01:00", "01:30", "03:00", "03:30"]


@pytest.mark.parametrize(("day", "count"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 24)])
def test_hourly_cron_fires_once_per_wall_clock_hour_on_change_days(day: date, count: int) -> None:
    assert len(days_around("cron 0 * * * *", BERLIN, day, before=0, after=1)) == count


def test_weekly_ritual_just_after_midnight_is_not_skipped_in_the_spring_forward_week() -> None:
    # APScheduler 3.11's own zone-aware walk skips this Monday (it turns up on Thursday).
    ritual = schedule("mon,thu,sat 00:30")
    assert next_run(ritual, BERLIN, utc(2026, 3, 28, 7)) == utc(2026, 3, 29, 22, 30)


# --- properties against a plain day-by-day reading -------------------------------------------------

ZONES = [
    BERLIN,
    NEW_YORK,
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago",  # changes at midnight
    "Antarctica/Troll",  # 2-hour DST
    "Asia/Tokyo",
]


def _clock_changes(time_zone: str, year: int) -> list[datetime]:
    zone, changes = ZoneInfo(time_zone), []
    moment = utc(year, 1, 1)
    while moment.year == year:
        if (moment + timedelta(hours=1)).astimezone(zone).utcoffset() != moment.astimezone(zone).utcoffset():
            changes.append(moment)
        moment += timedelta(hours=1)
    return changes or [utc(year, 6, 1)]


CHANGES = {time_zone: _clock_changes(time_zone, 2026) for time_zone in ZONES}


def _wall_to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The rule, read plainly: first pass of a repeated time; the first real minute after a skipped one."""
    while wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        wall += timedelta(minutes=1)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _matches(recurrence: Recurrence, day: date) -> bool:
    if recurrence.kind == "weekly":
        return WEEKDAYS[day.weekday()] in recurrence.days
    assert recurrence.weekday is not None
    same = [
        week[WEEKDAYS.index(recurrence.weekday)]
        for week in calendar.monthcalendar(day.year, day.month)
        if week[WEEKDAYS.index(recurrence.weekday)]
    ]
    return day.day == same[recurrence.nth - 1 if recurrence.nth and recurrence.nth > 0 else -1]


def reference_next_run(recurrence: Recurrence, time_zone: str, after: datetime) -> datetime:
    zone = ZoneInfo(time_zone)
    wall_after = after.astimezone(zone).replace(tzinfo=None)
    assert recurrence.at is not None
    candidates = []
    for offset in range(-2, 40):
        day = wall_after.date() + timedelta(offset)
        wall = datetime.combine(day, recurrence.at)
        if _matches(recurrence, day) and wall > wall_after:
            instant = _wall_to_instant(wall, zone)
            if instant > after:
                candidates.append(instant)
    return min(candidates)


times = st.one_of(
    st.builds(time, st.integers(0, 3), st.sampled_from([0, 15, 30, 59])),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
)
recurrences = st.one_of(
    st.builds(
        lambda at, days: Recurrence("weekly", at, days=tuple(day for day in WEEKDAYS if day in days)),
        times,
        st.sets(st.sampled_from(WEEKDAYS), min_size=1),
    ),
    st.builds(
        lambda at, nth, weekday: Recurrence("monthly", at, nth=nth, weekday=weekday),
        times,
        st.sampled_from([1, 2, 3, 4, -1]),
        st.sampled_from(WEEKDAYS),
    ),
)


@st.composite
def moments_near_clock_changes(draw: st.DrawFn) -> tuple[str, datetime]:
    time_zone = draw(st.sampled_from(ZONES))
    change = draw(st.sampled_from(CHANGES[time_zone]))
    seconds = draw(st.integers(-3 * 86400, 3 * 86400))
    microseconds = draw(st.sampled_from([0, 1, 999_999]))
    return time_zone, change + timedelta(seconds=seconds, microseconds=microseconds)


@settings(max_examples=400, deadline=None)
@given(recurrences, moments_near_clock_changes())
def test_next_run_agrees_with_a_plain_reading_of_the_rules(
    recurrence: Recurrence, zone_and_after: tuple[str, datetime]
) -> None:
    time_zone, after = zone_and_after
    assert next_run(recurrence, time_zone, after) == reference_next_run(recurrence, time_zone, after)


@settings(max_examples=100, deadline=None)
@given(recurrences, moments_near_clock_changes())
def test_occurrences_are_strictly_increasing_and_each_local_time_fires_once(
    recurrence: Recurrence, zone_and_after: tuple[str, datetime]
) -> None:
    time_zone, start = zone_and_after
    fires = occurrences_between(recurrence, time_zone, start, start + timedelta(days=10))
    assert fires == sorted(set(fires))
    assert len({local(fire, time_zone).date() for fire in fires}) == len(fires)
    chained, moment = [], start - timedelta(microseconds=1)
    while (moment := next_run(recurrence, time_zone, moment)) is not None and moment < start + timedelta(
        days=10
    ):
        chained.append(moment)
    assert chained == fires


# --- the small print ------------------------------------------------------------------------------


def test_occurrences_between_is_half_open_and_bounded() -> None:
    ritual = schedule("daily 09:00")
    fires = occurrences_between(ritual, "UTC", utc(2026, 1, 1, 9), utc(2026, 1, 3, 9))
    assert fires == [utc(2026, 1, 1, 9), utc(2026, 1, 2, 9)]
    every_minute = schedule("cron * * * * *")
    assert len(occurrences_between(every_minute, "UTC", utc(2026, 1, 1), utc(2026, 2, 1))) == 1000
    assert len(occurrences_between(every_minute, "UTC", utc(2026, 1, 1), utc(2026, 2, 1), limit=5)) == 5


def test_a_date_that_comes_only_in_leap_years_waits_for_one() -> None:
    assert next_run(schedule("cron 0 9 29 2 *"), "UTC", utc(2026, 1, 1)) == utc(2028, 2, 29, 9)


def test_naive_datetimes_and_unknown_zones_are_refused() -> None:
    ritual = schedule("daily 09:00")
    with pytest.raises(ValueError, match="aware"):
        next_run(ritual, BERLIN, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="time zone"):
        next_run(ritual, "Mars/Olympus_Mons", utc(2026, 1, 1))
    with pytest.raises(ValueError, match="time zone"):
        trigger_for(ritual, "Europe/berlin")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Europe/Berlin", True),
        ("America/New_York", True),
        ("UTC", True),
        ("Asia/Kolkata", True),
        ("europe/berlin", False),
        ("Europe", False),
        ("", False),
        ("localtime", False),
        ("../etc/passwd", False),
        ("Europe/Berlin ", False),
        ("CET+1", False),
    ],
)
def test_valid_time_zone(name: str, valid: bool) -> None:
    assert valid_time_zone(name) is valid


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("mon,wed 09:25", "day_of_week='mon,wed', hour='9', minute='25', second='0'"),
        ("last fri 16:00", "day='last fri', hour='16', minute='0', second='0'"),
        ("second tue 9am", "day='2nd tue', hour='9', minute='0', second='0'"),
        ("cron 0 9 * * 1-5", "month='*', day='*', day_of_week='mon-fri', hour='9', minute='0'"),
    ],
)
def test_trigger_for_builds_apscheduler_cron_triggers(text: str, fields: str) -> None:
    trigger = trigger_for(schedule(text), BERLIN)
    assert isinstance(trigger, CronTrigger)
    assert str(trigger) == f"cron[{fields}]"
    assert str(trigger.timezone) == BERLIN
