"""The schedule words people type for a ritual (``mon,wed 09:25``, ``last fri 4pm``, ``cron ...``).

Parsing is pure and never raises: whatever someone types comes back as a :class:`Recurrence` or a
:class:`ScheduleError` whose one line says what to fix and whose example is known to parse. The
maths of when a recurrence fires (time zones, DST) lives in ``bot/recurrence.py``; this module only
decides what people meant.

Cron follows standard crontab: weekday 0 and 7 are Sunday, 1 is Monday. Weekday numbers are turned
into names when parsed, so nothing downstream can misread them (APScheduler 3 counts from Monday).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import time
from typing import Literal

from practices.local_time import canonical_zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_EXAMPLE = "mon,wed 09:25"
CRON_EXAMPLE = "cron 25 9 * * mon,wed"
MONTHLY_EXAMPLE = "first mon 10:00"
EVERY_WEEKS_EXAMPLE = "every 2 weeks thu 10:00"
MAX_EVERY_WEEKS = 8

_DAY_WORDS: dict[str, str] = {}
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
for _day, _full in zip(WEEKDAYS, _FULL_NAMES, strict=True):
    for _word in (_day, _full, _full + "s"):
        _DAY_WORDS[_word] = _day
_DAY_WORDS |= {"tues": "tue", "weds": "wed", "thur": "thu", "thurs": "thu"}

_DAY_GROUPS: dict[str, tuple[str, ...]] = {
    "daily": WEEKDAYS,
    "everyday": WEEKDAYS,
    "weekdays": WEEKDAYS[:5],
    "weekends": WEEKDAYS[5:],
}
_ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "last": -1,
}
_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
}
_ZONE_LIKE = re.compile(r"[a-z][a-z0-9_+-]*(?:/[a-z0-9_+-]+)+")  # Area/Place, lower-cased
_FILLERS = {"at", "on", "and", "&", "of", "the", "each", "in"}
_KEYWORDS = {
    "every",
    "other",
    "week",
    "weeks",
    "weekly",
    "biweekly",
    "fortnightly",
    "month",
    "monthly",
    "day",
    "weekday",
    "fifth",
    *_FILLERS,
    *_DAY_GROUPS,
    *_ORDINALS,
}

_TIME = re.compile(r"(?P<hour>[0-9]{1,2})(?::(?P<minute>[0-9]{2}))?\s*(?P<half>am|pm)?")
_TIME_LIKE = re.compile(r"[0-9]+([:.h][0-9]*)?\s*(am|pm)?|[0-9]*[:.][0-9]+\s*(am|pm)?")
_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class ScheduleError:
    """What was wrong with a schedule text, and a schedule text that would work instead."""

    message: str
    example: str


_TWO_REPEATS = ScheduleError("Choose one repeat: every week or every few weeks.", EVERY_WEEKS_EXAMPLE)


@dataclass(frozen=True)
class Recurrence:
    """When a ritual repeats, in local wall-clock terms: the time zone is stored beside it."""

    kind: Literal["weekly", "monthly", "cron"]
    at: time | None
    days: tuple[str, ...] = ()
    every_weeks: int = 1
    nth: int | None = None
    weekday: str | None = None
    cron: str | None = None

    def __post_init__(self) -> None:
        # Only shapes that to_text() can write and parse_schedule() read back are allowed in.
        if self.kind == "cron":
            if self.cron is None or self.at is not None or self.days or self.nth or self.weekday:
                raise ValueError("a cron recurrence carries only its cron fields")
            if self.every_weeks != 1:
                raise ValueError("a cron recurrence cannot skip weeks")
            return
        if self.at is None or self.at.second or self.at.microsecond or self.at.tzinfo is not None:
            raise ValueError("a weekly or monthly recurrence needs a naive time of whole minutes")
        if self.cron is not None:
            raise ValueError("only a cron recurrence carries cron fields")
        if self.kind == "weekly":
            if not self.days or self.days != tuple(day for day in WEEKDAYS if day in self.days):
                raise ValueError("days must be distinct day names in week order")
            if not 1 <= self.every_weeks <= MAX_EVERY_WEEKS or self.nth is not None or self.weekday:
                raise ValueError("a weekly recurrence repeats every 1 to 8 weeks, with no nth weekday")
        elif self.kind == "monthly":
            if self.nth not in _ORDINAL_WORDS or self.weekday not in WEEKDAYS:
                raise ValueError("a monthly recurrence needs nth in 1..4 or -1 and a weekday")
            if self.days or self.every_weeks != 1:
                raise ValueError("a monthly recurrence has no day list and no week step")
        else:
            raise ValueError(f"unknown recurrence kind {self.kind!r}")

    def describe(self) -> str:
        """How the schedule reads back to people, e.g. ``Mon and Wed at 09:25``."""
        if self.kind == "cron":
            return f"cron {self.cron}"
        assert self.at is not None
        at = self.at.strftime("%H:%M")
        if self.kind == "monthly":
            assert self.nth is not None and self.weekday is not None
            return f"the {_ORDINAL_WORDS[self.nth]} {self.weekday.title()} of each month at {at}"
        if self.every_weeks == 1:
            if self.days == WEEKDAYS:
                return f"every day at {at}"
            return f"{describe_days(self.days)} at {at}"
        return f"every {self.every_weeks} weeks on {describe_days(self.days)} at {at}"

    def to_text(self) -> str:
        """The canonical schedule text stored in the database; parse_schedule() reads it back equal."""
        if self.kind == "cron":
            return f"cron {self.cron}"
        assert self.at is not None
        at = self.at.strftime("%H:%M")
        if self.kind == "monthly":
            assert self.nth is not None
            return f"{_ORDINAL_WORDS[self.nth]} {self.weekday} {at}"
        days = _render([WEEKDAYS.index(day) for day in self.days], WEEKDAYS)
        if self.every_weeks == 1:
            return f"daily {at}" if self.days == WEEKDAYS else f"{days} {at}"
        return f"every {self.every_weeks} weeks {days} {at}"


def describe_days(days: tuple[str, ...]) -> str:
    """``Mon–Wed and Fri``: runs of three or more read better as a range."""
    parts: list[str] = []
    for run in _runs([WEEKDAYS.index(day) for day in days]):
        names = [WEEKDAYS[index].title() for index in run]
        parts.extend([f"{names[0]}–{names[-1]}"] if len(names) > 2 else names)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def parse_time(text: str) -> time | None:
    """``09:25``, ``9:25``, ``9am``, ``3:30pm``; None for anything else (bare ``9`` is ambiguous)."""
    match = _TIME.fullmatch(text.strip().lower())
    if match is None or (match["minute"] is None and match["half"] is None):
        return None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if match["half"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["half"] == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_schedule(text: str) -> Recurrence | ScheduleError:
    """Read a schedule as people type it; never raises, so callers can hand any text straight in."""
    words = text.strip().lower().split()
    if not words:
        return ScheduleError("Tell me when: some days and a time.", DEFAULT_EXAMPLE)
    if words[0] == "cron":
        return _parse_cron(words[1:])
    return _parse_words(text, suggest=True)


# --- days and a time ----------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    lowered = text.strip().lower()
    lowered = re.sub(r"([0-9])\s+(am|pm)\b", r"\1\2", lowered)
    lowered = re.sub(r"\s*-\s*", "-", lowered)
    return [token for token in re.split(r"[\s,]+", lowered) if token]


def _parse_words(text: str, suggest: bool) -> Recurrence | ScheduleError:
    """Days and a time; ``suggest`` builds examples from the person's own words (off while checking one)."""
    tokens = _tokens(text)
    own = tokens if suggest else None
    times = [token for token in tokens if _TIME_LIKE.fullmatch(token) and not _NUMBER.fullmatch(token)]
    for token in times:
        if parse_time(token) is None:
            return ScheduleError(
                f"“{token}” is not a time of day: use 24-hour HH:MM (09:25, 15:00) or 9am, 3:30pm.",
                DEFAULT_EXAMPLE,
            )
    if len(times) > 1:
        return ScheduleError(
            f"One time per schedule, please (I see {' and '.join(times)}); add another ritual for the other.",
            DEFAULT_EXAMPLE,
        )
    words = [token for token in tokens if token not in times]
    reading = _read_days(words, own)
    if isinstance(reading, ScheduleError):
        return reading
    if not times:
        return ScheduleError("Add a time, e.g. 09:30 or 3pm.", _example(own and [*own, "09:30"]))
    at = parse_time(times[0])
    assert at is not None
    days, every_weeks, nth = reading
    if nth is not None:
        return Recurrence("monthly", at, nth=nth, weekday=days[0])
    return Recurrence("weekly", at, days=days, every_weeks=every_weeks)


