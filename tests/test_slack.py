"""The Slack adapter end to end: signed HTTP requests in, a fake Web API on 127.0.0.1 out.

Nothing in slack_bolt or slack_sdk is mocked: Tend's aiohttp server runs Bolt on a real socket,
requests are signed with slack_sdk's own signer, and every Web API call lands on
``tests/fake_slack_api.py``. Every payload Tend sends is parsed with ``slack_sdk.models`` and checked
against Block Kit limits.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier
from sqlmodel import select

from adapters.slack.blocks import MAX_BLOCKS, card_blocks, cut, modal_view
from adapters.slack.listeners import EVENTS_PATH, SlackAdapter, add_slack_route, build_slack, sender_for
from adapters.slack.sender import send_error
from adapters.slack.translate import action_event, command_event, form_values, split_mentions
from bot.engine import Engine
from bot.events import PersonRef
from bot.metrics import Metrics
from bot.server import bound_port, create_http_app, run_http
from practices.messages import Button, Buttons, Card, Divider, Fact, Facts, Fine, Image, Text
from practices.shoutouts import kudos_form
from storage import outbox
from storage.db import Database
from storage.models import Outbox, Workspace
from tests.fake_slack_api import Call, FakeSlackApi
from tests.helpers import fixed_clock

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


def command_fields(
    fake: FakeSlackApi, command: str, text: str, user: str, channel: str, trigger: str
) -> dict[str, str]:
    """A slash command's fields as Slack sends them (a form over HTTP, JSON over Socket Mode)."""
    return {
        "team_id": "T1",
        "team_domain": "acme",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": {"U1": "ana", "U2": "bo"}.get(user, user.lower()),
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "trigger_id": trigger,
        "response_url": fake.response_url(user),
    }


@dataclass
class Slack:
    fake: FakeSlackApi
    adapter: SlackAdapter
    engine: Engine
    database: Database
    url: str
    clock: Any
    http: aiohttp.ClientSession
    triggers: int = 0

    def next_trigger(self) -> str:
        self.triggers += 1
        return f"trigger.{self.triggers}"

    async def settle(self) -> None:
        """Everything acked is handled and answered, and what it queued is sent: what a running server
        does on its own (its delivery loop is woken by the engine; the fixture runs no loop)."""
        await self.adapter.drain()
        await self.engine.delivery.deliver_backlog()

    def envelope(self, kind: str, user: str) -> dict[str, Any]:
        """How every interaction payload starts: its type, the workspace, the person, a fresh trigger."""
        return {
            "type": kind,
            "team": {"id": "T1", "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": "T1"},
            "api_app_id": "A1",
            "trigger_id": self.next_trigger(),
        }

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str = "",
        signed: bool = True,
    ) -> aiohttp.ClientResponse:
        headers = {"Content-Type": content_type}
        if signed:
            stamp = str(int(time.time()) if timestamp is None else timestamp)
            headers["X-Slack-Request-Timestamp"] = stamp
            headers["X-Slack-Signature"] = signature or SignatureVerifier(SECRET).generate_signature(
                timestamp=stamp, body=body
            )
        async with self.http.post(self.url + EVENTS_PATH, data=body.encode(), headers=headers) as response:
            await response.read()
            return response

    async def command(
        self,
        command: str,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        trigger: str | None = None,
        **extra: Any,
    ) -> aiohttp.ClientResponse:
        form = command_fields(self.fake, command, text, user, channel, trigger or self.next_trigger())
        return await self.post(urlencode({**form, **extra}), "application/x-www-form-urlencoded")

    async def interaction(self, payload: dict[str, Any]) -> aiohttp.ClientResponse:
        return await self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )


