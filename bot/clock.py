"""Time, injected. Nothing in Tend calls ``datetime.now()`` directly; tests and the console move a clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """Real time plus an offset the console moves forward with ``/wait``.

    ``on_advance`` hears each new offset, so the console can keep it beside its data and a restarted
    console carries on from where it was instead of going back in time.
    """

    def __init__(
        self,
        base: Clock | None = None,
        offset: timedelta = timedelta(),
        on_advance: Callable[[timedelta], None] | None = None,
    ) -> None:
        self._base = base or SystemClock()
        self.offset = offset
        self.on_advance = on_advance

    @classmethod
    def starting_at(
        cls, when: datetime, base: Clock | None = None, on_advance: Callable[[timedelta], None] | None = None
    ) -> ShiftedClock:
        """A clock that reads ``when`` now and runs on at real speed from there."""
        if when.tzinfo is None:
            raise ValueError("ShiftedClock.starting_at needs an aware datetime")
        base = base or SystemClock()
        return cls(base, when - base.now(), on_advance)

    def now(self) -> datetime:
        return self._base.now() + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by
        if self.on_advance is not None:
            self.on_advance(self.offset)


class FixedClock:
    """A clock that only moves when told to: the test clock."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, by: timedelta) -> None:
        self._now += by
