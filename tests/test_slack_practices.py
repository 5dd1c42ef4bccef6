"""The practices end to end in Slack terms: a scheduled opener card and its taps; a stress report
through a modal. Signed requests in, the fake Web API out (see tests/test_slack.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.scheduler import Scheduler
from storage.models import StressRelay, StressReport
from tests import test_slack
from tests.fake_slack_api import Call
from tests.test_slack import Slack, assert_valid_sent, posts_in

slack = test_slack.slack  # the fixture, shared

PEOPLE = ("U1", "U2", "U3", "U4", "U5")


def click_payload(slack: Slack, user: str, button: dict[str, Any], post: Call) -> dict[str, Any]:
    ts = post.args.get("ts") or "1700000000.000200"
    return {
        **slack.envelope("block_actions", user),
        "channel": {"id": "C2", "name": "standup"},
        "container": {"type": "message", "message_ts": ts, "channel_id": "C2"},
        "message": {"ts": ts, "type": "message"},
        "response_url": slack.fake.response_url(user),
        "actions": [{**button, "block_id": "b1", "action_ts": "1700000001.0"}],
    }


def picked(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


def tallies(blocks: list[dict[str, Any]]) -> dict[str, int] | None:
    """The distribution on an opener card (a section of fields "*label*\\ncount"), if it shows one."""
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    if not fields:
        return None
    return {text.split("\n")[0].strip("*").split()[-1]: int(text.split("\n")[1]) for text in fields}


async def test_an_opener_shows_only_the_count_while_open_and_the_totals_once_at_close(slack: Slack):
    for user in PEOPLE:  # five colleagues Tend has met (U1, Slack's owner, is the admin)
        await slack.command("/tend", "help", user=user)
    await slack.settle()
    answer = await slack.command("/tend", "ritual add opener <#C2|standup> daily 09:25 utc")
    assert answer.status == 200
    await slack.settle()
    assert "standup" in json.dumps(slack.fake.of("response")[-1].args) or "C2" in json.dumps(
        slack.fake.of("response")[-1].args
    )
    assert posts_in("C2")(slack.fake.calls) == []  # nothing until it is due

    scheduler = Scheduler(slack.database, slack.clock, senders=slack.engine.senders)
    slack.clock.advance(timedelta(hours=23, minutes=25))  # Tuesday 09:25
    await scheduler.tick()
    await slack.engine.delivery.deliver_due(limit=100)
    [card] = posts_in("C2")(slack.fake.calls)
    buttons = [e for b in card.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    answers = [b for b in buttons if b["action_id"].startswith("opener.answer")]
    assert len(answers) == 5

    for count, user in enumerate(PEOPLE, 1):
        slack.clock.advance(timedelta(seconds=2))
        assert (await slack.interaction(click_payload(slack, user, answers[count % 5], card))).status == 200
        await slack.settle()
        updates = slack.fake.of("chat.update")
        assert len(updates) == count and updates[-1].args["channel"] == "C2"
        blocks = updates[-1].args["blocks"]
        assert f"{count} answer" in json.dumps(blocks)
        assert tallies(blocks) is None  # while open, whoever watches a tap learns only the count
    slack.clock.advance(timedelta(hours=12))  # the check-in closes
    await scheduler.tick()
    closing = slack.fake.of("chat.update")[5:]
    assert len(closing) == 1 and closing[0].args["channel"] == "C2"
    totals = tallies(closing[0].args["blocks"])
    assert totals == {"Stormy": 1, "Rainy": 1, "Cloudy": 1, "sunny": 1, "Sunny": 1}
    assert len(posts_in("C2")(slack.fake.calls)) == 1  # updated in place, not reposted
    assert_valid_sent(slack.fake.calls)


async def test_a_stress_report_through_the_modal_is_stored_with_no_link_to_its_author(slack: Slack):
    assert (await slack.command("/tend", "stress", user="U4")).status == 200
    [opened] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"])
    view = opened.args["view"]
    assert view["type"] == "modal"
    await slack.settle()
    submission = {
        **slack.envelope("view_submission", "U4"),
        "view": {
            **view,
            "id": "V9",
            "state": {
                "values": {
                    "intensity": {"intensity": picked("4")},
                    "category": {"category": picked("workload")},
                    "words": {"words": {"type": "plain_text_input", "value": "the release is crushing me"}},
                    "support": {"support": picked("count")},
                    "person": {"person": {"type": "users_select", "selected_user": None}},
                }
            },
        },
    }
    assert (await slack.interaction(submission)).status == 200
    await slack.settle()
    async with slack.database.session() as session:
        [report] = (await session.exec(select(StressReport))).all()
        relays = (await session.exec(select(StressRelay))).all()
    assert (report.intensity, report.category, report.text) == (4, "workload", "the release is crushing me")
    stored = report.model_dump()
    assert "U4" not in json.dumps(stored, default=str)  # nothing names the author...
    assert not {"member_id", "user_id", "created_at", "reported_at"} & set(stored)  # ...or could join back
    assert relays == []  # "just count it": no way back to them is kept at all
    assert posts_in("C1")(slack.fake.calls) == []  # nothing public
    assert_valid_sent(slack.fake.calls)
