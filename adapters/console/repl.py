"""The terminal around a ``ConsoleSession``: read a line, hand it over, print what comes back."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from adapters.console.session import ConsoleSender, ConsoleSession
from bot.clock import ShiftedClock
from bot.engine import Engine


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


async def run_repl(console: ConsoleSession) -> None:
    await console.start()
    while not console.finished:
        line = await read_line(console.prompt)
        if line is None:
            break
        await console.handle_line(line)
    print("Bye. Your data stays in the local database until you delete it.")
