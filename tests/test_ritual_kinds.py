"""An unknown ritual kind, as an admin types it on each platform: the grammar takes any word there and
the rule ``new_ritual`` is the one check, answering with the kind typed, the kinds in use, the usage and
an example spelled as that platform takes it typed (console and Slack ``/tend``, Teams ``tend``)."""

from __future__ import annotations

import html
import json

from adapters.console.repl import build_console
from bot import commands as c
from bot.clock import FixedClock, ShiftedClock
from bot.engine import Engine
from practices.grammar import PlaceRef
from practices.rituals import RitualAdd
from storage.db import Database
from tests import test_msteams, test_slack
from tests.helpers import at
from tests.test_msteams import ANA, Teams, installed_by, sends_to
from tests.test_slack import Slack
from tests.test_user_text import slack_texts

slack = test_slack.slack  # the suites' own fixtures: a real server, the fake Web API, the fake Connector
teams = test_msteams.teams

KINDS = "opener, shoutout-prompt, shoutout-digest"
UNKNOWN = f"I don't know the ritual kind “retro”; pick one of {KINDS}.\nUsage: "
ARGS = " <opener|shoutout-prompt|shoutout-digest> <#channel|here> <schedule> [time zone]\nExample: "
EXAMPLE = "tend ritual add opener here mon,wed 09:25 Europe/Berlin"  # each platform puts its / or not


def test_the_grammar_takes_any_word_as_the_kind_and_needs_one_first() -> None:
    assert c.parse("tend", "ritual add Retro #team mon 09:25") == RitualAdd(
        "retro", PlaceRef(None, "team"), "mon 09:25"
    )
    for text in ("ritual add", "ritual add #team mon 09:25", "ritual add here mon 09:25"):
        said = c.parse("tend", text)
        assert isinstance(said, c.UsageError) and "which ritual" in said.message
        assert "`/tend help ritual`" in said.message  # where the kinds are listed


async def test_the_console_answers_an_unknown_kind_with_kinds_usage_and_example(database: Database) -> None:
    screen: list[str] = []
    clock = ShiftedClock(FixedClock(at("2025-03-03 10:00")))
    session = build_console(lambda sender: Engine(database, clock, {"console": sender}), clock, screen.append)
    await session.start()  # the console's person is the workspace's admin
    screen.clear()
    await session.handle_line("/tend ritual add retro here mon 09:25")
    said = " ".join(line.removeprefix("│ ").strip() for out in screen for line in out.splitlines())
    expected = f"{UNKNOWN}/tend ritual add{ARGS}`/{EXAMPLE}`"
    assert " ".join(expected.split()) in said, said  # the console wraps long lines


async def test_slack_answers_an_unknown_kind_with_the_kinds_usage_and_example(slack: Slack) -> None:
    slack.fake.set_user("U1", "ana", "UTC", role="admin")
    assert (await slack.command("/tend", "ritual add retro here mon 09:25")).status == 200
    await slack.settle()
    texts = [html.unescape(text) for text in slack_texts(slack.fake.of("response")[-1].args)]
    assert any(f"{UNKNOWN}*/tend ritual add*{ARGS}`/{EXAMPLE}`" in text for text in texts), texts


async def test_teams_answers_an_unknown_kind_with_the_kinds_usage_and_example(teams: Teams) -> None:
    await installed_by(teams)  # ana installs Tend, so she is its admin
    await teams.say("tend ritual add retro here mon 09:25", personal=True)
    [answer] = await teams.connector.wait_for(sends_to(f"a:personal-{ANA['id']}", "retro"))
    body = json.dumps(answer.body, ensure_ascii=False)
    assert "/tend" not in body  # Teams people type "tend", with no slash
    [card] = [a["content"] for a in answer.body["attachments"]]
    [block] = card["body"]
    runs = block["inlines"]
    assert "".join(run["text"] for run in runs) == f"{UNKNOWN}tend ritual add{ARGS}{EXAMPLE}"
    assert {"type": "TextRun", "text": "tend ritual add", "weight": "bolder"} in runs  # the synopsis
    assert {"type": "TextRun", "text": EXAMPLE, "fontType": "Monospace"} in runs  # the example, as code
