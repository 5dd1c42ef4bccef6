"""Every example Tend shows is one the reader's platform accepts as typed.

For each platform, through its real adapter (the console session; Slack: signed HTTP requests answered
by the fake Web API; Teams: real tokens and the fake Bot Connector): ask for help on every topic, make
every usage mistake and some schedule mistakes, ask what makes the practices' own answers hold
examples (an empty team list, a team with no channel, the privacy card, an export, forget-me...), and
read the examples out of what the platform received, where they are drawn as code (Slack inline code,
a Teams monospace run, the console's backticks). Every example in the grammar's declarations, and each
one the practices write in their prose, must be among them, in the platform's spelling (Teams:
``kudos``/``tend``, no slash). Then each one is typed back through the same adapter, and the
grammar must accept it: no usage error.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters.console.repl import build_console
from bot import commands as c
from bot.clock import FixedClock, ShiftedClock
from bot.engine import Engine
from bot.practices_registry import default_registry
from practices.messages import typed_on
from tests import test_msteams, test_slack
from tests.helpers import at
from tests.test_msteams import Teams, installed_by
from tests.test_slack import Slack
from tests.test_user_text import slack_texts

slack = test_slack.slack  # the suites' own fixtures: a real server, the fake Web API, the fake Connector
teams = test_msteams.teams

# What makes the practices' own answers show examples (neutral spelling; the asker is the only admin).
PROSE_ASKED = [
    "/tend team list",
    "/tend team delete nowhere",
    "/tend team create platform",
    "/tend team create platform here",
    "/tend index nowhere",
    "/tend support list",
    "/tend privacy",
    "/tend export-my-data",
    "/tend forget-me",  # the only admin: refused, with what to type first
    "/tend pause until 2020-01-01",
    "/tend pause until 2030-01-31",
    "/tend pause off",
    "/tend 1on1 list",
    "/tend 1on1 remove 99",
]
# What makes Tend show examples: help, each usage mistake, schedule mistakes, the practices' answers.
ASKED = [
    "/tend help",
    *(f"/tend help {topic.name}" for topic in default_registry().topics),
    "/tend help nonsense",
    "/kudos",
    "/kudos @bo #",
    "/tend ritulal",
    "/tend xyzzy",
    "/tend ritual",
    "/tend ritual add",
    "/tend ritual pause",
    "/tend ritual resume x",
    "/tend ritual remove",
    "/tend team",
    "/tend team create",
    "/tend team delete",
    "/tend index 99",
    "/tend privacy now",
    "/tend forget-me now",
    "/tend export-my-data please",
    "/tend admin",
    "/tend support",
    "/tend 1on1",
    "/tend 1on1 remove",
    "/tend 1on1 prep 3",
    "/tend settings hours x",
    "/tend settings tz Mars/Olympus",
    "/tend pause x",
    "/tend resume now",
    "/tend stress now",
    "/tend ritual add retro here mon 09:25",  # an unknown kind: the rule's answer, usage and example
    "/tend ritual add opener here mondya 09:25",
    "/tend ritual add opener here mon",
    "/tend ritual add opener here cron 25 9 * *",
    "/tend ritual add shoutout-prompt here mon 25:00 Europe/Berlin",
    *PROSE_ASKED,
]
# Examples those answers hold, written in the practices' prose (not declared in the grammar).
PROSE_EXAMPLES = {
    "/tend team create platform here",  # no teams yet; none called "nowhere"
    "/tend team delete platform",  # a team with no channel: how to give it one
    "/tend team add platform @sam @kim",  # what to do next
    "/tend team list",  # no team called "nowhere" for the index
    "/tend index platform 8",
    "/tend support add @kim",  # the empty rota
    "/tend export-my-data",  # privacy: your rights
    "/tend forget-me",
    "/tend privacy",  # the export's small print
    "/tend admin add @sam",  # the last admin cannot be forgotten
    "/tend pause off",  # paused
    "/tend 1on1 list",  # no such 1:1
    "/tend 1on1 add @bo every 2 weeks thu 10:00",  # no 1:1s yet
}
CRON = "cron 25 9 * * mon,wed"
_CODE = re.compile(r"`([^`\n]+)`")
# A command word outside code, but for a help synopsis (*/tend team add* ...) or a command named in
# quotes (“/tend team” needs one of ...), which are not meant to be typed as they are.
_COMMAND = re.compile(r"(?<![\w/*“])/(tend|kudos)\b")


class Parses:
    """Every command the grammar read while an adapter handled what was typed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[tuple[str, str, c.Result]] = []
        real = c.parse

        def parse(command: Any, text: str, mentions: Any = (), **options: Any) -> c.Result:
            result = real(command, text, mentions, **options)
            self.seen.append((command, text, result))
            return result

        monkeypatch.setattr(c, "parse", parse)

    def take(self) -> list[tuple[str, str, c.Result]]:
        seen, self.seen = self.seen, []
        return seen


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Parses:
    return Parses(monkeypatch)


