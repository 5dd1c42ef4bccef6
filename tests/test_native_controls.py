"""Each platform's own controls: date and time pickers in forms (a Slack datepicker/timepicker, a Teams
Input.Date/Input.Time, a console prompt that says the format), and Slack's "Give kudos" global shortcut.
Through the real adapters: signed requests to Tend's Slack endpoint with a fake Web API, activities to
Tend's Teams endpoint with a fake Bot Connector, lines typed into a console session."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from slack_sdk.models.views import View

from adapters.console.render import field_prompt
from adapters.slack.blocks import modal_view
from adapters.slack.translate import SHORTCUTS, form_values, shortcut_event
from adapters.teams.adapter import form_again
from adapters.teams.cards import form_card
from bot.scheduler import Scheduler
from practices.messages import Choice, Form, FormField
from practices.one_on_ones import move_form
from storage.db import Database
from tests import test_console, test_msteams, test_slack
from tests.test_forms_ask_again import fill, said
from tests.test_msteams import ANA, Teams, assert_valid_card, member, sends_to
from tests.test_slack import Slack, assert_valid_sent, posts_in
from tests.test_slack_home import hours_modal
from tests.test_slack_home import member as slack_member
from tests.test_slack_manifest import manifest
from tests.test_start_up_errors import closed_port

slack = test_slack.slack  # the fixtures, shared
teams = test_msteams.teams
console = test_console.console

WHEN = Form("t.form", "When", (FormField("day", "Day", kind="date"), FormField("at", "At", kind="time")))


def elements(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block["element"] for block in view["blocks"] if block["type"] == "input"}


def picked(values: dict[str, str]) -> dict[str, dict[str, dict[str, str]]]:
    """A modal's state as Slack sends it back from its pickers."""
    state: dict[str, dict[str, dict[str, str]]] = {}
    for name, value in values.items():
        kind, key = ("datepicker", "selected_date") if "-" in value else ("timepicker", "selected_time")
        state[name] = {name: {"type": kind, key: value}}
    return state


# --- Slack: pickers ---------------------------------------------------------------------------------


def test_slack_draws_date_and_time_fields_as_pickers_and_reads_their_values_back_as_neutral_text():
    view = modal_view(WHEN)
    View(**view).validate_json()  # slack_sdk's own model of a modal accepts both pickers
    assert elements(view) == {
        "day": {"type": "datepicker", "action_id": "day"},
        "at": {"type": "timepicker", "action_id": "at"},
    }
    state = {"values": picked({"day": "2025-03-07", "at": "14:30"})}
    assert form_values({"state": state}) == {"day": "2025-03-07", "at": "14:30"}
    unpicked = {"values": {"day": {"day": {"type": "datepicker", "selected_date": None}}}}
    assert form_values({"state": unpicked}) == {"day": ""}  # an optional picker left empty


async def test_slack_working_hours_are_timepickers_and_a_picked_time_is_saved(slack: Slack):
    view = await hours_modal(slack, "U1")
    assert elements(view)["start"]["type"] == "timepicker" and elements(view)["end"]["type"] == "timepicker"
    assert elements(view)["days"]["type"] == "plain_text_input"  # no native control for a set of days
    state = {
        "days": {"days": {"type": "plain_text_input", "value": "mon-thu"}},
        "time_zone": {"time_zone": {"type": "plain_text_input", "value": "Europe/Berlin"}},
        **picked({"start": "07:30", "end": "15:45"}),
    }
    submission = {
        **slack.envelope("view_submission", "U1"),
        "view": {**view, "id": "V1", "state": {"values": state}},
    }
    response = await slack.interaction(submission)
    assert response.status == 200 and await response.text() == ""  # valid: the modal closes
    await slack.settle()
    await slack.fake.wait_for(posts_in("DU1", "Saved"))
    stored = await slack_member(slack, "U1")
    assert (stored.work_start, stored.work_end, stored.work_days) == ("07:30", "15:45", "mon,tue,wed,thu")


