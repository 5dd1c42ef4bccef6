"""The local console as a person uses it: typed lines in, readable text out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.console.repl import build_console
from adapters.console.session import ConsoleSession, parse_duration
from bot.clock import FixedClock, ShiftedClock
from bot.engine import Engine

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Screen:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)

    def take(self) -> str:
        text = "\n".join(self.lines)
        self.lines.clear()
        return text


@pytest.fixture
async def console(database) -> tuple[ConsoleSession, Screen, list[int]]:
    screen = Screen()
    ticks: list[int] = []

    engines: list[Engine] = []

    async def on_time_moved() -> None:
        ticks.append(1)
        await engines[0].delivery.deliver_due()

    def make_engine(sender):
        engines.append(Engine(database, clock, {"console": sender}))
        return engines[0]

    clock = ShiftedClock(FixedClock(START))
    session = build_console(make_engine, clock, screen.write, on_time_moved)
    await session.start()
    screen.take()
    return session, screen, ticks


async def test_kudos_typed_as_in_slack_is_posted_and_the_receiver_notified(console):
    session, screen, _ = console
    await session.handle_line("/kudos @bo thanks for the review")
    out = screen.take()
    assert "[#general] Tend posted:" in out and "@ana thanked @bo: thanks for the review" in out
    assert "(only you can see this)" in out
    # 09:00 UTC is 18:00 in Tokyo: bo's private note waits for bo's working hours.
    assert "[private message to @bo]" not in out
    await session.handle_line("/wait 15h")
    assert "[private message to @bo]" in screen.take()


async def test_as_switches_who_is_typing_and_the_prompt_shows_it(console):
    session, screen, _ = console
    assert session.prompt.startswith("ana in #general")
    await session.handle_line("/as bo")
    assert session.prompt.startswith("bo in #general")
    await session.handle_line("/kudos @ana thanks for the coffee")
    assert "@bo thanked @ana" in screen.take()


async def test_a_new_name_joins_the_workspace(console):
    session, screen, _ = console
    await session.handle_line("/as zoe")
    await session.handle_line("/kudos @bo welcome!")
    assert "@zoe thanked @bo" in screen.take()


async def test_buttons_are_numbered_and_click_opens_a_form_filled_field_by_field(console):
    session, screen, _ = console
    await session.handle_line("/kudos @bo thanks for the review")
    out = screen.take()
    assert "[1] Send a shout-out too" in out
    await session.handle_line("/as cy")
    await session.handle_line("/click 1")
    assert "Who do you want to thank?" in screen.take()
    await session.handle_line("ana")
    assert "What did they do?" in screen.take()
    await session.handle_line("explained the on-call rota so kindly")
    assert "1) Care" in screen.take()
    await session.handle_line("1")
    out = screen.take()
    assert "@cy thanked @ana: explained the on-call rota so kindly" in out and "#care" in out


async def test_a_form_can_be_cancelled_and_nothing_is_sent(console):
    session, screen, _ = console
    await session.handle_line("/kudos @bo thanks")
    screen.take()
    await session.handle_line("/click 1")
    await session.handle_line("/cancel")
    assert "nothing was sent" in screen.take()
    assert session.pending is None


async def test_wait_moves_the_clock_and_lets_scheduled_work_run(console):
    session, screen, ticks = console
    before = session.clock.now()
    await session.handle_line("/wait 2d")
    assert session.clock.now() - before == timedelta(days=2)
    assert len(ticks) == 2 * 24 * 6  # scheduled work ran every ten minutes of the skipped time
    assert "It is now Thu 26 Nov 2026" in screen.take()


@pytest.mark.parametrize(
    "line", ["/wait", "/wait soon", "/click", "/click 99", "/as", "/in ???", "/frobnicate"]
)
async def test_console_mistakes_get_usage_not_a_crash(console, line):
    session, screen, _ = console
    await session.handle_line(line)
    out = screen.take()
    assert "Usage" in out or "don't know" in out


async def test_tend_usage_errors_reach_the_console(console):
    session, screen, _ = console
    await session.handle_line("/tend ritual pause abc")
    assert "Example: `/tend ritual pause" in screen.take()


async def test_plain_text_in_a_channel_is_not_sent_to_tend(console):
    session, screen, _ = console
    await session.handle_line("hello everyone")
    assert "Only commands reach Tend" in screen.take()


def test_durations():
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration(" 3h ") == timedelta(hours=3)
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("2 weeks") is None
