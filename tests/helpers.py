"""Small builders shared by tests."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.signature import SignatureVerifier

from bot.clock import FixedClock

# A Monday morning, so working-hours and weekly logic start from an unsurprising place.
DEFAULT_START = "2025-03-03 09:00"


def at(when: str = DEFAULT_START, tz: str = "UTC") -> datetime:
    """An aware instant written as local wall-clock time, e.g. ``at("2025-03-30 03:30", "Europe/Berlin")``."""
    return datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(tz))


def fixed_clock(when: str = DEFAULT_START, tz: str = "UTC") -> FixedClock:
    return FixedClock(at(when, tz))


FORM = "application/x-www-form-urlencoded"


def signed_headers(secret: str, body: str, content_type: str = FORM) -> dict[str, str]:
    """The headers Slack sends with a request it signs now: what every signed test request carries."""
    stamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