def expected(slash_commands: bool) -> set[str]:
    return {typed_on(example, slash_commands) for example in c.examples()}


async def check_every_example(
    shown_after: Callable[[str], Awaitable[set[str]]],
    type_back: Callable[[str], Awaitable[None]],
    parses: Parses,
    slash_commands: bool,
) -> set[str]:
    shown: set[str] = set()
    for asked in ASKED:
        shown |= await shown_after(typed_on(asked, slash_commands))
    missing = expected(slash_commands) - shown
    assert not missing, f"declared examples never shown: {sorted(missing)}"
    assert typed_on("/tend ritual add shoutout-prompt here cron 25 9 * * mon,wed", slash_commands) in shown
    prose = {typed_on(example, slash_commands) for example in PROSE_EXAMPLES}
    assert not prose - shown, f"examples in the practices' answers never shown: {sorted(prose - shown)}"
    assert any(example.startswith(typed_on("/tend pause until 20", slash_commands)) for example in shown)
    if not slash_commands:
        assert not [example for example in shown if example.startswith("/")], shown
    parses.take()
    for example in sorted(shown):
        await type_back(example)
        seen = parses.take()
        assert seen, f"{example!r} never reached the grammar"
        refused = [result for _, _, result in seen if isinstance(result, c.UsageError)]
        assert not refused, (example, refused)
    return shown


# --- the console ---------------------------------------------------------------------------------------


async def test_every_example_the_console_shows_works_as_typed_there(database, parses: Parses):
    screen: list[str] = []
    clock = ShiftedClock(FixedClock(at("2025-03-03 10:00")))
    session = build_console(lambda sender: Engine(database, clock, {"console": sender}), clock, screen.append)
    await session.start()
    screen.clear()

    async def shown_after(line: str) -> set[str]:
        await session.handle_line(line)
        text = " ".join(line.removeprefix("│ ").strip() for out in screen for line in out.splitlines())
        screen.clear()
        return set(_CODE.findall(text))

    async def type_back(example: str) -> None:
        await session.handle_line(example)
        await session.handle_line("/cancel")  # a form it opened (the stress check-in) is left
        screen.clear()

    shown = await check_every_example(shown_after, type_back, parses, slash_commands=True)
    assert "/kudos @sam thanks for covering the on-call shift #teamwork" in shown


# --- Slack ---------------------------------------------------------------------------------------------


def _slack_code(calls: list[Any]) -> set[str]:
    found: set[str] = set()
    for call in calls:
        for text in slack_texts(call.args):
            found |= {html.unescape(code) for code in _CODE.findall(text)}
    return found


