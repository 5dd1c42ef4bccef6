"""The schedule words people type: what parses, what each mistake says, and the stored round trip."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from practices.schedules import WEEKDAYS, Recurrence, ScheduleError, describe_days, parse_schedule, parse_time

MON_FRI = ("mon", "tue", "wed", "thu", "fri")


def weekly(at: time, *days: str, every_weeks: int = 1) -> Recurrence:
    return Recurrence("weekly", at, days=days, every_weeks=every_weeks)


def monthly(at: time, nth: int, weekday: str) -> Recurrence:
    return Recurrence("monthly", at, nth=nth, weekday=weekday)


def cron(fields: str) -> Recurrence:
    return Recurrence("cron", None, cron=fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon,wed 09:25", weekly(time(9, 25), "mon", "wed")),
        ("mon, wed 9:25", weekly(time(9, 25), "mon", "wed")),
        ("wed,mon 09:25", weekly(time(9, 25), "mon", "wed")),
        ("mon-fri 9:00", weekly(time(9), *MON_FRI)),
        ("Mon - Fri 9AM", weekly(time(9), *MON_FRI)),
        ("fri 15:00", weekly(time(15), "fri")),
        ("friday 15:00", weekly(time(15), "fri")),
        ("fridays 15:00", weekly(time(15), "fri")),
        ("  FRIDAYS   3pm ", weekly(time(15), "fri")),
        ("mondays and thursdays 10:30", weekly(time(10, 30), "mon", "thu")),
        ("tues & thurs at 10:30", weekly(time(10, 30), "tue", "thu")),
        ("daily 09:00", weekly(time(9), *WEEKDAYS)),
        ("weekdays 09:30", weekly(time(9, 30), *MON_FRI)),
        ("every day 8:00", weekly(time(8), *WEEKDAYS)),
        ("every monday at 8am", weekly(time(8), "mon")),
        ("mon 12am", weekly(time(0), "mon")),
        ("mon 12pm", weekly(time(12), "mon")),
        ("mon 3:30 pm", weekly(time(15, 30), "mon")),
        ("every 2 weeks thu 10:00", weekly(time(10), "thu", every_weeks=2)),
        ("every three weeks tue 10:00", weekly(time(10), "tue", every_weeks=3)),
        ("every week mon 10:00", weekly(time(10), "mon")),
        ("weekly mon 10:00", weekly(time(10), "mon")),
        ("biweekly thu 10:00", weekly(time(10), "thu", every_weeks=2)),
        ("fortnightly thu 10:00", weekly(time(10), "thu", every_weeks=2)),
        ("every other week tue 14:00", weekly(time(14), "tue", every_weeks=2)),
        ("every 8 weeks mon,fri 07:05", weekly(time(7, 5), "mon", "fri", every_weeks=8)),
        ("first mon 10:00", monthly(time(10), 1, "mon")),
        ("last fri 16:00", monthly(time(16), -1, "fri")),
        ("first monday of the month 10:00", monthly(time(10), 1, "mon")),
        ("second tue of every month 09:00", monthly(time(9), 2, "tue")),
        ("3rd wed 11:15", monthly(time(11, 15), 3, "wed")),
        ("fourth thursday monthly 11:00", monthly(time(11), 4, "thu")),
        ("last friday of each month 4pm", monthly(time(16), -1, "fri")),
        ("cron 25 9 * * mon,wed", cron("25 9 * * mon,wed")),
        ("CRON  25 9 * * MON,WED", cron("25 9 * * mon,wed")),
        ("cron 0 9 * * 1-5", cron("0 9 * * mon-fri")),
        ("cron 0 9 * * 0", cron("0 9 * * sun")),
        ("cron 0 9 * * 7", cron("0 9 * * sun")),
        ("cron 0 9 * * 5-7", cron("0 9 * * fri-sun")),
        ("cron 0 9 * * 6,0,1", cron("0 9 * * mon,sat,sun")),
        ("cron 0 9 * * 0-6", cron("0 9 * * *")),
        ("cron 0 9 * * mon-sun", cron("0 9 * * *")),
        ("cron 0 9 * * */2", cron("0 9 * * tue,thu,sat,sun")),
        ("cron */15 9-17 * * 1-5", cron("*/15 9-17 * * mon-fri")),
        ("cron 0,30 8,12 * * *", cron("*/30 8,12 * * *")),
        ("cron 5/20 * * * *", cron("5,25,45 * * * *")),
        ("cron 0 9 1,15 * *", cron("0 9 1,15 * *")),
        ("cron 0 9 1 jan-mar *", cron("0 9 1 1-3 *")),
        ("cron 0 9 29 2 *", cron("0 9 29 2 *")),
    ],
)
def test_accepted_forms(text: str, expected: Recurrence) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:25", time(9, 25)),
        ("9:25", time(9, 25)),
        ("0:00", time(0)),
        ("23:59", time(23, 59)),
        ("9am", time(9)),
        ("9 AM", time(9)),
        ("3pm", time(15)),
        ("3:30pm", time(15, 30)),
        ("12am", time(0)),
        ("12:15am", time(0, 15)),
        ("12pm", time(12)),
        ("9", None),
        ("24:00", None),
        ("25:00", None),
        ("9:60", None),
        ("9:5", None),
        ("13pm", None),
        ("0am", None),
        ("9.30", None),
        ("noon", None),
        ("", None),
    ],
)
def test_parse_time(text: str, expected: time | None) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "names", "example"),
    [
        ("", "Tell me when", "mon,wed 09:25"),
        ("   ", "Tell me when", "mon,wed 09:25"),
        ("mon,wed", "Add a time", "mon,wed 09:30"),
        ("fridays", "Add a time", "fri 09:30"),
        ("mon 25:00", "“25:00” is not a time of day", None),
        ("mon 9:75", "“9:75” is not a time of day", None),
        ("mon 13pm", "“13pm” is not a time of day", None),
        ("mon 9", "“9”", "mon 09:00"),
        ("mon 9:00 17:00", "One time per schedule", None),
        ("mondya 9:00", "did you mean “monday”", "mon 09:00"),
        ("wednsday,fri 9:00", "did you mean “wednesday”", "wed,fri 09:00"),
        ("mon-fridya 9:00", "did you mean “friday”", "mon-fri 09:00"),
        ("dialy 9:00", "did you mean “daily”", "daily 09:00"),
        ("xyzzy 9:00", "I don't know the word “xyzzy”", None),
        ("daily 09:25 Mars/Olympus", "“mars/olympus” isn't a time zone I know", None),
        ("daily 09:25 Europe/Berlin please", "“Europe/Berlin” is a time zone: put it last", None),
        ("mon 9:00 utc and more", "“UTC” is a time zone", None),
        ("fri-mon 9:00", "run backwards", "mon-fri 09:00"),
        ("9:00", "Which days?", "mon,wed 09:00"),
        ("every 10 weeks thu 10:00", "Every 10 weeks is out of range", None),
        ("every 0 weeks thu 10:00", "Every 0 weeks is out of range", None),
        ("every fortnight thu 10:00", "After “every”", None),
        ("weekly biweekly thu 10:00", "Choose one repeat", None),
        ("monthly 9:00", "which weekday of the month", None),
        ("first 9:00", "which weekday comes after “first”", None),
        ("first mon and wed 9:00", "one weekday", None),
        ("every 2 weeks first mon 9:00", "one weekday", None),
        ("fifth mon 9:00", "fifth", None),
        ("cron", "5 fields", None),
        ("cron 25 9 * *", "5 fields", None),
        ("cron 25 9 * * * *", "5 fields", None),
        ("cron 61 9 * * *", "minute field has 61", None),
        ("cron 0 24 * * *", "hour field has 24", None),
        ("cron 0 9 0 * *", "day of month field has 0", None),
        ("cron 0 9 * 13 *", "month field has 13", None),
        ("cron 0 9 * * 8", "weekday field has 8", None),
        ("cron 0 9 * * funday", "weekday field has “funday”", None),
        ("cron 0 9 * mon *", "month field has “mon”", None),
        ("cron x 9 * * *", "minute field has “x”", None),
        ("cron */0 9 * * *", "step", None),
        ("cron 0 9 * * 5-1", "runs backwards", None),
        ("cron 0 9 1,,2 * *", "empty value", None),
        ("cron 0 9 1 * mon", "not both", None),
        ("cron 0 9 30 2 *", "never comes", None),
    ],
)
def test_errors_say_what_is_wrong_and_give_an_example_that_parses(
    text: str, names: str, example: str | None
) -> None:
    error = parse_schedule(text)
    assert isinstance(error, ScheduleError)
    assert names.lower() in error.message.lower()
    assert "\n" not in error.message
    assert isinstance(parse_schedule(error.example), Recurrence)
    if example is not None:
        assert error.example == example


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("mon,wed 09:25", "Mon and Wed at 09:25"),
        ("mon,wed,fri 9:25", "Mon, Wed and Fri at 09:25"),
        ("mon-fri 9:00", "Mon–Fri at 09:00"),
        ("mon-wed,fri,sun 9:00", "Mon–Wed, Fri and Sun at 09:00"),
        ("daily 9:00", "every day at 09:00"),
        ("fri 3pm", "Fri at 15:00"),
        ("every 2 weeks thu 10:00", "every 2 weeks on Thu at 10:00"),
        ("every 3 weeks daily 10:00", "every 3 weeks on Mon–Sun at 10:00"),
        ("first mon 10:00", "the first Mon of each month at 10:00"),
        ("second tue 9am", "the second Tue of each month at 09:00"),
        ("last fri 16:00", "the last Fri of each month at 16:00"),
        ("cron 25 9 * * 1-5", "cron 25 9 * * mon-fri"),
    ],
)
def test_describe_reads_well(text: str, described: str) -> None:
    recurrence = parse_schedule(text)
    assert isinstance(recurrence, Recurrence)
    assert recurrence.describe() == described


def test_describe_days_groups_runs() -> None:
    assert describe_days(("sat", "sun")) == "Sat and Sun"
    assert describe_days(("mon", "wed", "thu", "fri")) == "Mon and Wed–Fri"


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("mondays and thursdays 10:30", "mon,thu 10:30"),
        ("weekdays 9am", "mon-fri 09:00"),
        ("every day 8:00", "daily 08:00"),
        ("biweekly thu 10:00", "every 2 weeks thu 10:00"),
        ("last friday of each month 4pm", "last fri 16:00"),
        ("cron 0 9 * * 1-5", "cron 0 9 * * mon-fri"),
    ],
)
def test_to_text_is_the_canonical_stored_form(text: str, stored: str) -> None:
    recurrence = parse_schedule(text)
    assert isinstance(recurrence, Recurrence)
    assert recurrence.to_text() == stored


@pytest.mark.parametrize(
    "arguments",
    [
        {"kind": "weekly", "at": time(9), "days": ()},
        {"kind": "weekly", "at": time(9), "days": ("wed", "mon")},
        {"kind": "weekly", "at": time(9), "days": ("mon",), "every_weeks": 9},
        {"kind": "weekly", "at": time(9, 0, 30), "days": ("mon",)},
        {"kind": "weekly", "at": None, "days": ("mon",)},
        {"kind": "monthly", "at": time(9), "nth": 5, "weekday": "mon"},
        {"kind": "monthly", "at": time(9), "nth": 1, "weekday": "monday"},
        {"kind": "cron", "at": time(9), "cron": "0 9 * * *"},
        {"kind": "cron", "at": None},
        {"kind": "yearly", "at": time(9)},
    ],
)
def test_recurrence_refuses_shapes_that_would_not_round_trip(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Recurrence(**arguments)  # type: ignore[arg-type]


times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
weekly_recurrences = st.builds(
    lambda at, days, every_weeks: Recurrence(
        "weekly", at, days=tuple(day for day in WEEKDAYS if day in days), every_weeks=every_weeks
    ),
    times,
    st.sets(st.sampled_from(WEEKDAYS), min_size=1),
    st.integers(1, 8),
)
monthly_recurrences = st.builds(
    lambda at, nth, weekday: Recurrence("monthly", at, nth=nth, weekday=weekday),
    times,
    st.sampled_from([1, 2, 3, 4, -1]),
    st.sampled_from(WEEKDAYS),
)


def cron_field(low: int, high: int, names: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    value = st.integers(low, high).map(str)
    if names:
        value = value | st.sampled_from(names)
    pair = st.tuples(st.integers(low, high), st.integers(low, high)).map(sorted)
    item = st.one_of(
        st.just("*"),
        value,
        pair.map(lambda bounds: f"{bounds[0]}-{bounds[1]}"),
        st.integers(1, high - low + 2).map(lambda step: f"*/{step}"),
        st.tuples(pair, st.integers(1, 9)).map(lambda ps: f"{ps[0][0]}-{ps[0][1]}/{ps[1]}"),
    )
    return st.lists(item, min_size=1, max_size=3).map(",".join)


cron_texts = st.tuples(
    cron_field(0, 59),
    cron_field(0, 23),
    st.just("*") | cron_field(1, 31),
    cron_field(1, 12, ("jan", "feb", "mar", "jun", "dec")),
    cron_field(0, 7, ("mon", "tue", "sat", "sun")),
).map(lambda fields: "cron " + " ".join(fields))


@given(weekly_recurrences | monthly_recurrences)
def test_to_text_round_trips(recurrence: Recurrence) -> None:
    assert parse_schedule(recurrence.to_text()) == recurrence


@given(cron_texts)
def test_cron_normalisation_round_trips(text: str) -> None:
    parsed = parse_schedule(text)
    if isinstance(parsed, Recurrence):
        assert parse_schedule(parsed.to_text()) == parsed
        assert parsed.cron is not None and len(parsed.cron.split()) == 5
        assert not any(character.isdigit() for character in parsed.cron.split()[4])
    else:
        assert isinstance(parse_schedule(parsed.example), Recurrence)


@settings(max_examples=300)
@given(st.text())
def test_parse_never_raises_on_any_text(text: str) -> None:
    result = parse_schedule(text)
    assert isinstance(result, Recurrence | ScheduleError)


words = st.sampled_from(
    [
        *WEEKDAYS,
        "monday",
        "fridays",
        "mon-fri",
        "fri-mon",
        "daily",
        "weekdays",
        "every",
        "other",
        "week",
        "weeks",
        "day",
        "month",
        "first",
        "last",
        "second",
        "fifth",
        "of",
        "the",
        "and",
        "at",
        "biweekly",
        "2",
        "9",
        "0",
        "12",
        "9:00",
        "9am",
        "25:00",
        "3 pm",
        "cron",
        "*",
        "*/5",
        "1-5",
        ",",
        "-",
        "mondya",
        "xyz",
    ]
)


@settings(max_examples=500)
@given(st.lists(words, max_size=8).map(" ".join))
def test_every_answer_parses_or_offers_an_example_that_does(text: str) -> None:
    result = parse_schedule(text)
    if isinstance(result, Recurrence):
        assert parse_schedule(result.to_text()) == result
        assert result.describe()
    else:
        assert result.message and "\n" not in result.message
        assert isinstance(parse_schedule(result.example), Recurrence)
