"""A private message waits until Tend knows the person's own time zone, and never goes on a guess.

Someone Tend has not met yet is stored with no zone of their own. A private note to them is held
(never sent) until the platform says where they are: Slack answers ``users.info`` after the ack,
Teams puts the zone on what the person sends. Then it goes inside their working hours, in their zone.
Slack and Teams run for real against the fakes on 127.0.0.1; the clock is the test's.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from adapters.slack.blocks import modal_view
from practices.shoutouts import kudos_form
from storage.models import Member, Outbox
from tests import test_console, test_msteams, test_slack
from tests.fake_slack_api import Call
from tests.helpers import at
from tests.scenario import Scenario
from tests.test_msteams import BO, BOT, CHANNEL, KUDOS, Teams, sends_to
from tests.test_slack import Slack, posts_in
from tests.test_slack_events import post_event
from tests.test_slack_home import user_event

slack = test_slack.slack  # Tend's server with Bolt, signed requests, a fake Web API
teams = test_msteams.teams  # Tend's /api/messages with botbuilder, a fake Bot Connector
console = test_console.console  # the console with its demo people (each with a zone), clock at Tue 09:00 UTC

LA = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")
THANKS = "thanks for the careful review"


async def member(database: Any, user_id: str) -> Member:
    async with database.session() as session:
        return (await session.exec(select(Member).where(Member.platform_user_id == user_id))).one()


async def notes_to(database: Any, user_id: str) -> list[Outbox]:
    """The outbox rows addressed to one person's private chat."""
    person = await member(database, user_id)
    async with database.session() as session:
        query = select(Outbox).where(Outbox.target_kind == "person", Outbox.target_id == str(person.id))
        return list((await session.exec(query)).all())


def looked_up(user: str) -> Any:
    return lambda calls: [c for c in calls if c.method == "users.info" and c.args.get("user") == user]


async def first_arrival(clock: Any, deliver: Any, arrived: Any, until: datetime, step: timedelta) -> datetime:
    """Moves the clock in ``step``s, delivering as the running worker would, until ``arrived()``;
    returns the test clock's time then (fails if nothing arrived by ``until``)."""
    while not arrived():
        assert clock.now() < until, "the private message never arrived"
        clock.advance(step)
        await deliver()
    return clock.now()


# --- Slack ----------------------------------------------------------------------------------------------


async def test_a_kudos_note_to_someone_tend_never_looked_up_goes_in_their_la_hours_not_at_2am(slack: Slack):
    slack.fake.set_user("U2", "bo", "America/Los_Angeles")
    assert slack.clock.now().astimezone(LA).hour == 2  # Mon 10:00 UTC: working hours in UTC, not in LA
    await slack.command("/kudos", f"<@U2|bo> {THANKS}")
    await slack.settle()
    await slack.fake.wait_for(posts_in("C1", THANKS))
    await slack.settle()  # the ack went first; bo is looked up after it

    calls = slack.fake.calls
    assert looked_up("U2")(calls) and not posts_in("DU2")(calls)  # not sent on a UTC guess
    assert (await member(slack.database, "U2")).time_zone == "America/Los_Angeles"

    def arrived() -> list[Call]:
        return posts_in("DU2", THANKS)(slack.fake.calls)

    deliver = slack.engine.delivery.deliver_due
    moment = await first_arrival(slack.clock, deliver, arrived, at("2025-03-04 10:00"), timedelta(minutes=30))
    assert moment == at("2025-03-03 09:00", "America/Los_Angeles")  # bo's first working moment
    calls = slack.fake.calls
    assert calls.index(looked_up("U2")(calls)[0]) < calls.index(arrived()[0])


async def test_a_kudos_receiver_is_met_with_their_zone_in_the_kudos_own_transaction(slack: Slack):
    """Issue 18: the receiver's zone is looked up before the engine runs, so the note is queued for
    their hours at once, never held, and no second event (``MemberSeen``) is handled for them."""
    slack.fake.set_user("U2", "bo", "America/Los_Angeles")
    await slack.command("/kudos", f"<@U2|bo> {THANKS}")
    await slack.settle()
    await slack.fake.wait_for(posts_in("C1", THANKS))
    await slack.settle()

    assert (await member(slack.database, "U2")).time_zone == "America/Los_Angeles"
    assert [row.state for row in await notes_to(slack.database, "U2")] == ["pending"]
    handled = slack.engine.metrics.events_handled
    assert handled.value(platform="slack", kind="command", outcome="ok") == 1
    assert handled.value(platform="slack", kind="member", outcome="ok") == 0