async def test_slack_moves_a_1on1_with_the_date_and_time_picked(slack: Slack):
    """ana (U1) manages bo (U2): the nudge's "Move" opens a modal with pickers; what is picked moves it."""
    assert (await slack.command("/tend", "1on1 add <@U2|bo> every week thu 10:00", user="U1")).status == 200
    await slack.settle()
    scheduler = Scheduler(slack.database, slack.clock)
    slack.clock.advance(timedelta(days=2))  # Wednesday 10:00: the pair fires a day ahead of Thursday's 1:1
    await scheduler.tick()
    slack.clock.advance(timedelta(hours=23))  # Thursday 09:00: the nudge goes
    await slack.engine.delivery.deliver_due()
    [nudge] = await slack.fake.wait_for(posts_in("DU1", "1on1.move"))
    [move] = [
        element
        for block in nudge.args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"].startswith("1on1.move")
    ]
    tap = {
        **slack.envelope("block_actions", "U1"),
        "channel": {"id": "DU1", "name": "directmessage"},
        "container": {"type": "message", "channel_id": "DU1", "message_ts": "1.1"},
        "actions": [{"action_id": move["action_id"], "value": move["value"], "type": "button"}],
    }
    assert (await slack.interaction(tap)).status == 200
    await slack.settle()
    [opened] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"])
    assert_valid_sent([opened])
    view = opened.args["view"]
    assert {name: element["type"] for name, element in elements(view).items()} == {
        "date": "datepicker",
        "time": "timepicker",
    }
    # The pickers start from the meeting being moved (Thursday 10:00), so a small move is one change.
    assert elements(view)["date"]["initial_date"] == "2025-03-06"
    assert elements(view)["time"]["initial_time"] == "10:00"
    submission = {
        **slack.envelope("view_submission", "U1"),
        "view": {**view, "id": "V2", "state": {"values": picked({"date": "2025-03-07", "time": "14:00"})}},
    }
    response = await slack.interaction(submission)
    assert response.status == 200 and await response.text() == ""
    await slack.settle()
    [moved] = await slack.fake.wait_for(posts_in("DU1", "Moved to"))
    assert "Moved to Fri 07 Mar 14:00" in moved.args["text"]


def test_slack_starts_each_kind_of_input_from_its_initial_answer_as_block_kit_allows():
    """A date and a time picker, a choice and a text start filled in; a choice whose initial value is
    not among its options starts empty rather than being refused by Slack."""
    form = Form(
        "t.initial",
        "Start",
        (
            FormField("day", "Day", kind="date", initial="2025-03-10"),
            FormField("at", "At", kind="time", initial="09:15"),
            FormField("mood", "Mood", kind="choice", choices=(Choice("Fine", "fine"),), initial="fine"),
            FormField("gone", "Gone", kind="choice", choices=(Choice("Fine", "fine"),), initial="nope"),
            FormField("note", "Note", max_length=5, initial="a long note"),
        ),
    )
    view = modal_view(form)
    View(**view).validate_json()
    shown = elements(view)
    assert shown["day"]["initial_date"] == "2025-03-10" and shown["at"]["initial_time"] == "09:15"
    assert shown["mood"]["initial_option"]["value"] == "fine" and "initial_option" not in shown["gone"]
    assert shown["note"]["initial_value"] == "a lon"  # within the input's own limit
    assert "initial_date" not in elements(modal_view(WHEN))["day"]  # no initial answer: an empty picker


# --- Slack: the "Give kudos" shortcut --------------------------------------------------------------


def test_the_manifest_declares_exactly_the_shortcuts_tend_listens_to():
    shortcuts = manifest()["features"]["shortcuts"]
    assert [(s["callback_id"], s["type"]) for s in shortcuts] == [(c, "global") for c in SHORTCUTS]
    assert [s["name"] for s in shortcuts] == ["Give kudos"]


def test_a_shortcut_tend_does_not_own_is_no_event():
    body = {"type": "shortcut", "callback_id": "someone.else", "user": {"id": "U1"}, "team": {"id": "T1"}}
    assert shortcut_event(body) is None
    assert shortcut_event({**body, "type": "message_action", "callback_id": "kudos.open"}) is None


async def test_the_give_kudos_shortcut_opens_the_kudos_form_and_its_thanks_are_posted(slack: Slack):
    """From anywhere in Slack: no channel, so the thanks go to the giver's team channel."""
    for command in ("team create eng <#C1|general>", "team add eng <@U1|ana> <@U2|bo>"):
        assert (await slack.command("/tend", command, user="U1")).status == 200
        await slack.settle()
    await slack.settle()
    shortcut = {**slack.envelope("shortcut", "U1"), "callback_id": "kudos.open", "action_ts": "1.2"}
    response = await slack.interaction(shortcut)
    assert response.status == 200
    await slack.settle()
    [opened] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"])
    assert opened.args["trigger_id"] == shortcut["trigger_id"]  # the shortcut's own trigger
    assert_valid_sent([opened])
    view = opened.args["view"]
    assert view["callback_id"] == "kudos.form"
    assert json.loads(view["private_metadata"])["channel"] is None  # a global shortcut has no channel

    state = {
        "person": {"person": {"type": "users_select", "selected_user": "U2"}},
        "reason": {"reason": {"type": "plain_text_input", "value": "covering my on-call"}},
        "value": {"value": {"type": "static_select", "selected_option": None}},
    }
    submission = {
        **slack.envelope("view_submission", "U1"),
        "view": {**view, "id": "V3", "state": {"values": state}},
    }
    response = await slack.interaction(submission)
    assert response.status == 200
    await slack.settle()
    [posted] = await slack.fake.wait_for(posts_in("C1", "covering my on-call"))
    assert "<@U2>" in json.dumps(posted.args["blocks"])
    assert_valid_sent(slack.fake.calls)


async def test_the_same_shortcut_delivered_twice_opens_one_form(slack: Slack):
    shortcut = {**slack.envelope("shortcut", "U1"), "callback_id": "kudos.open", "action_ts": "1.2"}
    for _ in range(2):
        assert (await slack.interaction(shortcut)).status == 200
        await slack.settle()
    assert len([c for c in slack.fake.calls if c.method == "views.open"]) == 1


