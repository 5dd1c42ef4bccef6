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
from tests.test_slack import Slack
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


async def test_slack_keeps_the_stress_modal_open_with_the_error_under_the_person(slack: Slack):
    assert (await slack.command("/tend", "stress", user="U4")).status == 200
    [opened] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"])
    view = opened.args["view"]
    await slack.settle()
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
    [submit] = [node for node in form.attachments[0]["content"]["actions"] if node["type"] == "Action.Submit"]
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