@contextlib.asynccontextmanager
async def slack_server(
    database: Database, metrics: Metrics | None = None, **options: Any
) -> AsyncIterator[Slack]:
    """Tend's Slack server on a real socket against a fake Web API; ``options`` go to ``build_slack``
    (``max_queued``...); one ``Metrics`` is shared by the engine and ``/metrics``, as ``app.py`` wires
    them."""
    fake = FakeSlackApi()
    await fake.start()
    clock = fixed_clock("2025-03-03 10:00")  # a Monday, inside everyone's default working hours (UTC)
    sender = sender_for(TOKEN, fake.api_url)
    metrics = metrics or Metrics()
    engine = Engine(database, clock, {"slack": sender}, metrics=metrics)
    adapter = build_slack(engine, sender, signing_secret=SECRET, **options)
    app = create_http_app(database, metrics)
    add_slack_route(app, adapter)
    runner = await run_http(app, "127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        yield Slack(fake, adapter, engine, database, f"http://127.0.0.1:{bound_port(runner)}", clock, http)
        await adapter.drain()
    await runner.cleanup()
    await sender.close()
    await fake.stop()


@pytest.fixture
async def slack(database: Database) -> AsyncIterator[Slack]:
    async with slack_server(database) as server:
        yield server


def assert_valid_blocks(blocks: list[dict[str, Any]]) -> None:
    """Each block parses with slack_sdk's models and passes their limit checks."""
    assert 0 < len(blocks) <= MAX_BLOCKS
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        if raw["type"] == "section" and "text" in raw:
            assert len(raw["text"]["text"]) <= 3000
        if raw["type"] == "actions":
            assert all(len(element["text"]["text"]) <= 75 for element in raw["elements"])


def assert_valid_sent(calls: list[Call]) -> None:
    for call in calls:
        if "blocks" in call.args:
            assert_valid_blocks(call.args["blocks"])
        if "view" in call.args:
            view = View(**call.args["view"])
            view.validate_json()
            if call.args["view"]["type"] == "modal":  # App Home views have no title
                assert len(call.args["view"]["title"]["text"]) <= 24


def posts_in(channel: str, text: str = "") -> Any:
    def found(calls: list[Call]) -> list[Call]:
        return [
            c
            for c in calls
            if c.method == "chat.postMessage"
            and c.status == 200
            and c.args.get("channel") == channel
            and text in json.dumps(c.args)
        ]

    return found


async def count(database: Database, model: type) -> int:
    async with database.session() as session:
        return len((await session.exec(select(model))).all())


# --- end to end --------------------------------------------------------------------------------------


async def test_kudos_is_acked_then_posted_in_the_channel_and_sent_privately(slack: Slack, caplog):
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    response = await slack.command("/kudos", "<@U2|bo> thanks for the careful review")
    assert response.status == 200
    assert time.monotonic() - started < 3  # Slack's ack deadline
    await slack.settle()
    [public] = await slack.fake.wait_for(posts_in("C1", "careful review"))
    assert "<@U1> thanked <@U2>" in json.dumps(public.args["blocks"])  # real mentions, not bold names
    opened = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "conversations.open"])
    assert opened[0].args["users"] == "U2"
    await slack.settle()
    [private] = await slack.fake.wait_for(posts_in("DU2", "careful review"))
    await slack.settle()
    answers = slack.fake.of("response")
    assert answers and answers[0].args["response_type"] == "ephemeral"
    assert slack.fake.of("auth.test")  # Bolt checked the single workspace's token
    assert_valid_sent(slack.fake.calls)
    assert private.args["text"]
    slack_logs = [r for r in caplog.records if r.name.startswith(("slack", "tend.slack"))]
    assert not [r for r in slack_logs if "careful review" in r.getMessage()]  # no message text in logs


async def test_the_dm_channel_is_opened_once_per_person(slack: Slack):
    await slack.command("/kudos", "<@U2|bo> thanks for the review")
    await slack.settle()
    await slack.fake.wait_for(posts_in("DU2", "for the review"))
    await slack.settle()
    slack.clock.advance(timedelta(seconds=2))  # past the outbox's one-message-per-second pacing
    await slack.command("/kudos", "<@U2|bo> and again for the demo")
    await slack.settle()
    await slack.fake.wait_for(posts_in("DU2", "for the demo"))
    assert len(slack.fake.of("conversations.open")) == 1


