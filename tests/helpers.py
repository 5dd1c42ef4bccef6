"""Small builders shared by tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import FixedClock

# A Monday morning, so working-hours and weekly logic start from an unsurprising place.
DEFAULT_START = "2025-03-03 09:00"


def at(when: str = DEFAULT_START, tz: str = "UTC") -> datetime:
    """An aware instant written as local wall-clock time, e.g. ``at("2025-03-30 03:30", "Europe/Berlin")``."""
    return datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(tz))


def fixed_clock(when: str = DEFAULT_START, tz: str = "UTC") -> FixedClock:
    return FixedClock(at(when, tz))
