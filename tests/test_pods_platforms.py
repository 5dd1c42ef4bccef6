"""A pod's conversation on each platform: Slack opens a group DM with everyone in it (one
``conversations.open`` with several users) and posts the introduction there; Teams, where a bot cannot
start a group chat, posts in the programme's channel and mentions each of them for real."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.scheduler import Scheduler
from practices.pods import intro_card, prompt_for
from storage.models import Member
from tests import test_msteams, test_slack
from tests.test_msteams import ANA, BO, BOT, CHANNEL, TENANT, Teams, installed_by
from tests.test_slack import Slack

slack = test_slack.slack  # the fixtures, shared
teams = test_msteams.teams

PEOPLE = ("U1", "U2", "U3", "U4", "U5", "U6")


async def test_slack_a_round_opens_one_group_dm_per_pod_with_the_introduction(slack: Slack):
    for user in PEOPLE:  # U1, Slack's primary owner, is the admin
        await slack.command("/tend", "help", user=user)
    await slack.settle()
    await slack.command("/tend", "pods start <#C1|general> weekly opt-in")
    await slack.settle()  # commands are handled a few at a time: the programme exists before opt-ins
    for user in PEOPLE:
        await slack.command("/tend", "pods opt-in", user=user)
    await slack.settle()

    scheduler = Scheduler(slack.database, slack.clock, senders=slack.engine.senders)
    slack.clock.advance(timedelta(days=1))  # Tuesday 10:00 UTC, when weekly rounds form
    await scheduler.tick()
    await slack.engine.delivery.deliver_due(limit=100)

    opened = [c for c in slack.fake.of("conversations.open") if "," in str(c.args.get("users", ""))]
    assert len(opened) == 1
    assert sorted(str(opened[0].args["users"]).split(",")) == list(PEOPLE)
    group = "G" + "-".join(PEOPLE)
    [intro] = [c for c in slack.fake.of("chat.postMessage") if c.args.get("channel") == group]
    said = json.dumps(intro.args["blocks"])
    assert all(f"<@{user}>" in said for user in PEOPLE)  # each of them mentioned, so each is notified
    assert prompt_for(1) in json.dumps(intro.args["blocks"], ensure_ascii=False)


async def test_teams_a_pod_is_gathered_in_the_programmes_channel_with_real_mentions(teams: Teams):
    await teams.say("<at>Tend</at> tend help", mentions=(BOT,))  # Tend learns the channel
    people = [
        Member(
            workspace_id=1, platform_user_id=ANA["id"], display_name=ANA["name"], created_at=teams.clock.now()
        ),
        Member(
            workspace_id=1, platform_user_id=BO["id"], display_name=BO["name"], created_at=teams.clock.now()
        ),
    ]
    card = intro_card(people, prompt_for(1), 4)
    before = len(teams.connector.calls)
    await teams.sender.open_group(TENANT, [ANA["id"], BO["id"]], CHANNEL, card)

    [sent] = teams.connector.calls[before:]
    assert sent.kind in ("send", "reply") and sent.conversation_id.startswith(CHANNEL)
    body = sent.body
    mentioned = {e["mentioned"]["id"] for e in body.get("entities", []) if e.get("type") == "mention"}
    assert mentioned == {ANA["id"], BO["id"]}
    assert "<at>Ana</at>" in body["text"] and "<at>Bo</at>" in body["text"]


async def test_teams_a_round_gathers_the_pod_in_the_channel_it_was_started_in(teams: Teams):
    await installed_by(teams)  # ana adds Tend to the team: its first install makes her the admin
    await teams.say("<at>Tend</at> tend pods start here size 2-3 weekly opt-in", mentions=(BOT,))
    await teams.say("<at>Tend</at> tend pods opt-in", mentions=(BOT,))
    await teams.say("<at>Tend</at> tend pods opt-in", user=BO, mentions=(BOT,))

    scheduler = Scheduler(teams.database, teams.clock, senders=teams.engine.senders)
    before = len(teams.connector.calls)
    teams.clock.advance(timedelta(days=1))  # Tuesday 10:00 UTC, when weekly rounds form
    await scheduler.tick()
    await teams.engine.delivery.deliver_due(limit=100)

    gathered = [
        c
        for c in teams.connector.calls[before:]
        if c.kind in ("send", "reply")
        and c.conversation_id.startswith(CHANNEL)
        and "compassion pod" in json.dumps(c.body)
    ]
    assert len(gathered) == 1
    mentioned = {
        e["mentioned"]["id"] for e in gathered[0].body.get("entities", []) if e.get("type") == "mention"
    }
    assert mentioned == {ANA["id"], BO["id"]}