async def test_every_example_slack_shows_works_as_typed_there(slack: Slack, parses: Parses):
    slack.fake.set_user("U1", "ana", "UTC", role="admin")

    async def send(line: str) -> None:
        command, _, text = line.partition(" ")
        assert (await slack.command(command, text)).status == 200
        await slack.settle()

    async def shown_after(line: str) -> set[str]:
        before = len(slack.fake.calls)
        await send(line)
        return _slack_code(slack.fake.calls[before:])

    shown = await check_every_example(shown_after, send, parses, slash_commands=True)
    assert "/tend help ritual" in shown
    # A command named in an answer (a usage error's "“/tend team” needs one of…", a pointer to another
    # command) is drawn as one: inline code, never plain words a person could misread or mistype.
    outside_code = [_CODE.sub("`…`", text) for call in slack.fake.calls for text in slack_texts(call.args)]
    loose = {text[max(0, found.start() - 60) : found.end() + 30] for text in outside_code
             for found in _COMMAND.finditer(text)}  # fmt: skip
    assert not loose, sorted(loose)
    # Inline code: Slack reads nothing inside it as bold, so the cron example keeps its asterisks.
    texts = [text for call in slack.fake.calls for text in slack_texts(call.args)]
    assert any(f"`/tend ritual add shoutout-prompt here {CRON}`" in text for text in texts)


# --- Teams ---------------------------------------------------------------------------------------------


def _monospace(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if node.get("type") == "TextRun" and node.get("fontType") == "Monospace":
            found.add(node["text"])
        for value in node.values():
            found |= _monospace(value)
    elif isinstance(node, list):
        for value in node:
            found |= _monospace(value)
    return found


async def test_every_example_teams_shows_works_as_typed_there(teams: Teams, parses: Parses):
    await installed_by(teams)  # ana installs Tend, so she is an admin and ritual mistakes get examples

    async def send(line: str) -> None:
        await teams.say(line, personal=True)
        await teams.adapter.drain()
        await teams.engine.delivery.deliver_due()

    async def shown_after(line: str) -> set[str]:
        before = len(teams.connector.calls)
        await send(line)
        calls = teams.connector.calls[before:]
        body = json.dumps([call.body for call in calls])
        assert "/tend" not in body and "/kudos" not in body, body  # Teams people cannot type those
        return _monospace([call.body for call in calls])

    shown = await check_every_example(shown_after, send, parses, slash_commands=False)
    assert (
        "tend help ritual" in shown and "kudos @sam thanks for covering the on-call shift #teamwork" in shown
    )


async def test_a_teams_invoke_answer_spells_its_example_as_teams_people_type_it(teams: Teams):
    """An Action.Execute invoke is answered in plain text (a toast): its example has no slash either."""
    await teams.say("hello", personal=True)  # Tend learns the chat
    data = {"tend": {"kind": "click", "action": "forget.cancel"}}  # "Keep my data" on forget-me's card
    invoke = teams.activity(
        personal=True,
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "data": data}},
    )
    headers = {"Authorization": f"Bearer {teams.identity.token(test_msteams.APP_ID, invoke['serviceUrl'])}"}
    async with teams.http.post(
        teams.url + test_msteams.MESSAGES_PATH, json=invoke, headers=headers
    ) as response:
        assert response.status == 200
        body = await response.json()
    assert "with tend export-my-data." in body["value"] and "/tend" not in body["value"], body


def test_an_unknown_help_topic_says_so_and_lists_the_topics():
    from bot.dispatch import help_reply

    [reply] = help_reply("moon phases").intents
    text = reply.card.fallback  # type: ignore[union-attr]
    assert "I have no help on “moon phases”" in text
    assert all(topic.name in text for topic in default_registry().topics)


def test_a_usage_error_draws_the_command_it_names_as_one_and_what_was_typed_as_words():
    """ "`/tend help` lists what I can do" is a command to copy (code, each platform's spelling); a
    backtick someone typed, quoted back in the same answer, makes nothing of their words a command."""
    from bot.dispatch import usage_reply
    from practices.messages import Example, Said

    mistake = c.parse("tend", "`xyzzy`", ())
    assert isinstance(mistake, c.UsageError)
    [reply] = usage_reply(mistake).intents
    [text] = reply.card.blocks  # type: ignore[union-attr]
    examples = [part.text for part in text.text if isinstance(part, Example)]  # type: ignore[union-attr]
    assert examples == ["/tend help", "/tend help"]  # in the message, and its example
    assert "“'xyzzy'”" in reply.card.fallback  # type: ignore[union-attr]
    assert not any(isinstance(part, Said) for part in text.text)  # type: ignore[union-attr]
