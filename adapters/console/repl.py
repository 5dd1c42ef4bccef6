"""The terminal around a ``ConsoleSession``: read a line, hand it over, print what comes back.

Also the console's clock: it starts at a fixed working-day morning (``DEMO_START``) so the README's
demo reads the same whatever day it is run, and it is kept beside the console's data
(``tend.console-clock``) so a restarted console carries on instead of going back in time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.console.session import DEMO_MEMBERS, ConsoleSender, ConsoleSession
from bot.clock import Clock, ShiftedClock, SystemClock
from bot.engine import Engine

logger = logging.getLogger("tend.console")

# A Monday, 08:30 in Berlin (ana's zone): before the demo's 09:25 check-in, inside everyone's working week.
DEMO_START = datetime(2026, 12, 7, 8, 30, tzinfo=ZoneInfo("Europe/Berlin"))
CLOCK_FILE = "tend.console-clock"


def _when(moment: datetime) -> str:
    """A moment as ana, the first demo person, reads it: the console's notes speak in her zone."""
    zone = DEMO_MEMBERS[0][1]
    return f"{moment.astimezone(ZoneInfo(zone)):%a %d %b %Y %H:%M} ({zone})"


class ClockFile:
    """How far the console's clock runs from real time, and the latest time it read, in a small
    JSON file beside the console's data. Written whenever ``/wait`` moves the clock and at exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._warned = False

    def read(self) -> tuple[timedelta, datetime] | None:
        """The saved offset and latest time, or None when there is no file or it cannot be read."""
        try:
            saved = json.loads(self.path.read_text())
            offset = timedelta(seconds=float(saved["offset_seconds"]))
            latest = datetime.fromisoformat(saved["latest"])
        except (OSError, ValueError, TypeError, KeyError, OverflowError):
            return None
        return (offset, latest) if latest.tzinfo is not None else None

    def save(self, clock: ShiftedClock) -> None:
        """Replaces the file in one step, so a console killed mid-write leaves the old one whole."""
        text = json.dumps({"offset_seconds": clock.offset.total_seconds(), "latest": clock.now().isoformat()})
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(text + "\n")
            os.replace(temporary, self.path)
        except OSError as error:  # the console goes on; only a restart would lose the time
            if not self._warned:
                logger.warning("console clock not saved path=%s error=%s", self.path, error.strerror)
                self._warned = True


def console_clock(
    path: Path, *, has_data: bool, base: Clock | None = None
) -> tuple[ShiftedClock, ClockFile, str]:
    """The console's clock, the file it is kept in, and the sentence that says where it starts.

    Fresh data starts at ``DEMO_START``. A saved clock carries on: real time plus the saved offset,
    and never before the latest time it saved. Data without a usable saved clock (a console from
    before the clock was kept) starts at real time or ``DEMO_START``, whichever is later.
    """
    base = base or SystemClock()
    store = ClockFile(path)
    saved = store.read() if has_data else None
    if saved is not None:
        offset, latest = saved
        clock = ShiftedClock(base, max(offset, latest - base.now()))
        note = f"The console's clock carries on from last time: it is {_when(clock.now())}."
    elif has_data:
        clock = ShiftedClock.starting_at(max(base.now(), DEMO_START), base)
        note = (
            f"The console's clock starts at {_when(clock.now())}: real time, or {_when(DEMO_START)} "
            f"if that is later, since this database has no saved console clock that can be read "
            f"({path.name})."
        )
    else:
        clock = ShiftedClock.starting_at(DEMO_START, base)
        note = (
            f"The console's clock starts at {_when(DEMO_START)}, a fixed Monday morning, so the "
            "README's demo goes the same whatever day you run it. It runs on from there: /wait 2h "
            "moves it forward, /now shows it."
        )
    clock.on_advance = lambda _offset: store.save(clock)
    store.save(clock)
    return clock, store, note


def build_console(
    make_engine: Callable[[ConsoleSender], Engine],
    clock: ShiftedClock,
    write: Callable[[str], None] = print,
    on_time_moved: Callable[[], Awaitable[None]] | None = None,
) -> ConsoleSession:
    """Wires the sender to the session it prints through (they need each other)."""
    sender = ConsoleSender()
    console = ConsoleSession(make_engine(sender), clock, write, on_time_moved=on_time_moved)
    sender.console = console
    return console


async def read_line(prompt: str) -> str | None:
    """A line from stdin without blocking the event loop (scheduled prompts keep printing)."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = await asyncio.to_thread(sys.stdin.readline)
    return line if line else None


async def run_repl(console: ConsoleSession, clock_note: str | None = None) -> None:
    await console.start()
    if clock_note:
        console.write(clock_note)
    while not console.finished:
        line = await read_line(console.prompt)
        if line is None:
            break
        await console.handle_line(line)
    print("Bye. Your data stays in the local database until you delete it.")