@pytest.mark.parametrize("slack_says", ["an error", "no time zone"])
async def test_a_person_whose_zone_slack_does_not_give_is_never_sent_a_private_note(slack: Slack, slack_says):
    await slack.command("/tend", "help")  # ana is looked up now, so the next users.info is bo's
    await slack.settle()
    await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "response"])
    if slack_says == "an error":
        slack.fake.fail_next("users.info", 500)
    else:
        slack.fake.set_user("U2", "bo", None)
    await slack.command("/kudos", f"<@U2|bo> {THANKS}")
    await slack.settle()
    await slack.fake.wait_for(posts_in("C1", THANKS))
    await slack.settle()
    assert looked_up("U2")(slack.fake.calls)

    for _ in range(7 * 24):  # a whole week, every working hour of every zone on earth among them
        slack.clock.advance(timedelta(hours=1))
        await slack.engine.delivery.deliver_due()
    assert not posts_in("DU2")(slack.fake.calls)
    assert not [c for c in slack.fake.calls if c.method == "conversations.open"]
    assert [row.state for row in await notes_to(slack.database, "U2")] == ["held"]


async def test_once_a_failed_look_up_succeeds_the_held_notes_go_in_the_persons_hours(slack: Slack):
    await slack.command("/tend", "help")
    await slack.settle()
    await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "response"])
    slack.fake.fail_next("users.info", 500)
    await slack.command("/kudos", f"<@U2|bo> {THANKS}")
    await slack.settle()
    await slack.fake.wait_for(posts_in("C1", THANKS))
    await slack.settle()
    slack.clock.advance(timedelta(hours=1))  # Mon 11:00 UTC: a failed look-up is not retried at once
    await slack.engine.delivery.deliver_due()
    assert not posts_in("DU2")(slack.fake.calls)

    # Ana thanks bo again through the kudos form; the person picked there is looked up after the ack.
    slack.fake.set_user("U2", "bo", "America/Los_Angeles")
    values = {
        "person": {"person": {"type": "users_select", "selected_user": "U2"}},
        "reason": {"reason": {"type": "plain_text_input", "value": "the calm incident call"}},
    }
    view = {**modal_view(kudos_form(), "C1"), "state": {"values": values}}
    assert (await slack.interaction({**slack.envelope("view_submission", "U1"), "view": view})).status == 200
    await slack.settle()
    await slack.fake.wait_for(posts_in("C1", "calm incident call"))
    await slack.settle()
    assert len(looked_up("U2")(slack.fake.calls)) == 2
    assert not posts_in("DU2")(slack.fake.calls)  # 03:00 in Los Angeles

    def arrived() -> list[Call]:
        return posts_in("DU2", THANKS)(slack.fake.calls)

    deliver = slack.engine.delivery.deliver_due
    moment = await first_arrival(slack.clock, deliver, arrived, at("2025-03-04 10:00"), timedelta(minutes=30))
    assert moment == at("2025-03-03 09:00", "America/Los_Angeles")
    slack.clock.advance(timedelta(seconds=2))  # past the pacing of one private chat
    await slack.engine.delivery.deliver_due()
    assert posts_in("DU2", "calm incident call")(slack.fake.calls)


async def test_a_deactivated_slack_account_is_recorded(slack: Slack):
    slack.fake.set_user("U3", "cy", "Europe/Paris", deleted=True)
    await slack.command("/kudos", "<@U2|bo> <@U3|cy> thanks, both")
    await slack.settle()
    await slack.fake.wait_for(posts_in("C1", "thanks, both"))
    await slack.settle()
    assert (await member(slack.database, "U3")).deactivated  # users.info said deleted
    assert not (await member(slack.database, "U2")).deactivated

    gone = user_event("user_change", "U2", "bo", "UTC")
    gone["event"]["user"]["deleted"] = True
    assert (await post_event(slack, gone)).status == 200
    await slack.settle()
    assert (await member(slack.database, "U2")).deactivated


# --- Teams ----------------------------------------------------------------------------------------------


