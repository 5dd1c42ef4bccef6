"""The console demo in README.md, typed line by line into a real console, as a reader would.

The script is read from README.md itself, so when the README changes this test follows it. Each line
must be typed at the prompt the README shows (the right person, place and form question), must be
accepted (no refusal, usage hint or apology), and whatever a comment puts in "quotes" must be printed
by that line. Then the story a reader follows is checked step by step. The console's clock starts
at its fixed Monday morning whatever the real day is, so the demo runs the same on any day.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console.repl import CLOCK_FILE, DEMO_START, build_console, console_clock
from adapters.console.session import ConsoleSender, ConsoleSession
from bot.clock import FixedClock
from bot.engine import Engine
from bot.scheduler import Scheduler
from practices.schedules import Recurrence, parse_schedule
from storage.db import Database
from tests.test_app import APP, clean_env

README = Path(__file__).resolve().parents[1] / "README.md"

# What the console prints when a line was not taken as meant.
REFUSALS = (
    "Only a Tend admin",
    "Usage",
    "I don't know",
    "Example:",
    "Please pick",
    "This one is needed",
    "so answers are no longer counted",
    "Only commands reach Tend",
    "You are filling in a form",
    "Sorry",
    "Something went wrong",
    "Traceback",
)

_PROMPT = re.compile(
    r"^(?P<prompt>[a-z][\w.-]* in (?:#[\w.-]+|private chat with Tend)(?: \[[^\]]+\])?)>(?: (?P<typed>.*))?$"
)
_COMMENT = re.compile(r"\s{2,}# ")
_QUOTED = re.compile(r'"([^"]+)"')


@dataclass
class Step:
    number: int  # the line in README.md
    prompt: str  # as the console prints it, "ana in #general> "
    typed: str
    comment: str
    output: list[str] = field(default_factory=list)  # what the console wrote, one entry per message

    @property
    def user(self) -> str:
        return self.prompt.split(" ", 1)[0]

    @property
    def text(self) -> str:
        return "\n".join(self.output)


def demo_script(readme: str) -> list[Step]:
    """The ```text block of the README's console section, as steps; anything else there fails."""
    section = readme.split("## Try it in the console", 1)[1].split("\n## ", 1)[0]
    offset = readme.index(section)
    start = section.index("```text\n") + len("```text\n")
    block = section[start : section.index("```", start)]
    first_line = readme[: offset + start].count("\n") + 1
    steps: list[Step] = []
    for number, line in enumerate(block.splitlines(), start=first_line):
        if not line.strip() or line.startswith("#"):
            continue
        parts = _COMMENT.split(line, maxsplit=1)
        typed_part, comment = parts[0], parts[1] if len(parts) > 1 else ""
        match = _PROMPT.match(typed_part.rstrip())
        assert match, f"README.md line {number} is neither a comment nor `<prompt>> <typed>`: {line!r}"
        steps.append(Step(number, match["prompt"] + "> ", (match["typed"] or "").strip(), comment.strip()))
    return steps


def test_the_script_is_read_as_the_reader_sees_it():
    steps = demo_script(README.read_text())
    kudos = steps[0]
    assert kudos.prompt == "ana in #general> " and kudos.typed.endswith("careful review #craft")
    assert "16:30 in Tokyo" in kudos.comment  # a hashtag in what is typed is not a comment
    answers = [s for s in steps if s.prompt == "bo in #general [A private check-in]> "]
    assert [s.typed for s in answers][:2] == ["4", "workload"]


class Screen:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def take(self) -> list[str]:
        taken, self.writes = self.writes, []
        return taken


async def console_as_app_builds_it(
    database: Database, real_now: datetime, folder: Path
) -> tuple[ConsoleSession, Screen, str]:
    """The console wired as ``app.console()`` wires it, on fresh data, on a day of the test's choosing."""
    screen = Screen()
    clock, _, note = console_clock(folder / CLOCK_FILE, has_data=False, base=FixedClock(real_now))
    scheduler = Scheduler(database, clock, charts=folder / "charts")
    engines: list[Engine] = []

    def make_engine(sender: ConsoleSender) -> Engine:
        scheduler.senders["console"] = sender
        engines.append(Engine(database, clock, {"console": sender}))
        return engines[0]

    async def catch_up() -> None:
        await scheduler.tick()
        await engines[0].delivery.deliver_due(limit=1000)

    session = build_console(make_engine, clock, screen.write, on_time_moved=catch_up)
    await session.start()
    session.write(note)
    return session, screen, "\n".join(screen.take())


async def run_demo(session: ConsoleSession, screen: Screen) -> list[Step]:
    steps = demo_script(README.read_text())
    for step in steps:
        where = f"README.md line {step.number} ({step.prompt}{step.typed})"
        assert session.prompt == step.prompt, f"{where}: the console's prompt is {session.prompt!r}"
        await session.handle_line(step.typed)
        step.output = screen.take()
        refused = [word for word in REFUSALS if word in step.text]
        assert not refused, f"{where} was not accepted ({refused}):\n{step.text}"
        for quoted in _QUOTED.findall(step.comment):
            assert quoted in step.text, (
                f"{where}: its comment promises {quoted!r}, the console printed:\n{step.text}"
            )
    return steps


