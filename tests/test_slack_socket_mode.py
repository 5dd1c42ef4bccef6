"""Slack over Socket Mode end to end: envelopes in over a real WebSocket, a fake Web API out.

Nothing in slack_bolt or slack_sdk is mocked: slack_sdk's aiohttp Socket Mode client connects to
``tests/fake_socket_mode.py`` (which answers ``apps.connections.open`` only for the app token), Bolt
acks each envelope over the socket, and every Web API call lands on ``tests/fake_slack_api.py``.
There is no signing secret anywhere in this file: Socket Mode does not use one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.slack.listeners import SlackAdapter, build_slack, sender_for
from adapters.slack.socket_mode import SocketMode, start_socket_mode
from bot.engine import Engine
from bot.errors import SettingsError
from storage.db import Database
from tests.fake_slack_api import FakeSlackApi
from tests.fake_socket_mode import FakeSocketMode
from tests.helpers import fixed_clock
from tests.test_slack import command_fields, posts_in

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A1-test-app-token"


@dataclass
class Socket:
    fake: FakeSlackApi
    socket: FakeSocketMode
    adapter: SlackAdapter
    connection: SocketMode
    triggers: int = 0

    def command(self, command: str, text: str, *, user: str = "U1", channel: str = "C1") -> dict[str, Any]:
        """A slash command's payload as Socket Mode carries it: the HTTP form's fields, as JSON."""
        self.triggers += 1
        fields = command_fields(self.fake, command, text, user, channel, f"socket.trigger.{self.triggers}")
        return {"token": "legacy-verification-token", "is_enterprise_install": "false", **fields}


@pytest.fixture
async def slack(database: Database) -> AsyncIterator[Socket]:
    fake = FakeSlackApi()
    await fake.start()
    socket = FakeSocketMode(APP_TOKEN)
    await socket.start()
    sender = sender_for(TOKEN, fake.api_url)
    engine = Engine(database, fixed_clock("2025-03-03 10:00"), {"slack": sender})
    adapter = build_slack(engine, sender, signing_secret=None)
    connection = await start_socket_mode(adapter.bolt, APP_TOKEN, socket.api_url)
    try:
        yield Socket(fake, socket, adapter, connection)
        await adapter.drain()
    finally:
        await connection.close()
        await sender.close()
        await socket.stop()
        await fake.stop()


async def test_kudos_over_the_socket_is_acked_by_envelope_id_then_posted(slack: Socket):
    assert slack.socket.opened == 1 and slack.socket.refused == 0  # the app token, not the bot token
    envelope_id = await slack.socket.slash_command(
        slack.command("/kudos", "<@U2|bo> thanks for the socket work")
    )
    ack = await slack.socket.ack_of(envelope_id)
    assert ack["envelope_id"] == envelope_id
    await slack.adapter.drain()
    await slack.adapter.engine.delivery.deliver_backlog()  # what a server's delivery loop would send
    [public] = await slack.fake.wait_for(posts_in("C1", "socket work"))
    assert "<@U2>" in json.dumps(public.args["blocks"])  # the person thanked is mentioned
    await slack.fake.wait_for(posts_in("DU2", "socket work"))  # the receiver hears it privately
    [answer] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "response"])
    assert answer.args["response_type"] == "ephemeral" and answer.args["_response_url"] == "U1"


async def test_a_button_over_the_socket_opens_the_kudos_modal(slack: Socket):
    click = {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "U3", "username": "cy", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "socket.click.1",
        "channel": {"id": "C1", "name": "general"},
        "container": {"type": "message", "message_ts": "1700000000.000200", "channel_id": "C1"},
        "message": {"ts": "1700000000.000200", "type": "message"},
        "response_url": slack.fake.response_url("U3"),
        "actions": [
            {"action_id": "kudos.open", "block_id": "b1", "type": "button", "action_ts": "1700000001.0"}
        ],
    }
    envelope_id = await slack.socket.interactive(click)
    assert (await slack.socket.ack_of(envelope_id))["envelope_id"] == envelope_id
    [opened] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.open"])
    assert opened.args["trigger_id"] == "socket.click.1"
    assert opened.args["view"]["callback_id"] == "kudos.form"


async def test_when_slack_asks_to_reconnect_commands_keep_arriving(slack: Socket):
    [first] = slack.socket.live
    await slack.socket.disconnect()
    await slack.socket.wait_for(lambda: first not in slack.socket.live and slack.socket.live)
    assert slack.socket.opened == 2  # a fresh URL was asked for with the app token
    assert len(slack.socket.live) == 1  # the old socket is closed, one new one serves
    envelope_id = await slack.socket.slash_command(slack.command("/tend", "ritual list"))
    assert (await slack.socket.ack_of(envelope_id))["envelope_id"] == envelope_id
    [answer] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "response"])
    assert answer.args["response_type"] == "ephemeral"


async def test_a_wrong_app_token_stops_start_up_with_a_clear_message(database: Database):
    socket = FakeSocketMode(APP_TOKEN)
    await socket.start()
    fake = FakeSlackApi()
    await fake.start()
    sender = sender_for(TOKEN, fake.api_url)
    try:
        engine = Engine(database, fixed_clock(), {"slack": sender})
        adapter = build_slack(engine, sender, signing_secret=None)
        with pytest.raises(SettingsError, match=r"SLACK_APP_TOKEN.*invalid_auth"):
            await start_socket_mode(adapter.bolt, TOKEN, socket.api_url)  # the bot token by mistake
        assert (socket.refused, socket.opened, socket.connections) == (1, 0, [])
    finally:
        await sender.close()
        await socket.stop()
        await fake.stop()


async def test_an_event_over_the_socket_is_acked_and_the_home_tab_is_published(slack: Socket):
    callback = {
        "token": "legacy-verification-token",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": "Ev0SOCKET1",
        "event_time": 1700000000,
        "event": {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"},
    }
    envelope_id = await slack.socket.event(callback)
    assert (await slack.socket.ack_of(envelope_id))["envelope_id"] == envelope_id  # or Slack retries it
    [home] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.publish"])
    assert home.args["user_id"] == "U1"


# --- as a real process: python app.py serve with SLACK_APP_TOKEN -------------------------------------


async def test_app_serves_slack_over_the_socket_without_a_signing_secret_or_an_http_endpoint(tmp_path):
    import asyncio

    import aiohttp

    from tests.test_app import free_port, start_tend

    fake = FakeSlackApi()
    await fake.start()
    socket = FakeSocketMode(APP_TOKEN, web_api=fake)
    await socket.start()
    port = free_port()
    process = await start_tend(  # `python app.py` with no mode: it chooses serve, over the socket
        tmp_path, port, SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=socket.api_url
    )
    try:
        await socket.wait_for(lambda: socket.live, within=20)
        helper = Socket(fake, socket, None, None)  # type: ignore[arg-type]
        envelope = await socket.slash_command(helper.command("/kudos", "<@U2|bo> thanks for the review"))
        assert (await socket.ack_of(envelope, within=10))["envelope_id"] == envelope
        posted = await fake.wait_for(posts_in("C1", "thanks for the review"), within=10)
        assert posted and posted[0].args.get("channel") == "C1"
        url = f"http://127.0.0.1:{port}/slack/events"  # no signing secret: no unverified endpoint either
        async with aiohttp.ClientSession() as http, http.post(url, data=b"{}") as response:
            assert response.status == 404
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
        await socket.stop()
        await fake.stop()


def test_a_wrong_app_token_stops_python_app_py_with_one_line(tmp_path):
    import subprocess
    import sys

    from tests.test_app import APP, clean_env, free_port

    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/tend.db",
        HOST="127.0.0.1",
        PORT=str(free_port()),
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_APP_TOKEN="xapp-wrong",
        SLACK_API_URL="http://127.0.0.1:9/api/",  # nothing listens there
    )
    result = subprocess.run(
        [sys.executable, APP, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("Tend cannot start: SLACK_API_URL: could not reach Slack")
    assert "Traceback" not in result.stderr
    assert "WARNING" not in result.stderr  # e.g. no misleading notice about Bolt's own token lookup
