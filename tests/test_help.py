"""``/tend help <topic>``, the manifests' command lists and hints made from the same declarations, and
the kudos input rules (a reason of "#", overlong value tags, thanking yourself) through the adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from adapters.teams.package import MANIFEST_FILE, MAX_COMMANDS, build_manifest, command_lists
from bot import commands as c
from bot.dispatch import help_reply
from bot.practices_registry import default_registry
from practices.messages import Example, Reply, examples_in, spans
from practices.shoutouts import MAX_TAG, Kudos
from storage.models import Shoutout
from tests import test_msteams, test_slack
from tests.helpers import at
from tests.scenario import Scenario
from tests.test_msteams import ANA, BO, BOT, CHANNEL, Teams, rows, sends_to
from tests.test_slack import Slack, count, posts_in

slack = test_slack.slack  # the suites' own fixtures: a real server, the fake Web API, the fake Connector
teams = test_msteams.teams

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ("kudos", "ritual", "1on1", "stress", "index", "settings", "privacy", "schedules", "admin", "team")


@pytest.fixture
async def s(database) -> Scenario:
    return Scenario(database, at("2025-03-03 10:00"))


def examples_on(card: object) -> list[str]:
    return [
        part.text
        for block in getattr(card, "blocks", ())
        if hasattr(block, "text")
        for part in spans(block.text)
        if isinstance(part, Example)
    ]


# --- help ------------------------------------------------------------------------------------------------


async def test_help_alone_lists_every_topic_and_how_to_ask_for_one(s: Scenario):
    said = await s.command("U1", "tend help")
    assert "`/tend help ritual`" in said
    for name in TOPICS:
        assert f"*{name}*" in said, name
    assert len(said.splitlines()) < 20  # a list of topics, not every command


@pytest.mark.parametrize("name", TOPICS)
async def test_each_topic_says_what_it_does_and_shows_each_command_with_an_example(s: Scenario, name: str):
    said = await s.command("U1", f"tend help {name}")
    topic = c.topic(name)
    assert topic is not None and said.startswith(f"Tend help: {name}")
    assert topic.about in said
    for usage in topic.usages:
        assert f"*{usage.command}*" in said and f"`{usage.example}`" in said, usage
    [reply] = help_reply(name).intents
    assert isinstance(reply, Reply)
    shown = examples_on(reply.card)
    words = [topic.about, *(usage.does for usage in topic.usages), *topic.notes]
    named = sum(isinstance(part, Example) for text in words for part in examples_in(text))  # `/tend resume`
    assert len(shown) == len(topic.usages) + len(topic.examples) + named >= 1
    assert len(said.splitlines()) <= 16  # short


async def test_the_schedules_topic_holds_the_schedule_grammar(s: Scenario):
    said = await s.command("U1", "tend help schedules")
    for words in ("mon,wed 09:25", "weekdays 9am", "every 2 weeks thu 10:00", "first mon 10:00", "daily"):
        assert words in said, words
    assert "`/tend ritual add shoutout-prompt here cron 25 9 * * mon,wed`" in said
    assert "0 and 7 are Sunday" in said


@pytest.mark.parametrize(
    ("asked", "topic"),
    [("ritual add", "ritual"), ("1:1", "1on1"), ("support", "stress"), ("Pause", "settings"),
     ("forget-me", "privacy"), ("cron", "schedules"), ("ADMIN", "admin")],
)  # fmt: skip
async def test_a_subcommand_or_another_word_for_a_topic_finds_it(s: Scenario, asked: str, topic: str):
    assert (await s.command("U1", f"tend help {asked}")).startswith(f"Tend help: {topic}")


async def test_an_unknown_topic_says_so_and_lists_the_topics(s: Scenario):
    said = await s.command("U1", "tend help *moon* <!channel>")
    assert "I have no help on “*moon* <!channel>”" in said
    assert all(name in said for name in TOPICS)
    assert "`/tend help ritual`" in said


def test_every_declared_example_is_a_command_the_grammar_accepts():
    for example in c.examples():
        command, _, text = example.partition(" ")
        assert command in ("/kudos", "/tend"), example
        assert not isinstance(c.parse(command[1:], text), c.UsageError), example  # type: ignore[arg-type]


# --- the manifests ---------------------------------------------------------------------------------------


def test_the_teams_command_menus_are_made_from_the_declarations_and_checked_in_as_made():
    checked_in = json.loads(MANIFEST_FILE.read_text(encoding="utf-8"))
    [bot] = checked_in["bots"]
    assert bot["commandLists"] == command_lists()
    [built] = build_manifest("11111111-2222-3333-4444-555555555555")["bots"]
    assert built["commandLists"] == command_lists()
    declared = {u.command for t in default_registry().topics for u in t.usages if "team" in u.menu}
    [_, team] = command_lists()
    assert {entry["title"] for entry in team["commands"]} == {"tend help"} | {d.lstrip("/") for d in declared}
    for menu in command_lists():
        assert len(menu["commands"]) <= MAX_COMMANDS
        for entry in menu["commands"]:
            assert "/" not in entry["title"] and "/tend" not in entry["description"], entry
            assert len(entry["title"]) <= 32 and len(entry["description"]) <= 128
            # What a person sends after picking it: the title alone, or the example it shows.
            typed = (
                entry["description"].rpartition(": ")[2] if ": " in entry["description"] else entry["title"]
            )
            assert typed.startswith(entry["title"]), entry
            word, _, rest = typed.partition(" ")
            assert not isinstance(c.parse(word, rest), c.UsageError), entry  # type: ignore[arg-type]


def test_slacks_slash_commands_carry_the_declared_usage_hints():
    manifest = yaml.safe_load((ROOT / "adapters/slack/manifest.yml").read_text())
    hints = {entry["command"]: entry["usage_hint"] for entry in manifest["features"]["slash_commands"]}
    assert hints == {"/kudos": c.slash_hint("kudos"), "/tend": c.slash_hint("tend")}
    assert "help [topic]" in hints["/tend"] and "ritual" in hints["/tend"]


# --- kudos input, through the adapters ---------------------------------------------------------------


def answers(slack: Slack) -> str:
    return json.dumps([call.args for call in slack.fake.of("response")])


async def test_slack_a_reason_of_only_a_hash_is_refused_with_what_is_missing(slack: Slack):
    assert (await slack.command("/kudos", "<@U2|bo> #")).status == 200
    await slack.settle()
    said = answers(slack)
    assert "doesn't say what they did" in said and "`/kudos @sam thanks for covering" in said
    assert await count(slack.database, Shoutout) == 0
    assert not posts_in("C1")(slack.fake.calls)


async def test_slack_a_self_mention_among_others_is_said_and_the_others_are_thanked(slack: Slack):
    assert (await slack.command("/kudos", "<@U1|ana> <@U2|bo> thanks for the pairing")).status == 200
    await slack.settle()
    [public] = await slack.fake.wait_for(posts_in("C1", "thanks for the pairing"))
    assert "<@U1> thanked <@U2>" in json.dumps(public.args["blocks"])
    said = answers(slack)
    assert "You can't thank yourself, so I left you out" in said and "<@U2>" in said
    async with slack.database.session() as session:
        from sqlmodel import select

        stored = (await session.exec(select(Shoutout))).all()
    assert len(stored) == 1


async def test_slack_only_yourself_is_refused_with_an_example(slack: Slack):
    assert (await slack.command("/kudos", "<@U1|ana> thanks me")).status == 200
    await slack.settle()
    said = answers(slack)
    assert "You can't thank yourself" in said and "`/kudos @bo thanks for the review`" in said
    assert await count(slack.database, Shoutout) == 0


async def test_teams_an_overlong_value_tag_is_refused_with_the_limit(teams: Teams):
    tag = "#" + "x" * 200
    await teams.say(f"<at>Tend</at> kudos <at>Bo</at> thanks for the review {tag}", mentions=(BOT, BO))
    await teams.adapter.drain()
    await teams.engine.delivery.deliver_due()
    body = json.dumps([call.body for call in teams.connector.calls], ensure_ascii=False)
    assert f"up to {MAX_TAG} characters" in body and "has 200" in body
    assert "kudos @sam thanks for covering" in body and "/kudos" not in body
    assert await rows(teams.database, Shoutout) == []
    assert not sends_to(CHANNEL, "thanks for the review")(teams.connector.calls)


async def test_teams_a_self_mention_among_others_is_said(teams: Teams):
    await teams.say(
        "<at>Tend</at> kudos <at>Ana</at> <at>Bo</at> thanks for the pairing", mentions=(BOT, ANA, BO)
    )
    await teams.adapter.drain()
    await teams.engine.delivery.deliver_due()
    await teams.connector.wait_for(sends_to(CHANNEL, "thanks for the pairing"))
    body = json.dumps([call.body for call in teams.connector.calls], ensure_ascii=False)
    assert "You can't thank yourself, so I left you out" in body
    assert len(await rows(teams.database, Shoutout)) == 1


async def test_slack_a_kudos_modal_whose_reason_is_only_a_hash_is_refused(slack: Slack):
    from adapters.slack.blocks import modal_view
    from practices.shoutouts import kudos_form

    await slack.command("/tend", "help", user="U2")  # Tend meets bo
    await slack.settle()
    view = modal_view(kudos_form(), "C1")
    values = {
        "person": {"person": {"type": "users_select", "selected_user": "U2"}},
        "reason": {"reason": {"type": "plain_text_input", "value": " # "}},
    }
    submission = {
        **slack.envelope("view_submission", "U1"),
        "view": {**view, "id": "V1", "state": {"values": values}},
    }
    assert (await slack.interaction(submission)).status == 200
    await slack.settle()
    said = json.dumps([call.args for call in slack.fake.calls if call.method == "chat.postEphemeral"])
    assert "doesn't say what they did" in said and "`/kudos @bo thanks for the review`" in said
    assert await count(slack.database, Shoutout) == 0


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("@bo #", "doesn't say what they did"),
        ("@bo !!! #care", "doesn't say what they did"),
        ("@bo thanks #" + "x" * (MAX_TAG + 1), f"up to {MAX_TAG} characters"),
    ],
)
def test_the_kudos_grammar_says_what_is_missing(typed: str, says: str):
    refused = c.parse("kudos", typed)
    assert isinstance(refused, c.UsageError) and says in refused.message
    assert not isinstance(c.parse("kudos", refused.example.removeprefix("/kudos ")), c.UsageError)


def test_a_value_tag_at_the_limit_and_a_short_reason_are_fine():
    accepted = c.parse("kudos", "@bo 1 #" + "x" * MAX_TAG)
    assert isinstance(accepted, Kudos) and accepted.reason == "1" and accepted.value_tags == ("x" * MAX_TAG,)
