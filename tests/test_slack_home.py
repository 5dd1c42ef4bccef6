"""App Home, modal field errors, and people's names and time zones, through Tend's real Slack endpoint.

Signed requests go to ``/slack/events`` on Tend's own server; every Web API call lands on the fake at
``tests/fake_slack_api.py``, and every view Tend sends is checked with ``assert_valid_sent``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import select

from storage.models import Member
from tests import test_slack
from tests.fake_slack_api import Call
from tests.test_slack import Slack, assert_valid_blocks, assert_valid_sent, posts_in
from tests.test_slack_events import post_event

slack = test_slack.slack  # the fixture: Tend's server with Bolt, signed requests, a fake Web API

_events = 0


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    global _events
    _events += 1
    return {
        "token": "XXYYZZ",
        "team_id": "T1",
        "api_app_id": "A1",
        "event": {"event_ts": "1700000000.000100", **event},
        "type": "event_callback",
        "event_id": f"EvHOME{_events:06d}",
        "event_time": 1700000000,
        "authed_users": ["UBOT"],
    }


def home_opened(user: str, tab: str = "home") -> dict[str, Any]:
    return envelope({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": tab})


def user_event(kind: str, user: str, name: str, tz: str | None, status: str = "") -> dict[str, Any]:
    profile = {"display_name": name, "real_name": name, "status_text": status}
    person = {"id": user, "team_id": "T1", "name": name.lower(), "tz": tz, "profile": profile}
    return envelope({"type": kind, "user": person})


def publishes(calls: list[Call]) -> list[Call]:
    return [call for call in calls if call.method == "views.publish" and call.status == 200]


async def open_home(slack: Slack, user: str) -> dict[str, Any]:
    before = len(publishes(slack.fake.calls))
    assert (await post_event(slack, home_opened(user))).status == 200
    await slack.settle()
    published = await slack.fake.wait_for(lambda calls: publishes(calls)[before:])
    assert published[0].args["user_id"] == user
    return published[0].args["view"]


async def member(slack: Slack, user: str) -> Member:
    async with slack.database.session() as session:
        return (await session.exec(select(Member).where(Member.platform_user_id == user))).one()


def home_click(slack: Slack, user: str, action_id: str) -> dict[str, Any]:
    """A button tap on the App Home: no channel, no message, no response URL."""
    return {
        **slack.envelope("block_actions", user),
        "container": {"type": "view", "view_id": "VHOME"},
        "view": {"id": "VHOME", "type": "home"},
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "action_ts": "1.2"}],
    }


def submission(slack: Slack, user: str, view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    state = {name: {name: {"type": "plain_text_input", "value": value}} for name, value in values.items()}
    return {
        **slack.envelope("view_submission", user),
        "view": {**view, "id": "VMODAL", "state": {"values": state}},
    }


async def hours_modal(slack: Slack, user: str) -> dict[str, Any]:
    assert (await slack.interaction(home_click(slack, user, "prefs.hours"))).status == 200
    await slack.settle()
    [opened] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"])
    assert_valid_sent([opened])
    return opened.args["view"]


# --- App Home -----------------------------------------------------------------------------------------


async def test_opening_the_home_tab_publishes_the_persons_own_page(slack: Slack):
    await slack.command("/kudos", "<@U1|ana> thanks for the careful review", user="U2")
    await slack.settle()
    await slack.fake.wait_for(posts_in("C1", "careful review"))
    await slack.settle()
    view = await open_home(slack, "U1")
    assert view["type"] == "home"
    assert_valid_blocks(view["blocks"])
    text = json.dumps(view)
    assert "careful review" in text and "<@U2>" in text  # bo, mentioned: Slack shows his current name
    actions = {e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert actions == {"kudos.open", "stress.start", "prefs.hours"}
    assert_valid_sent(slack.fake.calls)
    bo = await open_home(slack, "U2")
    assert "careful review" not in json.dumps(bo)  # ana's thanks are on ana's page only


async def test_the_messages_tab_publishes_nothing(slack: Slack):
    assert (await post_event(slack, home_opened("U1", tab="messages"))).status == 200
    await slack.settle()
    assert publishes(slack.fake.calls) == []


# --- modal field errors -------------------------------------------------------------------------------


async def test_a_bad_time_zone_is_marked_on_its_field_and_nothing_is_stored(slack: Slack):
    view = await hours_modal(slack, "U1")
    assert [block["block_id"] for block in view["blocks"]] == ["days", "start", "end", "time_zone"]
    values = {"days": "mon-thu", "start": "08:00", "end": "16:00", "time_zone": "Mars/Base"}
    response = await slack.interaction(submission(slack, "U1", view, values))
    assert response.status == 200
    answer = await response.json()
    assert answer == {
        "response_action": "errors",
        "errors": {"time_zone": "I don't know the time zone “Mars/Base”; try Europe/Berlin."},
    }
    await slack.settle()
    stored = await member(slack, "U1")
    assert (stored.work_days, stored.work_start, stored.time_zone) == ("mon,tue,wed,thu,fri", "09:00", "UTC")
    assert not slack.fake.of("chat.postMessage") and not slack.fake.of("chat.postEphemeral")

    values["time_zone"] = "Europe/Berlin"
    response = await slack.interaction(submission(slack, "U1", view, values))
    assert response.status == 200 and await response.text() == ""  # closes the modal
    await slack.settle()
    [saved] = await slack.fake.wait_for(posts_in("DU1", "Saved"))  # from App Home: to the person's DM
    await slack.settle()
    stored = await member(slack, "U1")
    assert (stored.work_days, stored.work_start, stored.work_end, stored.time_zone) == (
        "mon,tue,wed,thu",
        "08:00",
        "16:00",
        "Europe/Berlin",
    )
    assert_valid_sent(slack.fake.calls)
    assert "Europe/Berlin" in json.dumps(saved.args["blocks"])


async def test_a_slow_submission_closes_the_modal_and_the_errors_follow_as_a_message(slack: Slack):
    view = await hours_modal(slack, "U1")
    slack.adapter.submission_budget = 0  # the engine "takes too long": the ack must not wait for it
    values = {"days": "someday", "start": "08:00", "end": "16:00", "time_zone": "Europe/Berlin"}
    response = await slack.interaction(submission(slack, "U1", view, values))
    assert response.status == 200 and await response.text() == ""
    await slack.settle()
    [late] = await slack.fake.wait_for(posts_in("DU1", "someday"))
    await slack.settle()
    assert "isn't a day" in json.dumps(late.args["blocks"])
    assert (await member(slack, "U1")).work_days == "mon,tue,wed,thu,fri"


# --- names and time zones -----------------------------------------------------------------------------


async def test_names_and_zones_come_from_users_info_cached_per_person(slack: Slack):
    slack.fake.set_user("U1", "Ana Lopez", "Europe/Berlin")
    for _ in range(2):
        await slack.command("/tend", "settings")
        await slack.settle()
        await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "response"])
    assert len(slack.fake.of("users.info")) == 1  # the second command used the cache
    assert slack.fake.of("users.info")[0].args["user"] == "U1"
    stored = await member(slack, "U1")
    assert (stored.display_name, stored.time_zone) == ("Ana Lopez", "Europe/Berlin")
    slack.clock.advance(timedelta(hours=2))  # past the cache's time to live
    slack.fake.set_user("U1", "Ana L.", "Europe/Berlin")
    await slack.command("/tend", "settings")
    await slack.settle()
    await slack.fake.wait_for(lambda calls: len(calls_of(calls, "users.info")) == 2)
    assert (await member(slack, "U1")).display_name == "Ana L."


def calls_of(calls: list[Call], method: str) -> list[Call]:
    return [call for call in calls if call.method == method]


async def test_user_change_refreshes_the_name_and_a_changed_zone_but_keeps_a_chosen_one(slack: Slack):
    slack.fake.set_user("U1", "Ana", "Europe/Berlin")
    await open_home(slack, "U1")
    assert (await member(slack, "U1")).time_zone == "Europe/Berlin"

    # Slack's zone changed (she moved): Tend follows.
    moved = user_event("user_change", "U1", "Ana M", "America/New_York")
    assert (await post_event(slack, moved)).status == 200
    await slack.settle()
    stored = await member(slack, "U1")
    assert (stored.display_name, stored.time_zone) == ("Ana M", "America/New_York")

    # She picks her own zone in Tend; a later status update (same Slack zone) must not undo it.
    await slack.command("/tend", "settings tz Asia/Tokyo")
    await slack.settle()
    await slack.fake.wait_for(lambda calls: calls_of(calls, "response"))
    assert (await member(slack, "U1")).time_zone == "Asia/Tokyo"
    event = user_event("user_change", "U1", "Ana M", "America/New_York", status="on holiday")
    assert (await post_event(slack, event)).status == 200
    await slack.settle()
    await open_home(slack, "U1")  # an ordinary event carrying Slack's zone
    assert (await member(slack, "U1")).time_zone == "Asia/Tokyo"
    assert len(slack.fake.of("users.info")) == 1  # user_change refreshed the cache: no look-up since


async def test_team_join_makes_the_newcomer_a_member_with_slacks_name_and_zone(slack: Slack):
    """A newcomer is met when they join, so the culture carriers can welcome them (tests/test_carriers.py)."""
    assert (await post_event(slack, user_event("team_join", "U7", "Dee", "Asia/Tokyo"))).status == 200
    await slack.settle()
    joined = await member(slack, "U7")
    assert (joined.display_name, joined.time_zone, joined.profile_known) == ("Dee", "Asia/Tokyo", True)
    await open_home(slack, "U7")
    stored = await member(slack, "U7")
    assert (stored.display_name, stored.time_zone) == ("Dee", "Asia/Tokyo")
    assert slack.fake.of("users.info") == []  # team_join told Tend already