async def test_a_shortcut_the_database_would_not_store_is_answered_in_a_small_modal(slack: Slack):
    """A shortcut has no response URL: the person who pressed it sees "could not take this" where the
    form would have opened, and nothing opens later behind their back."""
    slack.adapter.inbound.database = Database(f"postgresql://tend@127.0.0.1:{closed_port()}/tend")
    shortcut = {**slack.envelope("shortcut", "U1"), "callback_id": "kudos.open", "action_ts": "1.2"}
    try:
        assert (await slack.interaction(shortcut)).status == 200
        await slack.settle()
    finally:
        await slack.adapter.inbound.database.dispose()
        slack.adapter.inbound.database = slack.database
    await slack.settle()
    [opened] = slack.fake.of("views.open")
    assert_valid_sent([opened])
    assert opened.args["trigger_id"] == shortcut["trigger_id"]
    assert "callback_id" not in opened.args["view"] and "submit" not in opened.args["view"]  # a notice
    assert "could not take this" in json.dumps(opened.args["view"]["blocks"])


# --- Teams: Input.Date and Input.Time --------------------------------------------------------------


def test_teams_draws_date_and_time_fields_as_its_own_pickers_valid_by_the_schema():
    card = form_card(move_form("7", date(2025, 3, 6)))
    assert_valid_card(card)
    inputs = {element["id"]: element for element in card["body"] if "id" in element}
    assert inputs["date"]["type"] == "Input.Date" and inputs["time"]["type"] == "Input.Time"
    assert "maxLength" not in inputs["date"] and "regex" not in inputs["time"]
    planned = datetime(2025, 3, 6, 9, 30, tzinfo=UTC)  # 10:30 in Berlin
    prefilled = form_card(move_form("7", date(2025, 3, 6), planned, "Europe/Berlin"))
    assert_valid_card(prefilled)
    start = {element["id"]: element.get("value") for element in prefilled["body"] if "id" in element}
    assert start == {"date": "2025-03-06", "time": "10:30"}  # the pickers start from the planned meeting
    again = form_again(move_form("7", date(2025, 3, 6)), {"date": "2025-03-07", "time": "09:00"}, ())
    assert_valid_card(again)
    kept = {element["id"]: element.get("value") for element in again["body"] if "id" in element}
    assert kept == {"date": "2025-03-07", "time": "09:00"}  # what was picked stays picked


async def test_teams_working_hours_are_time_pickers_and_a_picked_time_is_saved(teams: Teams):
    personal = f"a:personal-{ANA['id']}"
    await teams.say(
        "", personal=True, value={"tend": {"kind": "click", "action": "prefs.hours", "value": ""}}
    )
    [form] = await teams.connector.wait_for(sends_to(personal, "Input.Time"))
    card = form.attachments[0]["content"]
    assert_valid_card(card)
    inputs = {element["id"]: element["type"] for element in card["body"] if "id" in element}
    assert inputs == {
        "days": "Input.Text",
        "start": "Input.Time",
        "end": "Input.Time",
        "time_zone": "Input.Text",
    }
    [submit] = [node for node in card["actions"] if node["type"] == "Action.Submit"]
    values = {"days": "mon-fri", "start": "08:15", "end": "16:00", "time_zone": "Europe/Berlin"}
    await teams.say("", personal=True, value={**submit["data"], **values})
    await teams.connector.wait_for(sends_to(personal, "Saved"))
    stored = await member(teams.database, ANA["id"])
    assert (stored.work_start, stored.work_end) == ("08:15", "16:00")


# --- console: the prompt says the format ------------------------------------------------------------


def test_the_console_prompt_says_the_format_of_a_date_and_a_time():
    day, at = WHEN.fields
    assert "YYYY-MM-DD" in field_prompt(day) and "HH:MM" in field_prompt(at)
    assert "YYYY-MM-DD" not in field_prompt(FormField("note", "Note"))


async def test_the_console_asks_for_a_moved_1on1s_date_and_time_in_the_practices_format(console):
    session, screen, _ = console
    scheduler = Scheduler(session.engine.database, session.clock)
    assert "Added 1:1" in await said(session, screen, "/tend 1on1 add @ed every week thu 10:00")
    await session.handle_line("/wait 1d")  # Wednesday: the pair fires a day ahead
    await scheduler.tick()
    await session.engine.delivery.deliver_due()
    await session.handle_line("/wait 1d")
    screen.take()
    move = next(n for n, shown in session.buttons.items() if shown.button.label == "Move to another day")
    out = await said(session, screen, f"/click {move}")
    assert "New date" in out and "Type the date as YYYY-MM-DD" in out
    out = await said(session, screen, "2026-11-27")
    assert "New time" in out and "Type the time as 24-hour HH:MM" in out
    await fill(session, "14:00")
    assert "Moved to Fri 27 Nov 14:00" in screen.take()