_DayReading = tuple[tuple[str, ...], int, int | None]  # days, weeks apart, nth weekday of the month


def _read_days(words: list[str], own: list[str] | None) -> _DayReading | ScheduleError:
    """The day words of a schedule: which days, how many weeks apart, or which weekday of the month."""
    days: set[str] = set()
    every_weeks: int | None = None
    nth: int | None = None
    monthly_word = False
    index = 0
    while index < len(words):
        word, following = words[index], words[index + 1 : index + 3]
        index += 1
        if word in _FILLERS:
            continue
        if word == "every":
            step = _read_every(following)
            if isinstance(step, ScheduleError):
                return step
            taken, weeks, group, month = step
            index += taken
            monthly_word = monthly_word or month
            days.update(group)
            if weeks is not None:
                if every_weeks is not None and every_weeks != weeks:
                    return _TWO_REPEATS
                every_weeks = weeks
        elif word in ("weekly", "biweekly", "fortnightly"):
            weeks = 1 if word == "weekly" else 2
            if every_weeks is not None and every_weeks != weeks:
                return _TWO_REPEATS
            every_weeks = weeks
        elif word in ("month", "monthly"):
            monthly_word = True
        elif word in ("fifth", "5th"):
            return ScheduleError(
                "Not every month has a fifth weekday: choose first to fourth, or last.", MONTHLY_EXAMPLE
            )
        elif word in _ORDINALS:
            day = _DAY_WORDS.get(following[0]) if following else None
            if day is None:
                return ScheduleError(f"Say which weekday comes after “{word}”.", MONTHLY_EXAMPLE)
            if nth is not None:
                return ScheduleError("A monthly schedule takes one weekday.", MONTHLY_EXAMPLE)
            nth, days = _ORDINALS[word], {*days, day}
            index += 1
        elif word in _DAY_GROUPS:
            days.update(_DAY_GROUPS[word])
        else:
            found = _day_or_range(word, own)
            if isinstance(found, ScheduleError):
                return found
            days.update(found)
    if nth is not None:
        if len(days) != 1 or every_weeks is not None:
            return ScheduleError(
                "A monthly schedule takes one weekday and no other days or weeks.", MONTHLY_EXAMPLE
            )
        return (tuple(days), 1, nth)
    if monthly_word:
        return ScheduleError("Say which weekday of the month: first to fourth, or last.", MONTHLY_EXAMPLE)
    if every_weeks is not None and not 1 <= every_weeks <= MAX_EVERY_WEEKS:
        return ScheduleError(
            f"Every {every_weeks} weeks is out of range: choose every 1 to {MAX_EVERY_WEEKS} weeks.",
            EVERY_WEEKS_EXAMPLE,
        )
    if not days:
        return ScheduleError("Which days? Name them before the time.", _example(own and ["mon,wed", *own]))
    return (tuple(day for day in WEEKDAYS if day in days), every_weeks or 1, None)


