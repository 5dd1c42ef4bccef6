"""A bad field is asked again, not the whole form, on each platform: Slack keeps the modal open with
the message under the field, Teams sends the form again filled in, the console asks that field again.
Also through the adapters: the stress form's conditional question, the short 1:1 nudge with its
template on request, and what a person asking for support is told when the rota is away."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from adapters.console.session import ConsoleSession
from bot.scheduler import Scheduler
from storage.models import StressReport
from tests import test_console, test_msteams, test_slack
from tests.test_msteams import ANA, BO, Teams, assert_valid_card, sends_to
from tests.test_slack import Slack, assert_valid_sent
from tests.test_slack_practices import picked

slack = test_slack.slack  # the fixtures, shared
teams = test_msteams.teams
console = test_console.console


async def reports(database) -> list[StressReport]:
    async with database.session() as session:
        return list((await session.exec(select(StressReport))).all())


# --- Slack ------------------------------------------------------------------------------------------


def stress_submission(slack: Slack, user: str, view: dict[str, Any], support: str, person: str | None):
    return {
        **slack.envelope("view_submission", user),
        "view": {
            **view,
            "id": "V9",
            "state": {
                "values": {
                    "intensity": {"intensity": picked("4")},
                    "category": {"category": picked("workload")},
                    "words": {"words": {"type": "plain_text_input", "value": "too much"}},
                    "support": {"support": picked(support)},
                    "person": {"person": {"type": "users_select", "selected_user": person}},
                }
            },
        },
    }


def chosen_in_modal(slack: Slack, user: str, view: dict[str, Any], view_hash: str, support: str, at: str):
    """A change of the "What would help?" select in the open modal, as Slack sends it (block_actions)."""
    return {
        **slack.envelope("block_actions", user),
        "container": {"type": "view", "view_id": view["id"]},
        "view": {**view, "hash": view_hash, "state": {"values": {"support": {"support": picked(support)}}}},
        "actions": [
            {"type": "static_select", "action_id": "support", "block_id": "support",
             "selected_option": {"value": support}, "action_ts": at}
        ],
    }  # fmt: skip


def block_ids(view: dict[str, Any]) -> list[str]:
    return [block["block_id"] for block in view["blocks"]]


async def open_stress_modal(slack: Slack, user: str) -> dict[str, Any]:
    assert (await slack.command("/tend", "stress", user=user)).status == 200
    [opened] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"])
    await slack.settle()
    return {**opened.args["view"], "id": "V1"}


async def changed(
    slack: Slack, user: str, view: dict[str, Any], view_hash: str, support: str, at: str = "1.5"
) -> None:
    response = await slack.interaction(chosen_in_modal(slack, user, view, view_hash, support, at))
    assert response.status == 200 and await response.text() == ""
    await slack.settle()


async def test_slack_asks_who_should_reach_out_only_once_that_is_chosen(slack: Slack):
    """The modal opens without the question; choosing "ask someone to reach out" adds it right under
    the choice (views.update, guarded by the view's hash), choosing "talk" takes it away again. Nothing
    of these changes reaches the engine: no event stored, no member written for the anonymous form."""
    view = await open_stress_modal(slack, "U4")
    assert block_ids(view) == ["intensity", "category", "words", "support"]
    assert [b.get("dispatch_action", False) for b in view["blocks"]] == [False, False, False, True]

    await changed(slack, "U4", view, "V1.1", "reach_out")
    [update] = slack.fake.of("views.update")
    assert update.args["view_id"] == "V1" and update.args["hash"] == "V1.1"
    assert_valid_sent([update])
    shown = update.args["view"]
    assert block_ids(shown) == ["intensity", "category", "words", "support", "person"]
    assert shown["blocks"][-1]["element"]["type"] == "users_select"
    assert "Who should reach out to you?" in json.dumps(shown["blocks"][-1])
    assert shown["callback_id"] == view["callback_id"]
    assert shown["private_metadata"] == view["private_metadata"]

    await changed(slack, "U4", {**view, "blocks": shown["blocks"]}, "V1.2", "talk", at="1.6")
    assert block_ids(slack.fake.of("views.update")[-1].args["view"]) == block_ids(view)
    assert await reports(slack.database) == [] and not slack.fake.of("chat.postEphemeral")


async def test_slack_two_quick_changes_leave_the_modal_drawn_for_the_last_one(slack: Slack):
    """ "Reach out" then "talk" before Slack showed the first redraw: the second payload carries the
    original view and its hash, which Slack refuses (hash_conflict); being the newest change, it is
    drawn again without the hash. A change older than one already drawn is refused and stays so."""
    view = await open_stress_modal(slack, "U4")
    await changed(slack, "U4", view, "V1.1", "reach_out", at="1.5")
    await changed(slack, "U4", view, "V1.1", "talk", at="1.6")  # built on the view before the redraw
    first, refused, again = slack.fake.of("views.update")
    assert block_ids(first.args["view"])[-1] == "person"
    assert refused.args["hash"] == "V1.1" and "hash" not in again.args
    assert block_ids(again.args["view"]) == block_ids(view)  # drawn for "talk": no person question
    await changed(slack, "U4", view, "V1.1", "reach_out", at="1.4")  # an older change, arriving late
    assert len(slack.fake.of("views.update")) == 4  # refused, and not sent again
    assert slack.fake.view_hashes["V1"] == "V1.3"


async def test_slack_keeps_the_stress_modal_open_with_the_error_under_the_person(slack: Slack):
    view = await open_stress_modal(slack, "U4")
    await changed(slack, "U4", view, "V1.1", "reach_out")
    [update] = slack.fake.of("views.update")
    view = {**view, "blocks": update.args["view"]["blocks"]}
    response = await slack.interaction(stress_submission(slack, "U4", view, "reach_out", "U4"))
    assert response.status == 200
    answer = await response.json()
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["person"]
    assert "someone other than yourself" in answer["errors"]["person"]
    await slack.settle()
    assert await reports(slack.database) == []
    assert not slack.fake.of("chat.postEphemeral")  # no "nothing was saved" answer: the modal says it


# --- Teams ------------------------------------------------------------------------------------------


async def test_teams_sends_the_stress_form_again_filled_in_with_the_error_under_the_field(teams: Teams):
    await teams.say("<at>Tend</at> tend stress", mentions=(test_msteams.BOT,))
    personal = f"a:personal-{ANA['id']}"
    [form] = await teams.connector.wait_for(sends_to(personal, "Input.ChoiceSet"))
    content = form.attachments[0]["content"]
    assert_valid_card(content)
    # A card cannot follow the choice: "Who should reach out" waits, hidden, behind its own toggle.
    hidden = {element["id"] for element in content["body"] if element.get("isVisible") is False}
    assert hidden == {"person", "person.hint"}
    [toggle] = [
        action
        for element in content["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action["type"] == "Action.ToggleVisibility"
    ]
    assert toggle["title"] == "Choose who reaches out"
    assert toggle["targetElements"] == ["person", "person.hint"]
    [submit] = [node for node in content["actions"] if node["type"] == "Action.Submit"]
    values = {
        "intensity": "3",
        "category": "deadlines",
        "words": "two releases",
        "support": "reach_out",
        "person": "nobody",
    }
    activity = teams.activity(personal=True, value={**submit["data"], **values})
    assert (await teams.post(activity)).status == 200
    [again] = await teams.connector.wait_for(sends_to(personal, "couldn't find @nobody"))
    card = again.attachments[0]["content"]
    assert_valid_card(card)
    inputs = {element["id"]: element for element in card["body"] if "id" in element}
    assert {name: inputs[name].get("value") for name in values} == values  # every answer kept
    assert "isVisible" not in inputs["person"]  # answered, and to be fixed: shown, without its toggle
    assert "Choose who reaches out" not in json.dumps(card)
    person_at = next(i for i, element in enumerate(card["body"]) if element.get("id") == "person")
    error = card["body"][person_at + 1]  # right under the field, in red
    assert "couldn't find @nobody" in error["text"] and error["color"] == "attention"
    assert sum("couldn't find" in json.dumps(element) for element in card["body"]) == 1
    assert await reports(teams.database) == []

    # Corrected and sent again from the new card: stored once.
    await teams.say("hello", user=BO, personal=True)  # Bo is someone Tend knows
    [submit] = [node for node in card["actions"] if node["type"] == "Action.Submit"]
    fixed = teams.activity(personal=True, value={**submit["data"], **values, "person": "Bo"})
    assert (await teams.post(fixed)).status == 200
    await teams.connector.wait_for(sends_to(personal, "asked"))
    assert len(await reports(teams.database)) == 1


# --- console ----------------------------------------------------------------------------------------


def flat(out: str) -> str:
    """Console text with the card's wrapped lines joined again."""
    return out.replace("\n│ ", " ")


async def said(session: ConsoleSession, screen, line: str) -> str:
    screen.take()
    await session.handle_line(line)
    return screen.take()


async def fill(session: ConsoleSession, *answers: str) -> None:
    for answer in answers:
        await session.handle_line(answer)


async def test_the_console_skips_who_should_reach_out_after_talk_and_asks_a_bad_person_again(
    console, database
):
    session, screen, _ = console
    await session.handle_line("/tend support add @di")
    await session.handle_line("/as bo")
    screen.take()
    await session.handle_line("/tend stress")
    await fill(session, "3", "1", "", "2")  # heavy-ish, workload, no words, talk
    out = screen.take()
    assert "Who should reach out" not in out and "passed it to the support rota" in out
    assert session.pending is None

    await session.handle_line("/tend stress")
    await fill(session, "3", "1", "", "3")  # ... ask someone to reach out
    assert "Who should reach out" in screen.take()
    await session.handle_line("@nobody")
    out = screen.take()
    assert "couldn't find @nobody" in out and "Who should reach out" in out  # that field alone, again
    assert "How heavy" not in out
    await session.handle_line("@ed")
    assert "I've asked @ed to reach out" in screen.take()
    assert len(await reports(database)) == 2


async def test_the_console_tells_the_asker_when_the_rota_can_see_it(console):
    """bo (Tokyo) is the rota; at 09:00 UTC it is 18:00 in Tokyo: cy hears when bo's day starts."""
    session, screen, _ = console
    await session.handle_line("/tend support add @bo")
    await session.handle_line("/as cy")
    screen.take()
    await session.handle_line("/tend stress")
    await fill(session, "4", "2", "", "2")
    out = flat(screen.take())
    # 09:00 in Tokyo on Wednesday is 19:00 on Tuesday in New York, cy's zone.
    assert "the earliest anyone can see your request is Tue 24 Nov 19:00, your time" in out
    assert "employee assistance programme" in out


async def test_the_console_asks_only_the_bad_date_of_a_moved_1on1_again(console, database):
    session, screen, _ = console
    scheduler = Scheduler(database, session.clock)
    assert "Added 1:1" in await said(session, screen, "/tend 1on1 add @ed every week thu 10:00")
    await session.handle_line("/wait 1d")  # Wednesday: the pair fires a day ahead of Thursday's 1:1
    await scheduler.tick()
    await session.engine.delivery.deliver_due()
    await session.handle_line("/wait 1d")  # the nudge goes at 09:00 on Thursday, in ana's Berlin
    out = screen.take()
    assert "Your 1:1 with @ed" in out and "Feedback tips" in out and "Situation" not in out
    tips = next(n for n, shown in session.buttons.items() if shown.button.label == "Feedback tips")
    move = next(n for n, shown in session.buttons.items() if shown.button.label == "Move to another day")
    await session.handle_line(f"/click {tips}")
    out = screen.take()
    assert "(only you can see this)" in out and "Situation" in out and "Offer of support" in out
    await session.handle_line(f"/click {move}")
    await fill(session, "27/11/2026", "14:00")
    out = screen.take()
    after = out[out.index("isn't a date") :]
    assert "New date" in after and "New time" not in after  # only the date is asked again
    await session.handle_line("2026-11-27")
    assert "Moved to Fri 27 Nov 14:00" in screen.take()
