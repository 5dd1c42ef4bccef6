"""Time zones and how Tend writes a moment in someone's own time: one home for both.

Which zone names Tend accepts used to be decided in four places (the grammar, the hours form, rituals,
recurrences) and local times were written in three, so a zone one check took could fail another and
the same meeting read differently on the home page and in a 1:1 note. Everything here is pure: the
caller passes the moment (from its clock) and the zone.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

# zoneinfo's own aliases for "whatever this machine says": a stored zone must mean the same on every
# replica, so they are never accepted.
NOT_PORTABLE = frozenset({"localtime", "posixrules", "Factory"})
# How a zone name looks (IANA: Area/Location, letters, digits, _ + -); anything else is refused unread.
ZONE_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*")
LONGEST_ZONE = 64

# The formats every practice writes local times in (English, 24-hour, as the examples say).
DAY_AND_TIME = "%a %d %b %H:%M"  # Mon 03 Mar 14:30
DAY = "%a %d %b"  # Mon 03 Mar
CLOCK = "%H:%M"  # 14:30
STAMP = "%Y-%m-%d %H:%M"  # 2025-03-03 14:30 (exports, audit lines)
DATE_STAMP = "%Y-%m-%d"  # 2025-03-03 (what is kept only to the day)


@cache
def known_zones() -> frozenset[str]:
    """Every IANA name this install can load (tzdata ships with Tend), plus ``UTC``."""
    try:
        names = set(zoneinfo.available_timezones())
    except Exception:  # an unreadable tz database: fall back to asking zoneinfo name by name
        names = set()
    return frozenset(names - NOT_PORTABLE) | {"UTC"}


@cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in known_zones()}


def _loads(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return False
    return True


def canonical_zone(raw: str) -> str | None:
    """The IANA name ``raw`` means, in its own spelling (``europe/berlin`` -> ``Europe/Berlin``), or
    None. Never raises, whatever is typed."""
    raw = raw.strip() if isinstance(raw, str) else ""
    if not raw or len(raw) > LONGEST_ZONE or not ZONE_SHAPE.fullmatch(raw) or raw in NOT_PORTABLE:
        return None
    name = _by_folded_name().get(raw.casefold())
    if name is None and len(known_zones()) > 1:
        return None
    name = name or raw
    return name if _loads(name) else None


def is_known_zone(name: str) -> bool:
    """Whether ``name`` is exactly a zone Tend accepts (stored zones, platform-reported zones)."""
    return isinstance(name, str) and canonical_zone(name) == name


def zone_of(name: str) -> ZoneInfo:
    """The zone for a stored name; ValueError for one Tend does not accept."""
    if not is_known_zone(name):
        raise ValueError(f"unknown time zone {name!r}")
    return ZoneInfo(name)


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The zone for a stored name, UTC for a missing or odd one (reading never fails on a bad row)."""
    return zone_of(name) if name and is_known_zone(name) else ZoneInfo("UTC")


def local(moment: datetime, zone: str | None) -> datetime:
    """The moment on the wall clock of ``zone`` (UTC when the zone is missing or odd)."""
    if moment.tzinfo is None:
        raise ValueError("a moment must carry its time zone (naive datetimes are ambiguous)")
    return moment.astimezone(zone_or_utc(zone))


def local_date(moment: datetime, zone: str | None) -> date:
    """The calendar day it is at ``moment`` in ``zone``."""
    return local(moment, zone).date()


def day_and_time(moment: datetime, zone: str | None) -> str:
    """``Mon 03 Mar 14:30`` in the reader's zone."""
    return local(moment, zone).strftime(DAY_AND_TIME)


def day(moment: datetime, zone: str | None) -> str:
    """``Mon 03 Mar`` in the reader's zone."""
    return local(moment, zone).strftime(DAY)


def clock(moment: datetime, zone: str | None) -> str:
    """``14:30`` in the reader's zone."""
    return local(moment, zone).strftime(CLOCK)


def stamp(moment: datetime, zone: str | None = "UTC") -> str:
    """``2025-03-03 14:30``: exports and audit lines (UTC unless a zone is given)."""
    return local(moment, zone).strftime(STAMP)


def date_stamp(moment: datetime, zone: str | None = "UTC") -> str:
    """``2025-03-03``: a moment kept only to the day (UTC unless a zone is given)."""
    return local(moment, zone).strftime(DATE_STAMP)