def message(steps: list[Step], heading: str, needle: str) -> tuple[int, str]:
    """The first message under ``heading`` that contains ``needle``, and the step that printed it."""
    for index, step in enumerate(steps):
        for text in step.output:
            if text.startswith(heading) and needle in text:
                return index, text
    transcript = "\n".join(f"{s.prompt}{s.typed}\n{s.text}" for s in steps)
    raise AssertionError(f"nothing under {heading!r} said {needle!r}:\n{transcript}")


def only(steps: list[Step], typed_prefix: str, user: str | None = None) -> Step:
    found = [s for s in steps if s.typed.startswith(typed_prefix) and user in (None, s.user)]
    assert len(found) == 1, f"the README should type {typed_prefix!r} once, as {user or 'anyone'}"
    return found[0]


# The day it failed on (a Friday evening), a Sunday on which Europe's clocks change, a late Monday.
REAL_DAYS = [
    pytest.param(datetime(2026, 12, 4, 19, 0, tzinfo=UTC), id="friday"),
    pytest.param(datetime(2027, 3, 28, 1, 30, tzinfo=UTC), id="dst-sunday"),
    pytest.param(datetime(2031, 6, 2, 23, 0, tzinfo=UTC), id="monday-night"),
]


@pytest.mark.parametrize("real_now", REAL_DAYS)
async def test_the_readme_demo_works_as_written_any_day(database, tmp_path, real_now):
    session, screen, welcome = await console_as_app_builds_it(database, real_now, tmp_path)
    assert "starts at Mon 07 Dec 2026 08:30 (Europe/Berlin)" in welcome and "README" in welcome
    steps = await run_demo(session, screen)

    # 1. The shout-out is posted in #general and bo's private note comes at once (16:30 in Tokyo).
    posted, _ = message(steps, "[#general] Tend posted:", "@ana thanked @bo: thanks for the careful review")
    noted, _ = message(steps, "[private message to @bo]", "@ana thanked you in #general")
    assert posted == noted == 0

    # 2. The opener's card appears in #standup after the wait; two answers show as a count only.
    added = only(steps, "/tend ritual add opener", "ana")
    assert "Ritual added" in added.text and "Mon–Fri at 09:25" in added.text
    fired, _ = message(steps, "[#standup] Tend posted:", "How are you arriving today?")
    assert steps[fired].typed.startswith("/wait") and "No answers yet." in steps[fired].text
    counted, card = message(steps, "[#standup] Tend updated", "2 answers")
    assert steps[counted].user == "bo" and "Totals appear when the check-in closes" in card

    # 3. The request reaches cy without bo's name; cy's reply reaches bo without cy's name.
    assert "@cy is now on the support rota" in only(steps, "/tend support add", "ana").text
    asked = steps.index(only(steps, "/tend stress", "bo"))
    sent, _ = message(steps, "(only you can see this)", "Thank you for telling me")
    assert sent > asked and all(s.user == "bo" and "[" in s.prompt for s in steps[asked + 1 : sent + 1])
    requested, request = message(steps, "[private message to @cy]", "Someone asked to talk, anonymously")
    assert "Intensity 4/5, about workload" in request and "a few words" in request
    assert not re.search(r"\bbo\b", request.split("\n", 1)[1])
    assert steps[requested].user == "cy" and steps[requested].typed.startswith("/wait")
    replying = next(s for s in steps if "[Reply anonymously]" in s.prompt)
    assert steps[steps.index(replying) - 1].user == "cy" and replying.typed
    assert steps.index(replying) > requested
    answered, reply = message(steps, "[private message to @bo]", replying.typed[:40])  # cards wrap at 78
    assert answered > steps.index(replying) and steps[answered].typed.startswith("/wait")
    assert not re.search(r"\bcy\b", reply.split("\n", 1)[1])
    message(steps, "[#standup] Tend updated", "This check-in has closed. 2 people answered.")

    # 4. The 1:1, the hours, the pause, cy's own page and the admin's list of rituals.
    one_on_one = only(steps, "/tend 1on1 add", "cy").text
    assert "1:1 added" in one_on_one and "@cy with @di" in one_on_one
    assert "Saved. Your hours: Mon–Thu 08:00–16:00" in only(steps, "/tend settings hours", "cy").text
    assert "paused until 2026-12-24" in only(steps, "/tend pause until", "cy").text
    home = only(steps, "/home", "cy").text
    assert "Hi cy" in home and "with @di" in home and "Personal prompts paused until 2026-12-24" in home
    listed = only(steps, "/tend ritual list", "ana").text
    assert "#1 opener in #standup: Mon–Fri at 09:25" in listed


