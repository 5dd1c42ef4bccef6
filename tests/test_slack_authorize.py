"""No Slack round trip before an ack: a real ``python app.py serve`` against a slow or failing auth.test.

Bolt's default for one workspace calls ``auth.test`` before the first ack (a slow Slack: the first
/kudos acked in 10 s; a failing one: "reinstall the app" and the command dropped; a burst at start: one
auth.test per request). Tend asks ``auth.test`` once, in the background, and authorizes every request
from what it holds (adapters/slack/authorize.py). The fake Web API here counts each auth.test when it
arrives (before it answers slowly), so a call still in flight is counted too.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.authorization import AuthorizeResult

from adapters.slack.authorize import WarmedAuthorize, backoff
from adapters.slack.listeners import EVENTS_PATH
from adapters.slack.sender import make_client, web_session
from tests.fake_slack_api import FakeSlackApi
from tests.helpers import signed_headers
from tests.test_app import APP, clean_env, free_port
from tests.test_credentials import CLIENT_ID, CLIENT_SECRET, install_through
from tests.test_health import until
from tests.test_slack import command_fields, posts_in

SECRET = "authorize-test-signing-secret"
TOKEN = "xoxb-authorize-test"
ACK_DEADLINE = 3.0  # Slack shows the person a timeout after this


class SlowAuthSlackApi(FakeSlackApi):
    """auth.test answers after ``auth_delay`` seconds (Slack being slow); each arrival is counted."""

    def __init__(self, auth_delay: float = 0.0) -> None:
        super().__init__()
        self.auth_delay = auth_delay
        self.auth_arrivals = 0

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "auth.test":
            self.auth_arrivals += 1
            if self.auth_delay:
                await asyncio.sleep(self.auth_delay)  # a slow server, not a wait for something
        return await super()._api(request)


@asynccontextmanager
async def tend(tmp_path: Path, fake: FakeSlackApi, *, oauth: bool = False) -> AsyncIterator[str]:
    """``python app.py serve`` for one workspace (SLACK_BOT_TOKEN), or many (``oauth``: installs through
    Slack's OAuth), talking to ``fake``; yields its URL."""
    port = free_port()
    slack = (
        {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET}
        if oauth
        else {"SLACK_BOT_TOKEN": TOKEN}
    )
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/tend.db", HOST="127.0.0.1", PORT=str(port),
        SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url, **slack,
    )  # fmt: skip
    log = tmp_path / "tend.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, APP, "serve", cwd=tmp_path, env=env, stdout=output, stderr=output
        )
    try:
        await until(port, "/readyz", 200)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 20)
    assert "Traceback" not in log.read_text()


async def command(
    http: aiohttp.ClientSession,
    url: str,
    fake: FakeSlackApi,
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
) -> float:
    """Sends a signed slash command; returns how long Tend took to ack it (seconds)."""
    name, _, rest = text.partition(" ")
    form = command_fields(fake, name, rest, user, "C1", f"trigger.{user}")
    body = urlencode(form)
    headers = signed_headers(SECRET, body)
    started = time.monotonic()
    async with http.post(url + EVENTS_PATH, data=body.encode(), headers=headers) as response:
        await response.read()
        assert response.status == 200
    return time.monotonic() - started


def responses_to(users: set[str]) -> Any:
    return lambda calls: {c.args["_response_url"] for c in calls if c.method == "response"} >= users or None


@asynccontextmanager
async def started(fake: FakeSlackApi) -> AsyncIterator[aiohttp.ClientSession]:
    await fake.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield http
    finally:
        await fake.stop()


async def test_with_a_slow_auth_test_the_first_kudos_is_acked_at_once_and_handled(tmp_path):
    fake = SlowAuthSlackApi(auth_delay=10.0)
    async with started(fake) as http, tend(tmp_path, fake) as url:
        took = await command(http, url, fake, "/kudos <@U2|bo> thanks for waiting")
        assert took < ACK_DEADLINE
        [public] = await fake.wait_for(posts_in("C1", "thanks for waiting"), within=20)
        assert public.token == TOKEN
        assert fake.auth_arrivals == 1 and fake.of("auth.test") == []  # still answering: nobody waited


async def test_a_burst_at_start_is_acked_within_the_deadline_and_makes_one_auth_test(tmp_path):
    fake = SlowAuthSlackApi(auth_delay=4.0)
    async with started(fake) as http, tend(tmp_path, fake) as url:
        users = {f"U{n}" for n in range(10, 40)}
        took = await asyncio.gather(*(command(http, url, fake, "/tend help", user=user) for user in users))
        assert max(took) < ACK_DEADLINE
        await fake.wait_for(responses_to(users), within=30)  # every one handled
        [checked] = await fake.wait_for(
            lambda calls: [c for c in calls if c.method == "auth.test"], within=20
        )
        assert checked.token == TOKEN
        assert fake.auth_arrivals == 1