def _read_every(following: list[str]) -> tuple[int, int | None, tuple[str, ...], bool] | ScheduleError:
    """What follows ``every``: (words used, weeks apart, days, whether it meant each month)."""
    first = following[0] if following else ""
    second = following[1] if len(following) > 1 else ""
    if first in ("week", "weeks"):
        return (1, 1, (), False)
    if first == "month":
        return (1, None, (), True)
    if first in ("day", "days"):
        return (1, None, WEEKDAYS, False)
    if first in ("weekday", "weekdays"):
        return (1, None, WEEKDAYS[:5], False)
    if first in _DAY_WORDS or first in _DAY_GROUPS or first.partition("-")[0] in _DAY_WORDS:
        return (0, None, (), False)
    count: int | None = None
    if first == "other":
        count = 2
    elif _NUMBER.fullmatch(first):
        count = int(first)
    elif first in _NUMBER_WORDS:
        count = _NUMBER_WORDS[first]
    elif first in _ORDINALS and _ORDINALS[first] > 0:
        count = _ORDINALS[first]
    if count is not None and second in ("week", "weeks"):
        return (2, count, (), False)
    return ScheduleError(
        "After “every” say how often: every week, every 2 weeks, every other week, or every day.",
        EVERY_WEEKS_EXAMPLE,
    )