# --- the console's clock, kept beside its data -------------------------------------------------------


def test_a_fresh_console_starts_at_the_fixed_monday_whatever_the_day(tmp_path):
    for real_now in (datetime(2026, 12, 4, 19, 0, tzinfo=UTC), datetime(2030, 1, 6, 12, 0, tzinfo=UTC)):
        clock, _, note = console_clock(tmp_path / CLOCK_FILE, has_data=False, base=FixedClock(real_now))
        assert clock.now() == DEMO_START and DEMO_START.weekday() == 0
        assert "Mon 07 Dec 2026 08:30 (Europe/Berlin)" in note


def test_a_restarted_console_carries_on_and_never_goes_back(tmp_path):
    real = FixedClock(datetime(2026, 12, 4, 19, 0, tzinfo=UTC))
    clock, _, _ = console_clock(tmp_path / CLOCK_FILE, has_data=False, base=real)
    clock.advance(timedelta(days=2))  # /wait 2d: saved as it moves
    shown = clock.now()
    real.advance(timedelta(hours=1))  # an hour later the console starts again
    again, _, note = console_clock(tmp_path / CLOCK_FILE, has_data=True, base=real)
    assert again.now() == shown + timedelta(hours=1)
    assert "carries on from last time" in note and "Wed 09 Dec 2026 09:30" in note
    real.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # the machine's clock was set back meanwhile
    third, _, _ = console_clock(tmp_path / CLOCK_FILE, has_data=True, base=real)
    assert third.now() >= again.now()  # the latest time it kept is the floor


@pytest.mark.parametrize("content", [None, "", "not json", '{"offset_seconds": "x", "latest": "y"}', "[]"])
def test_data_without_a_usable_saved_clock_never_goes_back_before_real_time(tmp_path, content):
    path = tmp_path / CLOCK_FILE
    if content is not None:
        path.write_text(content)
    later = datetime(2027, 5, 4, 10, 0, tzinfo=UTC)  # data written on real time by an older console
    clock, _, note = console_clock(path, has_data=True, base=FixedClock(later))
    assert clock.now() == later and "no saved console clock that can be read" in note
    earlier = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    clock, _, _ = console_clock(path.with_name("other"), has_data=True, base=FixedClock(earlier))
    assert clock.now() == DEMO_START  # and never before the demo's own morning
    assert json.loads(path.read_text())["latest"] == later.isoformat()  # the file is whole again


def test_python_app_console_says_where_its_clock_starts_and_a_restart_carries_on(tmp_path):
    """The real process, twice, in a fresh directory: the second start goes on from the first."""

    def run(typed: str) -> str:
        result = subprocess.run([sys.executable, APP, "console"], cwd=tmp_path, env=clean_env(),
                                input=typed, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    first = run("/wait 2d\n/quit\n")
    assert "The console's clock starts at Mon 07 Dec 2026 08:30 (Europe/Berlin)" in first
    assert "It is now Wed 09 Dec 2026 08:3" in first
    assert (tmp_path / "data" / CLOCK_FILE).exists()
    second = run("/now\n/quit\n")
    assert "carries on from last time: it is Wed 09 Dec 2026 08:3" in second
    shown = re.findall(r"It is now (\w{3} \d\d \w{3} \d{4} \d\d:\d\d) for ana", first + second)
    times = [datetime.strptime(text, "%a %d %b %Y %H:%M") for text in shown]
    assert times == sorted(times) and len(times) == 2


# --- what `daily` means (docs/practices.md) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "days"),
    [
        ("daily 08:00", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
        ("everyday 08:00", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
        ("weekdays 09:25", ("mon", "tue", "wed", "thu", "fri")),
        ("weekends 10:00", ("sat", "sun")),
    ],
)
def test_daily_means_every_day_and_weekdays_monday_to_friday(schedule, days):
    recurrence = parse_schedule(schedule)
    assert isinstance(recurrence, Recurrence) and recurrence.days == days


def test_the_readme_demo_typed_into_python_app_console(tmp_path):
    """The same script through the real process (its background scheduler running on real time)."""
    steps = demo_script(README.read_text())
    typed = "".join(f"{step.typed}\n" for step in steps) + "/quit\n"
    result = subprocess.run([sys.executable, APP, "console"], cwd=tmp_path, env=clean_env(), input=typed,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert [word for word in REFUSALS if word in out] == []
    for step in steps:
        assert f"{step.prompt}" in out, f"README.md line {step.number}: the prompt {step.prompt!r} never came"
    reply = next(step.typed for step in steps if "[Reply anonymously]" in step.prompt)
    for seen in ("@ana thanked @bo", "2 answers", "Someone asked to talk, anonymously", "1:1 added"):
        assert seen in out
    to_bo = f"[private message to @bo]\n┌ A support person replied\n│ {reply[:40]}"  # a card wraps at 78
    assert out.index("Someone asked to talk") < out.index(to_bo)