async def test_web_api_calls_reuse_kept_alive_connections(slack: Slack):
    """One TCP (in production also TLS) handshake per call would halve what the outbox can send."""
    for n in range(6):  # one after another: a burst may rightly open a few connections at once
        await slack.command("/kudos", f"<@U{n + 2}|p{n}> thanks for round {n}", channel=f"C{n + 1}")
        await slack.settle()
        await slack.fake.wait_for(posts_in(f"DU{n + 2}", f"round {n}"))
        await slack.settle()
    calls = [c for c in slack.fake.calls if c.method not in ("response", "upload")]
    assert len(calls) >= 18  # auth.test, then per kudos a post, a conversations.open and a DM
    assert len({c.connection for c in calls}) <= len(calls) // 3


async def test_a_retried_command_is_handled_once(slack: Slack):
    for _ in range(2):
        assert (await slack.command("/kudos", "<@U2|bo> thanks twice", trigger="same.trigger")).status == 200
        await slack.settle()
    assert len(posts_in("C1", "thanks twice")(slack.fake.calls)) == 1


async def test_tend_ritual_list_answers_privately(slack: Slack):
    assert (await slack.command("/tend", "ritual list")).status == 200
    [answer] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "response"])
    assert answer.args["response_type"] == "ephemeral"
    assert answer.args["_response_url"] == "U1"
    assert_valid_blocks(answer.args["blocks"])
    await slack.settle()
    assert not slack.fake.of("chat.postMessage")  # nothing public


async def test_the_kudos_button_opens_a_modal_and_its_submission_posts(slack: Slack):
    await slack.command("/kudos", "<@U2|bo> thanks for the careful review")
    await slack.settle()
    [public] = await slack.fake.wait_for(posts_in("C1", "careful review"))
    await slack.settle()
    buttons = [e for b in public.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    [button] = [e for e in buttons if e["action_id"] == "kudos.open"]
    click = {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "U3", "username": "cy", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": slack.next_trigger(),
        "channel": {"id": "C1", "name": "general"},
        "container": {"type": "message", "message_ts": "1700000000.000200", "channel_id": "C1"},
        "message": {"ts": "1700000000.000200", "type": "message"},
        "response_url": slack.fake.response_url("U3"),
        "actions": [{**button, "block_id": "b1", "action_ts": "1700000001.0"}],
    }
    assert (await slack.interaction(click)).status == 200
    [opened] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"])
    assert opened.args["trigger_id"] == click["trigger_id"]
    view = opened.args["view"]
    assert view["type"] == "modal" and view["callback_id"] == "kudos.form"
    assert_valid_sent([opened])
    await slack.settle()

    submission = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "U3", "username": "cy", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": slack.next_trigger(),
        "view": {
            **view,
            "id": "V1",
            "state": {
                "values": {
                    "person": {"person": {"type": "users_select", "selected_user": "U2"}},
                    "reason": {"reason": {"type": "plain_text_input", "value": "the calm incident call"}},
                    "value": {"value": {"type": "static_select", "selected_option": {"value": "care"}}},
                }
            },
        },
    }
    slack.clock.advance(timedelta(seconds=2))  # past the outbox's one-message-per-second pacing
    assert (await slack.interaction(submission)).status == 200
    await slack.settle()
    await slack.fake.wait_for(posts_in("C1", "calm incident call"))
    answer = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "chat.postEphemeral"])
    assert answer[0].args["user"] == "U3" and answer[0].args["channel"] == "C1"
    await slack.settle()
    assert_valid_sent(slack.fake.calls)


async def test_a_429_waits_for_retry_after_then_the_outbox_sends(slack: Slack):
    slack.fake.fail_next("chat.postMessage", 429, retry_after=30)
    assert (await slack.command("/kudos", "<@U2|bo> thanks for waiting", channel="C9")).status == 200
    await slack.settle()
    await slack.fake.wait_for(lambda calls: [c for c in calls if c.status == 429])
    assert not posts_in("C9")(slack.fake.calls)
    slack.clock.advance(timedelta(seconds=10))  # longer than the first backoff, shorter than Retry-After
    await slack.engine.delivery.deliver_due()
    assert not posts_in("C9")(slack.fake.calls)
    slack.clock.advance(timedelta(seconds=20))
    await slack.engine.delivery.deliver_due()
    assert posts_in("C9", "thanks for waiting")(slack.fake.calls)
    assert len(slack.fake.of("chat.postMessage", ok_only=False)) == 3  # C9 twice (429, then ok), DU2 once