def _day_or_range(token: str, own: list[str] | None) -> tuple[str, ...] | ScheduleError:
    word = token
    if "-" in token:
        first, _, last = token.partition("-")
        ends = [_DAY_WORDS.get(first), _DAY_WORDS.get(last)]
        if ends[0] is not None and ends[1] is not None:
            start, stop = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[1])
            if start > stop:
                return ScheduleError(
                    f"The days “{token}” run backwards: write ranges Monday first, e.g. mon-fri.",
                    _example(_replace(own, token, f"{last}-{first}"), "mon-fri 09:30"),
                )
            return WEEKDAYS[start : stop + 1]
        word = (first if ends[0] is None else last) or token
    if word in _DAY_WORDS:
        return (_DAY_WORDS[word],)
    if _NUMBER.fullmatch(word):
        return ScheduleError(
            f"I don't know what “{word}” means here: times need minutes or am/pm (9:00, 9am).",
            _example(_replace(own, word, f"{word}:00")),
        )
    zone_error = _zone_in_schedule(token)
    if zone_error is not None:
        return zone_error
    close = difflib.get_close_matches(word, [*_DAY_WORDS, *_KEYWORDS], n=1, cutoff=0.6)
    if not close:
        return ScheduleError(f"I don't know the word “{word}”: use day names and a time.", DEFAULT_EXAMPLE)
    message = f"I don't know the word “{word}”: did you mean “{close[0]}”?"
    return ScheduleError(message, _example(_replace(own, token, token.replace(word, close[0], 1))))


def _zone_in_schedule(token: str) -> ScheduleError | None:
    """A word shaped like a time zone (``Area/Place``, UTC) is named as one, known or not, rather than
    blamed as an unknown word: a ritual reads its zone only as the last word, so a zone here is either
    misspelt or followed by something."""
    if not (_ZONE_LIKE.fullmatch(token) or token in ("utc", "gmt")):
        return None
    known = canonical_zone(token)
    if known is None:
        return ScheduleError(
            f"“{token}” isn't a time zone I know: use a name like Europe/Berlin or America/New_York.",
            DEFAULT_EXAMPLE,
        )
    return ScheduleError(
        f"“{known}” is a time zone: put it last, with nothing after it (a 1:1 uses the manager's own zone).",
        DEFAULT_EXAMPLE,
    )


def _example(tokens: list[str] | None, fallback: str = DEFAULT_EXAMPLE) -> str:
    """The person's own words, mended, when they really parse; the stock example otherwise."""
    parsed = _parse_words(" ".join(tokens), suggest=False) if tokens else None
    return parsed.to_text() if isinstance(parsed, Recurrence) else fallback


def _replace(tokens: list[str] | None, old: str, new: str) -> list[str] | None:
    return None if tokens is None else [new if token == old else token for token in tokens]