async def test_with_a_failing_auth_test_the_command_is_handled_and_the_check_is_retried(tmp_path):
    fake = SlowAuthSlackApi()
    fake.fail_next("auth.test", 500)
    fake.fail_next_with("auth.test", "internal_error")
    async with started(fake) as http, tend(tmp_path, fake) as url:
        took = await command(http, url, fake, "/kudos <@U2|bo> thanks despite Slack")
        assert took < ACK_DEADLINE
        await fake.wait_for(posts_in("C1", "thanks despite Slack"), within=20)
        answers = [c for c in fake.calls if c.method == "response"]
        assert not [c for c in answers if "install" in str(c.args.get("text", "")).lower()]
        # Retried with back-off (1 s, then 2 s) until Slack answered; then never again.
        await fake.wait_for(lambda calls: len([c for c in calls if c.method == "auth.test"]) == 3, within=10)
        assert [c.status for c in fake.of("auth.test", ok_only=False)] == [500, 200, 200]
        assert fake.auth_arrivals == 3


async def test_many_workspaces_authorize_every_request_from_the_store_without_auth_test(tmp_path):
    fake = SlowAuthSlackApi()
    async with started(fake) as http, tend(tmp_path, fake, oauth=True) as url:
        await install_through(url, fake, "T1")  # Bolt's install flow asks auth.test once for the bot's ids
        assert fake.auth_arrivals == 1
        fake.auth_delay = 10.0  # from now on Slack is slow: nothing may wait for it
        users = {f"U{n}" for n in range(10, 30)}
        took = await asyncio.gather(*(command(http, url, fake, "/tend help", user=user) for user in users))
        assert max(took) < ACK_DEADLINE
        await fake.wait_for(responses_to(users), within=30)
        assert fake.auth_arrivals == 1  # not one per request (Bolt's installation-store authorize did)


# --- the authorize step alone ------------------------------------------------------------------------


async def test_before_the_warm_up_a_request_is_authorized_with_the_token_and_its_own_team():
    fake = SlowAuthSlackApi(auth_delay=30.0)
    await fake.start()
    client = make_client(TOKEN, fake.api_url)
    authorize = WarmedAuthorize(client)
    try:
        result = await authorize(context=None, enterprise_id=None, team_id="T1", user_id="U1")  # type: ignore[arg-type]
        assert isinstance(result, AuthorizeResult)
        assert (result.bot_token, result.team_id, result.user_id, result.bot_user_id) == (
            TOKEN,
            "T1",
            "U1",
            None,
        )
    finally:
        await authorize.close()
        await fake.stop()


async def test_after_the_warm_up_the_bots_ids_come_from_the_one_auth_test():
    fake = SlowAuthSlackApi()
    await fake.start()
    authorize = WarmedAuthorize(make_client(TOKEN, fake.api_url))
    try:
        identity = await authorize.warmed()
        assert (identity.team_id, identity.bot_user_id, identity.bot_id) == ("T1", "UBOT", "BBOT")
        for _ in range(5):
            result = await authorize(context=None, enterprise_id=None, team_id="T1", user_id="U2")  # type: ignore[arg-type]
            assert (result.bot_user_id, result.bot_id, result.bot_token) == ("UBOT", "BBOT", TOKEN)
        assert fake.auth_arrivals == 1
    finally:
        await authorize.close()
        await fake.stop()


async def test_the_warm_up_backs_off_between_failures_with_an_injected_sleep():
    fake = SlowAuthSlackApi()
    await fake.start()
    for _ in range(4):
        fake.fail_next("auth.test", 503)
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    authorize = WarmedAuthorize(make_client(TOKEN, fake.api_url), sleep=no_wait)
    try:
        await authorize.warmed()
        assert waits == [1.0, 2.0, 4.0, 8.0]
        assert authorize.attempts == 5
    finally:
        await authorize.close()
        await fake.stop()


def test_the_back_off_doubles_up_to_its_cap():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(30) == 300.0


async def test_the_warm_up_stops_quietly_once_the_connection_pool_is_closed():
    fake = SlowAuthSlackApi()
    await fake.start()
    fake.fail_next("auth.test", 503)
    session = web_session()
    waits: list[float] = []

    async def close_meanwhile(seconds: float) -> None:
        waits.append(seconds)
        await session.close()  # what app.py's shutdown does while the check waits to retry

    authorize = WarmedAuthorize(make_client(TOKEN, fake.api_url, session), sleep=close_meanwhile)
    try:
        assert authorize._task is not None
        await authorize._task  # ends by itself, without raising
        assert authorize.identity is None and authorize.attempts == 1 and waits == [1.0]
    finally:
        await fake.stop()