async def test_a_500_is_retried_with_backoff(slack: Slack):
    slack.fake.fail_next("chat.postMessage", 500)
    await slack.command("/kudos", "<@U2|bo> thanks despite the outage", channel="C8")
    await slack.settle()
    await slack.fake.wait_for(lambda calls: [c for c in calls if c.status == 500])
    slack.clock.advance(timedelta(seconds=5))
    await slack.engine.delivery.deliver_due()
    assert posts_in("C8", "despite the outage")(slack.fake.calls)


async def test_a_channel_tend_is_not_in_is_parked_at_once(slack: Slack):
    slack.fake.fail_next_with("chat.postMessage", "not_in_channel")
    await slack.command("/kudos", "<@U2|bo> thanks in a closed room", channel="C7")
    await slack.settle()
    await slack.fake.wait_for(lambda calls: slack.fake.of("chat.postMessage", ok_only=False))
    async with slack.database.session() as session:
        [row] = (await session.exec(select(Outbox).where(Outbox.target_id == "C7"))).all()
    assert (row.state, row.attempts) == (outbox.PARKED, 1)
    assert "not_in_channel" in (row.last_error or "")


# --- security ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["forged", "stale", "missing"])
async def test_unverifiable_requests_are_refused_and_change_nothing(slack: Slack, case: str, caplog):
    caplog.set_level(logging.DEBUG)
    body = urlencode(
        {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/kudos",
            "text": "<@U2|bo> forged thanks",
            "trigger_id": "t.forged",
            "response_url": slack.fake.response_url("U1"),
        }
    )
    kind = "application/x-www-form-urlencoded"
    if case == "forged":
        response = await slack.post(body, kind, signature="v0=" + "0" * 64)
    elif case == "stale":
        response = await slack.post(body, kind, timestamp=int(time.time()) - 6 * 60)
    else:
        response = await slack.post(body, kind, signed=False)
    assert response.status == 401
    assert not [r for r in caplog.records if "forged" in r.getMessage()]  # no bodies in logs
    await slack.settle()
    assert [c for c in slack.fake.calls if c.method != "auth.test"] == []  # auth.test: start-up's warm-up
    assert await count(slack.database, Workspace) == 0
    assert await count(slack.database, Outbox) == 0


# --- pure translation and rendering ---------------------------------------------------------------------


def test_mentions_become_tokens_with_their_names_carried_apart():
    text, people = split_mentions("<@U2|bo> and <@W3> thanks <@U2>")
    assert text == "<@U2> and <@W3> thanks <@U2>"
    assert people == (PersonRef("U2", "bo"), PersonRef("W3", ""))


def test_a_slash_command_becomes_a_neutral_event():
    event = command_event(
        {
            "team_id": "T1",
            "team_domain": "acme",
            "channel_id": "D5",
            "channel_name": "directmessage",
            "user_id": "U1",
            "user_name": "ana",
            "command": "/tend",
            "text": "help",
            "trigger_id": "9.9",
        }
    )
    assert event is not None
    assert (event.command, event.text, event.event_id) == ("tend", "help", "command:9.9")
    assert event.origin.workspace_id == "T1" and event.origin.place_id == "D5" and event.origin.is_direct
    assert command_event({"command": "/other", "text": ""}) is None