async def test_someone_only_on_the_teams_roster_gets_no_private_note_until_they_write_then_in_their_hours(
    teams: Teams,
):
    team_id = "19:team@thread.tacv2"
    roster = [BO, {"id": "29:ana", "name": "Ana"}, {"id": BOT["id"], "name": "Tend"}]
    teams.connector.rosters[team_id] = roster
    added = teams.activity(type="conversationUpdate", membersAdded=[BOT])
    added["channelData"]["team"] = {"id": team_id, "name": "Team"}
    assert (await teams.post(added)).status == 200
    await teams.adapter.drain()  # the roster is read after the response: Bo is a member, zone unknown
    bo_chat = f"a:personal-{BO['id']}"

    await teams.say(KUDOS, mentions=(BOT, BO))  # Mon 10:00 UTC, inside Ana's hours (UTC)
    await teams.connector.wait_for(sends_to(CHANNEL, "careful review"))
    for _ in range(24):
        teams.clock.advance(timedelta(hours=1))
        await teams.engine.delivery.deliver_due()
    assert not sends_to(bo_chat)(teams.connector.calls)  # a whole day, nothing on a guessed zone
    assert not [c for c in teams.connector.of("create") if c.body["members"] == [{"id": BO["id"]}]]

    # Tue 10:00 UTC: Bo writes to Tend; Teams says he is in Tokyo, where it is 19:00.
    await teams.say("hello", user=BO, personal=True, localTimezone="Asia/Tokyo")
    await teams.connector.wait_for(sends_to(bo_chat))  # Tend's answer to his "hello"
    assert not sends_to(bo_chat, "careful review")(teams.connector.calls)

    def arrived() -> list[Any]:
        return sends_to(bo_chat, "careful review")(teams.connector.calls)

    deliver = teams.engine.delivery.deliver_due
    moment = await first_arrival(teams.clock, deliver, arrived, at("2025-03-05 10:00"), timedelta(minutes=30))
    assert moment == at("2025-03-05 09:00", "Asia/Tokyo")  # his next working morning
    assert "careful review" in json.dumps(arrived()[0].body)


# --- the console ----------------------------------------------------------------------------------------


async def test_in_the_console_demo_people_are_known_and_a_made_up_name_waits_for_a_zone(console):
    session, screen, _ = console
    await session.handle_line("/kudos @di thanks for the review")  # di: America/Los_Angeles, 01:00 there
    await session.handle_line("/as zoe")  # a name the console has no zone for
    await session.handle_line("/as ana")
    await session.handle_line("/kudos @zoe thanks for the notes")
    await session.handle_line("/wait 1d")
    out = screen.take()
    assert "[private message to @di]" in out and "[private message to @zoe]" not in out

    await session.handle_line("/as zoe")
    await session.handle_line("/tend settings tz Europe/Paris")
    await session.handle_line("/tend settings")
    await session.handle_line("/wait 1d")
    assert "[private message to @zoe]" in screen.take()


# --- what a held note is, for the person -----------------------------------------------------------------


async def test_a_zone_the_person_chose_in_tend_is_enough_to_send_in_their_hours(database):
    s = Scenario(database, at("2026-11-24 10:00"))  # Tuesday 10:00 UTC = 19:00 in Tokyo
    await s.command("U2", "tend settings tz Asia/Tokyo")  # no zone from the platform, their own choice
    await s.command("U1", "kudos <@U2|bo> thanks")
    await s.run_until(at("2026-11-25 08:59", "Asia/Tokyo"), step=timedelta(hours=1))
    assert s.sender.directs("U2") == []
    await s.run_until(at("2026-11-25 09:00", "Asia/Tokyo"))
    [note] = s.sender.directs("U2")
    assert note.at == at("2026-11-25 09:00", "Asia/Tokyo")


async def test_a_held_note_is_counted_for_the_person_and_goes_with_forget_me(database):
    s = Scenario(database, at("2026-11-24 10:00"))
    await s.command("U1", "kudos <@U2|bo> thanks")  # bo: never looked up, so the note is held
    assert "messages waiting to be sent to you dropped: 1" in await s.command("U2", "tend forget-me")
    assert "messages waiting for you: 1" in await s.command("U2", "tend forget-me confirm")
    await s.join("U2", "bo", tz="UTC")  # bo comes back; the platform says where he is
    await s.advance(hours=1)
    assert s.sender.directs("U2") == []


async def test_a_note_still_held_after_thirty_days_is_dropped_not_sent_a_month_late(database):
    s = Scenario(database, at("2026-11-24 10:00"))
    await s.command("U1", "kudos <@U2|bo> thanks")
    await s.run_until(at("2026-12-26 10:00"), step=timedelta(days=1))
    await s.join("U2", "bo", tz="UTC")  # only now does the platform say where bo is
    await s.advance(hours=1)
    assert s.sender.directs("U2") == []