# --- cron ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] means low + i


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CRON_FIELDS = (
    _CronField("minute", 0, 59),
    _CronField("hour", 0, 23),
    _CronField("day of month", 1, 31),
    _CronField("month", 1, 12, _MONTHS),
    _CronField("weekday", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")),
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _parse_cron(fields: list[str]) -> Recurrence | ScheduleError:
    if len(fields) != 5:
        return ScheduleError(
            f"A cron schedule has 5 fields (minute hour day-of-month month weekday), not {len(fields)}.",
            CRON_EXAMPLE,
        )
    values: list[set[int]] = []
    for text, field in zip(fields, _CRON_FIELDS, strict=True):
        expanded = _expand(text, field)
        if isinstance(expanded, str):
            return ScheduleError(expanded, CRON_EXAMPLE)
        values.append(expanded)
    month_days, months, weekdays = values[2:]
    if fields[2] != "*" and fields[4] != "*":
        # Standard cron fires when either matches, APScheduler only when both do: refuse the ambiguity.
        return ScheduleError(
            "Limit the day of month or the weekday in a cron schedule, not both.", "cron 0 9 1 * *"
        )
    if min(month_days) > max(_DAYS_IN_MONTH[month - 1] for month in months):
        return ScheduleError("That day of the month never comes in the months chosen.", "cron 0 9 28 2 *")
    day_indexes = {(number - 1) % 7 for number in weekdays}  # cron 0 and 7 are Sunday, 1 is Monday
    weekday_text = "*" if len(day_indexes) == 7 else _render(sorted(day_indexes), WEEKDAYS)
    normalised = [
        _render_numbers(numbers, field) for numbers, field in zip(values[:4], _CRON_FIELDS[:4], strict=True)
    ]
    return Recurrence("cron", None, cron=" ".join([*normalised, weekday_text]))


def _expand(text: str, field: _CronField) -> set[int] | str:
    """The values one cron field stands for, or a one-line reason it stands for none."""
    found: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not _NUMBER.fullmatch(step_text) or int(step_text) == 0:
                return f"The {field.name} step “/{step_text}” must be a whole number above 0."
            step = int(step_text)
        if base == "*":
            first, last = field.low, field.high
        else:
            first_text, dash, last_text = base.partition("-")
            first_value = _cron_value(first_text, field)
            last_value = _cron_value(last_text, field, at_end=True) if dash else first_value
            if isinstance(first_value, str):
                return first_value
            if isinstance(last_value, str):
                return last_value
            first, last = first_value, (field.high if slash and not dash else last_value)
            if first > last:
                return f"The {field.name} range “{base}” runs backwards: write the smaller value first."
        found.update(range(first, last + 1, step))
    return found


def _cron_value(text: str, field: _CronField, at_end: bool = False) -> int | str:
    if _NUMBER.fullmatch(text):
        value = int(text)
        if field.low <= value <= field.high:
            return value
        return f"The {field.name} field has {value}, but it runs {field.low}–{field.high}."
    if text in field.names:
        # "mon-sun" means the whole week, so Sunday closing a range is 7, not 0.
        position = len(field.names) - 1 - field.names[::-1].index(text) if at_end else field.names.index(text)
        return position + field.low
    if not text:
        return f"The {field.name} field has an empty value."
    names = f" or names like {field.names[1]}" if field.names else ""
    return (
        f"The {field.name} field has “{text}”: use numbers, *, ranges (1-5), lists (1,3), "
        f"steps (*/15){names}."
    )


def _render_numbers(numbers: set[int], field: _CronField) -> str:
    span = field.high - field.low + 1
    if len(numbers) == span:
        return "*"
    ordered = sorted(numbers)
    step = ordered[1] - ordered[0] if len(ordered) > 1 else 0
    if ordered[0] == field.low and step > 1 and ordered == list(range(field.low, field.high + 1, step)):
        return f"*/{step}"
    labels = [str(number) for number in range(field.low, field.high + 1)]
    return _render([number - field.low for number in ordered], labels)


def _render(indexes: list[int], labels: tuple[str, ...] | list[str]) -> str:
    """Sorted values as cron text: runs of three or more as ranges, the rest listed."""
    parts: list[str] = []
    for run in _runs(indexes):
        if len(run) > 2:
            parts.append(f"{labels[run[0]]}-{labels[run[-1]]}")
        else:
            parts.extend(labels[index] for index in run)
    return ",".join(parts)


def _runs(indexes: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for index in sorted(set(indexes)):
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs
