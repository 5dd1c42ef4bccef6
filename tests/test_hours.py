"""Personal prompts wait for the person's own working hours, in their own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from practices.hours import DAY_NAMES, WorkingHours, is_within, local_at, next_send_time

DEFAULT_DAYS = "mon,tue,wed,thu,fri"


def default_hours(time_zone: str, paused_until: date | None = None) -> WorkingHours:
    return WorkingHours.of(time_zone, DEFAULT_DAYS, "09:00", "17:30", paused_until)


def at(time_zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(time_zone))


def local(instant: datetime | None, time_zone: str) -> datetime:
    assert instant is not None
    return instant.astimezone(ZoneInfo(time_zone))


# 2026-06-09 is a Tuesday.


@pytest.mark.parametrize("time_zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_prompt_inside_hours_is_sent_at_the_persons_own_time(time_zone: str) -> None:
    wanted = at(time_zone, 2026, 6, 9, 9, 30)
    sent = next_send_time(default_hours(time_zone), wanted)
    assert sent == wanted
    assert sent is not None and sent.tzinfo is UTC


def test_same_local_time_is_a_different_instant_for_tokyo_and_los_angeles() -> None:
    tokyo = next_send_time(default_hours("Asia/Tokyo"), at("Asia/Tokyo", 2026, 6, 9, 9, 30))
    los_angeles = next_send_time(
        default_hours("America/Los_Angeles"), at("America/Los_Angeles", 2026, 6, 9, 9, 30)
    )
    assert tokyo == datetime(2026, 6, 9, 0, 30, tzinfo=UTC)
    assert los_angeles == datetime(2026, 6, 9, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize("time_zone", ["Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin"])
def test_evening_prompt_waits_for_the_next_morning(time_zone: str) -> None:
    sent = next_send_time(default_hours(time_zone), at(time_zone, 2026, 6, 9, 20))
    assert local(sent, time_zone).replace(tzinfo=None) == datetime(2026, 6, 10, 9, 0)


def test_early_prompt_waits_for_the_start_of_the_same_day() -> None:
    sent = next_send_time(default_hours("Europe/Berlin"), at("Europe/Berlin", 2026, 6, 9, 8))
    assert local(sent, "Europe/Berlin").replace(tzinfo=None) == datetime(2026, 6, 9, 9, 0)


def test_end_of_hours_is_outside_them() -> None:
    sent = next_send_time(default_hours("Europe/Berlin"), at("Europe/Berlin", 2026, 6, 9, 17, 30))
    assert local(sent, "Europe/Berlin").replace(tzinfo=None) == datetime(2026, 6, 10, 9, 0)


def test_friday_evening_waits_until_monday_morning() -> None:
    sent = next_send_time(default_hours("Asia/Tokyo"), at("Asia/Tokyo", 2026, 6, 12, 18))
    assert local(sent, "Asia/Tokyo").replace(tzinfo=None) == datetime(2026, 6, 15, 9, 0)


@pytest.mark.parametrize("hour", [0, 11, 23])
def test_saturday_waits_until_monday_morning(hour: int) -> None:
    sent = next_send_time(default_hours("America/Los_Angeles"), at("America/Los_Angeles", 2026, 6, 13, hour))
    assert local(sent, "America/Los_Angeles").replace(tzinfo=None) == datetime(2026, 6, 15, 9, 0)


def test_wanted_may_be_given_in_any_time_zone() -> None:
    # 20:00 UTC on Tuesday is 05:00 Wednesday in Tokyo: before hours, so 09:00 Wednesday Tokyo.
    sent = next_send_time(default_hours("Asia/Tokyo"), datetime(2026, 6, 9, 20, tzinfo=UTC))
    assert sent == datetime(2026, 6, 10, 0, 0, tzinfo=UTC)


def test_custom_hours_thursday_afternoon_waits_until_monday() -> None:
    hours = WorkingHours.of("Europe/London", "mon,tue,wed,thu", "08:00", "16:00", None)
    sent = next_send_time(hours, at("Europe/London", 2026, 6, 11, 16, 30))
    assert local(sent, "Europe/London").replace(tzinfo=None) == datetime(2026, 6, 15, 8, 0)
    assert not is_within(hours, at("Europe/London", 2026, 6, 12, 10))


def test_paused_person_gets_nothing_before_the_pause_ends() -> None:
    hours = default_hours("Europe/Berlin", paused_until=date(2026, 12, 1))
    sent = next_send_time(hours, at("Europe/Berlin", 2026, 11, 20, 10))
    assert local(sent, "Europe/Berlin").replace(tzinfo=None) == datetime(2026, 12, 1, 9, 0)
    assert not is_within(hours, at("Europe/Berlin", 2026, 11, 30, 10))


def test_prompts_resume_on_the_pause_date() -> None:
    hours = default_hours("Europe/Berlin", paused_until=date(2026, 12, 1))
    wanted = at("Europe/Berlin", 2026, 12, 1, 10)
    assert is_within(hours, wanted)
    assert next_send_time(hours, wanted) == wanted


def test_pause_ending_on_a_weekend_resumes_on_the_next_working_day() -> None:
    hours = default_hours("Europe/Berlin", paused_until=date(2026, 12, 5))  # a Saturday
    sent = next_send_time(hours, at("Europe/Berlin", 2026, 11, 20, 10))
    assert local(sent, "Europe/Berlin").replace(tzinfo=None) == datetime(2026, 12, 7, 9, 0)


def test_a_pause_far_away_is_still_found() -> None:
    hours = default_hours("UTC", paused_until=date(2030, 1, 7))
    assert next_send_time(hours, datetime(2026, 6, 9, 10, tzinfo=UTC)) == datetime(2030, 1, 7, 9, tzinfo=UTC)


def test_no_working_days_means_never() -> None:
    hours = WorkingHours("Europe/Berlin", (), time(9), time(17, 30))
    assert next_send_time(hours, at("Europe/Berlin", 2026, 6, 9, 10)) is None
    assert not is_within(hours, at("Europe/Berlin", 2026, 6, 9, 10))


# Europe/Berlin: clocks go forward on Sunday 2026-03-29 and back on Sunday 2026-10-25.


def test_working_day_after_spring_forward_opens_at_nine_local() -> None:
    sent = next_send_time(default_hours("Europe/Berlin"), at("Europe/Berlin", 2026, 3, 27, 18))
    assert sent == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert local(sent, "Europe/Berlin").hour == 9


def test_working_day_after_fall_back_opens_at_nine_local() -> None:
    sent = next_send_time(default_hours("Europe/Berlin"), at("Europe/Berlin", 2026, 10, 23, 18))
    assert sent == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert local(sent, "Europe/Berlin").hour == 9


def test_start_inside_a_dst_gap_opens_at_the_end_of_the_gap() -> None:
    hours = WorkingHours("Europe/Berlin", ("sun",), time(2, 30), time(6))
    sent = next_send_time(hours, datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert sent == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST, the first instant after 02:00
    assert local(sent, "Europe/Berlin").replace(tzinfo=None) == datetime(2026, 3, 29, 3, 0)


def test_clock_falling_back_into_the_hours_opens_them_again() -> None:
    hours = WorkingHours("Europe/Berlin", ("sun",), time(1), time(2, 30))
    # 02:45 CEST is past the end; an hour later the clock reads 02:00 CET, inside the hours again.
    sent = next_send_time(hours, datetime(2026, 10, 25, 0, 45, tzinfo=UTC))
    assert sent == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


def test_local_at_plain_wall_time() -> None:
    assert local_at("Asia/Tokyo", date(2026, 6, 9), time(9, 30)) == datetime(2026, 6, 9, 0, 30, tzinfo=UTC)


def test_local_at_in_a_gap_is_the_first_instant_after_it() -> None:
    assert local_at("Europe/Berlin", date(2026, 3, 29), time(2, 30)) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert local_at("America/Los_Angeles", date(2026, 3, 8), time(2, 15)) == datetime(
        2026, 3, 8, 10, tzinfo=UTC
    )


def test_local_at_in_a_fold_is_the_first_occurrence() -> None:
    first = local_at("Europe/Berlin", date(2026, 10, 25), time(2, 30))
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert first.tzinfo is UTC


def test_from_member_columns() -> None:
    hours = WorkingHours.of("America/New_York", " Mon, TUE ,wed,xyz", "08:15", "16:45", date(2026, 1, 5))
    assert hours == WorkingHours(
        "America/New_York", ("mon", "tue", "wed"), time(8, 15), time(16, 45), date(2026, 1, 5)
    )


def test_bad_stored_zone_falls_back_to_utc() -> None:
    assert WorkingHours.of("Mars/Olympus", DEFAULT_DAYS, "09:00", "17:30", None).time_zone == "UTC"
    assert WorkingHours.of("", DEFAULT_DAYS, "09:00", "17:30", None).time_zone == "UTC"


@pytest.mark.parametrize(
    ("start", "end"), [("9am", "17:30"), ("09:00", "25:00"), ("", ""), ("17:00", "09:00")]
)
def test_bad_stored_times_fall_back_to_the_defaults(start: str, end: str) -> None:
    hours = WorkingHours.of("UTC", DEFAULT_DAYS, start, end, None)
    assert (hours.start, hours.end) == (time(9), time(17, 30))


def test_no_stored_days_means_never() -> None:
    hours = WorkingHours.of("UTC", "", "09:00", "17:30", None)
    assert hours.days == ()
    assert next_send_time(hours, datetime(2026, 6, 9, 10, tzinfo=UTC)) is None


def test_constructor_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="time zone"):
        WorkingHours("Mars/Olympus", ("mon",), time(9), time(17))
    with pytest.raises(ValueError, match="day"):
        WorkingHours("UTC", ("monday",), time(9), time(17))
    with pytest.raises(ValueError, match="before"):
        WorkingHours("UTC", ("mon",), time(17), time(9))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_send_time(default_hours("UTC"), datetime(2026, 6, 9, 10))
    with pytest.raises(ValueError, match="aware"):
        is_within(default_hours("UTC"), datetime(2026, 6, 9, 10))


# Zones with DST at midnight, half-hour and 45-minute offsets, half-hour DST and a date-line jump.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "America/Santiago",
    "America/Havana",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Pacific/Chatham",
    "Africa/Casablanca",
    "Pacific/Apia",
]
MINUTE = timedelta(minutes=1)


@st.composite
def working_hours(draw: st.DrawFn, paused_from: date | None = None) -> WorkingHours:
    start_minute = draw(st.integers(0, 24 * 60 - 2))
    end_minute = draw(st.integers(start_minute + 1, 24 * 60 - 1))
    days = tuple(draw(st.sets(st.sampled_from(DAY_NAMES), min_size=1)))
    paused_until = None
    if paused_from is not None and draw(st.booleans()):
        paused_until = paused_from + timedelta(days=draw(st.integers(-3, 10)))
    return WorkingHours(
        draw(st.sampled_from(ZONES)),
        days,
        time(*divmod(start_minute, 60)),
        time(*divmod(end_minute, 60)),
        paused_until,
    )


instants = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), wanted=instants)
def test_result_is_the_first_allowed_moment(data: st.DataObject, wanted: datetime) -> None:
    hours = data.draw(working_hours(paused_from=wanted.date()))
    sent = next_send_time(hours, wanted)
    assert sent is not None
    assert sent.tzinfo is UTC
    assert sent >= wanted
    assert is_within(hours, sent)
    before = sent - MINUTE
    assert before < wanted or not is_within(hours, before)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), wanted=instants.map(lambda moment: moment.replace(second=0, microsecond=0)))
def test_no_allowed_minute_is_skipped(data: st.DataObject, wanted: datetime) -> None:
    """Brute force: every whole minute between wanted and the result is outside the hours."""
    hours = data.draw(working_hours(paused_from=wanted.date()))
    sent = next_send_time(hours, wanted)
    assert sent is not None
    moment = wanted
    while moment < sent:
        assert not is_within(hours, moment), moment
        moment += MINUTE


@settings(max_examples=200, deadline=None)
@given(
    time_zone=st.sampled_from(ZONES),
    on=st.dates(min_value=date(2005, 1, 1), max_value=date(2037, 12, 31)),
    wall=st.times(),
)
def test_local_at_reads_the_wall_time_or_the_first_moment_after_it(
    time_zone: str, on: date, wall: time
) -> None:
    instant = local_at(time_zone, on, wall)
    zone = ZoneInfo(time_zone)
    wanted = datetime.combine(on, wall)
    shown = instant.astimezone(zone).replace(tzinfo=None)
    assert instant.tzinfo is UTC
    assert shown >= wanted
    # The clock read less a second earlier: this is the first time it reads the wall time (or, in a gap,
    # the first time it reads anything later).
    assert (instant - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None) < wanted
    if shown != wanted:  # only a gap skips the wall time, so the answer is the jump itself
        assert (
            instant.astimezone(zone).utcoffset()
            != (instant - timedelta(seconds=1)).astimezone(zone).utcoffset()
        )


def test_a_working_day_the_calendar_skips_is_skipped() -> None:
    # Samoa crossed the date line at the end of Thursday 2011-12-29: Friday the 30th never happened there.
    hours = WorkingHours("Pacific/Apia", ("fri",), time(9), time(17))
    sent = next_send_time(hours, at("Pacific/Apia", 2011, 12, 29, 22))
    assert local(sent, "Pacific/Apia").replace(tzinfo=None) == datetime(2012, 1, 6, 9, 0)