def test_duplicate_actions_in_one_row_stay_distinct_and_map_back():
    card = Card("Q", (Buttons((Button("Yes", "opener.answer", "1"), Button("No", "opener.answer", "0"))),))
    [_, row] = card_blocks(card)
    ids = [element["action_id"] for element in row["elements"]]
    assert len(set(ids)) == 2
    event = action_event(
        {
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "trigger_id": "x",
            "message": {"ts": "1.2"},
            "actions": [{"action_id": ids[1], "value": "0"}],
        }
    )
    assert event is not None and (event.action, event.value, event.message_ref) == (
        "opener.answer",
        "0",
        "1.2",
    )


def test_big_cards_are_cut_to_slack_limits():
    long_text = "x" * 5000
    card = Card(
        "T" * 200,
        (
            Text(long_text),
            Fine("fine print"),
            Facts(tuple(Fact(f"l{i}", f"v{i}") for i in range(12))),
            Image("https://example.com/chart.png", "chart"),
            Image("", "local chart", path="/tmp/c.png"),
            Divider(),
            Buttons((Button("B" * 100, "kudos.open", style="primary"),)),
            *(Text(f"line {i}") for i in range(60)),
        ),
    )
    blocks = card_blocks(card)
    assert_valid_blocks(blocks)
    assert len(blocks) == MAX_BLOCKS
    assert blocks[1]["text"]["text"].endswith("…") and len(blocks[1]["text"]["text"]) == 3000
    assert cut("abc", 3) == "abc" and cut("abcd", 3) == "ab…"


def test_forms_render_as_valid_modals_and_answers_map_back():
    form = kudos_form()
    view = modal_view(form, "C1")
    View(**view).validate_json()
    assert [block["block_id"] for block in view["blocks"]] == [field.name for field in form.fields]
    values = form_values(
        {
            "state": {
                "values": {
                    "person": {"person": {"type": "users_select", "selected_user": "U2"}},
                    "reason": {"reason": {"type": "plain_text_input", "value": "why"}},
                    "value": {"value": {"type": "static_select", "selected_option": None}},
                }
            }
        }
    )
    assert values == {"person": "U2", "reason": "why", "value": ""}


def test_slack_errors_become_send_errors_the_outbox_understands():
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.slack_response import SlackResponse

    def error(status: int, code: str, headers: dict[str, str] | None = None) -> SlackApiError:
        response = SlackResponse(
            client=None,
            http_verb="POST",
            api_url="u",
            req_args={},
            data={"ok": False, "error": code},
            headers=headers or {},
            status_code=status,
        )
        return SlackApiError("failed", response)

    limited = send_error(error(429, "ratelimited", {"Retry-After": "12"}), "chat.postMessage")
    assert limited.retry_after == 12 and not limited.permanent
    assert not send_error(error(503, "service_unavailable"), "m").permanent
    assert send_error(error(200, "channel_not_found"), "m").permanent
    assert send_error(error(200, "account_inactive"), "m").permanent


# --- load --------------------------------------------------------------------------------------------------


async def test_a_burst_of_kudos_is_all_acked_stored_and_posted_without_errors(slack: Slack, caplog):
    """60 people send /kudos at the same moment: every one is acked, kept and posted, none fails
    (unbounded work after the acks used to exhaust the pool and lock SQLite, losing half a burst)."""
    import asyncio

    from storage.models import Shoutout

    caplog.set_level(logging.WARNING)
    burst = 60

    async def kudos(index: int) -> int:
        giver, receiver = f"U1{index:02d}", f"U2{index:02d}"
        text = f"<@{receiver}|p{index}> thanks for burst help {index}"
        return (await slack.command("/kudos", text, user=giver, channel=f"C{index:02d}")).status

    statuses = await asyncio.gather(*(kudos(index) for index in range(burst)))
    assert statuses == [200] * burst
    await slack.settle()
    await slack.engine.delivery.deliver_due()  # anything a busy moment left in the outbox
    assert await count(slack.database, Shoutout) == burst
    for index in range(burst):
        assert posts_in(f"C{index:02d}", f"burst help {index}")(slack.fake.calls), index
    answered = [c.args["_response_url"] for c in slack.fake.of("response")]  # each giver's private answer
    assert sorted(answered) == [f"U1{index:02d}" for index in range(burst)]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("tend")]
