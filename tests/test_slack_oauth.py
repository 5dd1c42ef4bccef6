"""Many Slack workspaces through OAuth v2, end to end: install, per-workspace tokens, rotation, uninstall.

As in tests/test_slack.py nothing in slack_bolt or slack_sdk is mocked: Tend serves the install pages
and Bolt's endpoint on a real socket, requests are signed with slack_sdk's signer, oauth.v2.access,
auth.test and every other Web API call land on ``tests/fake_slack_api.py``, and the installations live
in slack_sdk's SQLAlchemy stores inside the test's own database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import aiohttp
import pytest
import yaml
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import text
from sqlmodel import select

from adapters.slack.listeners import (
    EVENTS_PATH,
    SlackAdapter,
    add_slack_route,
    build_slack,
    oauth_sender,
    sender_for,
)
from adapters.slack.oauth import (
    AUTHORIZE_URL,
    INSTALL_PATH,
    MANIFEST,
    REDIRECT_PATH,
    STORE_TABLES,
    SlackOAuth,
    manifest_scopes,
    slack_oauth,
)
from adapters.slack.sender import SlackSender
from bot.engine import Engine
from bot.errors import SendError
from bot.logs import QUIET_DRIVERS
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.server import bound_port, create_http_app, run_http
from practices.messages import Card, Text
from practices.sealing import PROCESS_KEY
from storage.db import Database
from storage.external import ExternalTables
from storage.identity import find_member
from storage.migrate import EXTERNAL_TABLES
from storage.models import Ritual, Workspace
from tests.fake_slack_api import Call, FakeSlackApi
from tests.helpers import fixed_clock, signed_headers
from tests.test_migrations import model_drift, on_connection
from tests.test_slack import assert_valid_sent, posts_in

SECRET = "test-signing-secret"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret-0123456789"
STATE_COOKIE = "slack-app-oauth-state"


@dataclass
class Page:
    status: int
    body: str
    headers: Any


@dataclass
class Workspaces:
    """Tend in OAuth mode with the fake Slack; helpers act as Slack and as a person's browser would."""

    fake: FakeSlackApi
    oauth: SlackOAuth
    sender: SlackSender
    adapter: SlackAdapter
    engine: Engine
    scheduler: Scheduler
    database: Database
    url: str
    clock: Any
    http: aiohttp.ClientSession
    triggers: int = 0

    async def get(self, path: str, params: dict[str, str] | None = None, cookie: str = "") -> Page:
        headers = {"Cookie": cookie} if cookie else {}
        async with self.http.get(
            self.url + path, params=params, headers=headers, allow_redirects=False
        ) as response:
            return Page(response.status, await response.text(), response.headers)

    async def start_install(self) -> tuple[str, str]:
        """Opens the install page; returns the state in Slack's link and the state cookie it set."""
        page = await self.get(INSTALL_PATH)
        assert page.status == 200
        [link] = re.findall(r'<a href="([^"]+)"', page.body)
        query = parse_qs(urlparse(html.unescape(link)).query)
        [state] = query["state"]
        cookies = page.headers.getall("Set-Cookie")
        assert any(c.startswith(f"{STATE_COOKIE}={state}") for c in cookies)
        return state, f"{STATE_COOKIE}={state}"

    async def install(self, team_id: str, name: str = "", **options: Any) -> str:
        """The whole install of a workspace; returns the bot token Slack issued for it."""
        state, cookie = await self.start_install()
        code = self.fake.install_code(team_id, name or team_id, **options)
        page = await self.get(REDIRECT_PATH, {"code": code, "state": state}, cookie)
        assert page.status == 200, page.body
        assert "Tend is installed" in page.body
        return self.fake.issued_for(team_id)[-1]

    async def post(self, body: str, content_type: str) -> int:
        headers = signed_headers(SECRET, body, content_type)
        async with self.http.post(self.url + EVENTS_PATH, data=body.encode(), headers=headers) as response:
            await response.read()
            return response.status

    async def command(self, team_id: str, text: str, *, user: str = "U1", channel: str = "C1") -> Call:
        """``/tend text`` (or ``/kudos`` when text starts with it) from ``user`` in ``team_id``; returns
        the answer Tend posted to the command's response URL."""
        self.triggers += 1
        command, _, rest = text.partition(" ") if text.startswith("/") else ("/tend", "", text)
        name = f"{team_id}-{user}-{self.triggers}"
        form = {
            "team_id": team_id,
            "team_domain": team_id.lower(),
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": rest,
            "api_app_id": "A1",
            "trigger_id": f"trigger.{self.triggers}",
            "response_url": self.fake.response_url(name),
        }
        assert await self.post(urlencode(form), "application/x-www-form-urlencoded") == 200
        await self.settle()
        [answer] = await self.fake.wait_for(
            lambda calls: [c for c in calls if c.method == "response" and c.args["_response_url"] == name]
        )
        return answer

    async def event(self, team_id: str, event: dict[str, Any], event_id: str) -> None:
        body = {
            "token": "unused",
            "team_id": team_id,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
        assert await self.post(json.dumps(body), "application/json") == 200
        await self.settle()

    async def settle(self) -> None:
        """Acked work handled and answered, and what it queued sent (a server's delivery loop, woken
        by the engine, does that on its own; the fixture runs none)."""
        await self.adapter.drain()
        await self.engine.delivery.deliver_backlog()

    async def installation(self, team_id: str) -> Any:
        return await self.oauth.installations.async_find_installation(enterprise_id=None, team_id=team_id)

    async def expire_soon(self, team_id: str, seconds: int = 120) -> None:
        """Moves the stored token's expiry close (Slack's wall clock, which tests cannot move)."""
        installation = await self.installation(team_id)
        installation.bot_token_expires_at = int(time.time()) + seconds
        await self.oauth.installations.async_save(installation)

    async def fire_due(self, until: str) -> None:
        """Moves Tend's clock and runs what a server would: the scheduler's tick and a delivery pass."""
        hours, minutes = (int(part) for part in until.split(":"))
        target = self.clock.now().replace(hour=hours, minute=minutes)
        self.clock.advance(target - self.clock.now())
        await self.scheduler.tick()
        await self.engine.delivery.deliver_due(limit=100)

    def refreshes(self) -> list[Call]:
        return [c for c in self.fake.of("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"]


async def empty_stores(database: Database) -> None:
    """The PostgreSQL test database is shared by a session and emptied only of Tend's own tables."""
    async with database.engine.begin() as connection:
        for table in STORE_TABLES:
            await connection.execute(text(f"DELETE FROM {table}"))


async def new_oauth(database: Database, fake: FakeSlackApi) -> SlackOAuth:
    return await slack_oauth(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_url=fake.api_url,
        tables=ExternalTables(database.engine),
        secret_key=PROCESS_KEY,  # tokens are sealed under the server secret (tests/test_credentials.py)
    )


@pytest.fixture
async def slack(database: Database) -> AsyncIterator[Workspaces]:
    fake = FakeSlackApi()
    await fake.start()
    clock = fixed_clock("2025-03-03 10:00")  # a Monday, inside everyone's default working hours (UTC)
    oauth = await new_oauth(database, fake)
    await empty_stores(database)
    sender = oauth_sender(oauth)
    engine = Engine(database, clock, {"slack": sender}, min_group_size=3)
    scheduler = Scheduler(database, clock, min_group_size=3)
    adapter = build_slack(engine, sender, signing_secret=SECRET, oauth=oauth)
    app = create_http_app(database, Metrics())
    add_slack_route(app, adapter)
    runner = await run_http(app, "127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        yield Workspaces(
            fake,
            oauth,
            sender,
            adapter,
            engine,
            scheduler,
            database,
            f"http://127.0.0.1:{bound_port(runner)}",
            clock,
            http,
        )
        await adapter.drain()
    await runner.cleanup()
    await sender.close()
    await fake.stop()


async def workspace(database: Database, team_id: str) -> Workspace:
    async with database.session() as session:
        query = select(Workspace).where(Workspace.platform == "slack", Workspace.external_id == team_id)
        return (await session.exec(query)).one()


async def rituals_of(database: Database, team_id: str) -> list[Ritual]:
    found = await workspace(database, team_id)
    async with database.session() as session:
        return list((await session.exec(select(Ritual).where(Ritual.workspace_id == found.id))).all())


def sent_with(token: str, calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.token == token]


# --- install ------------------------------------------------------------------------------------------


async def test_the_install_page_links_to_slacks_authorize_page_with_a_state_and_the_manifests_scopes(
    slack: Workspaces,
):
    page = await slack.get(INSTALL_PATH)
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    [link] = re.findall(r'<a href="([^"]+)"', page.body)
    url = urlparse(html.unescape(link))
    assert f"{url.scheme}://{url.netloc}{url.path}" == AUTHORIZE_URL  # Slack's real page by default
    query = parse_qs(url.query)
    assert query["client_id"] == [CLIENT_ID]
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert query["scope"][0].split(",") == manifest["oauth_config"]["scopes"]["bot"]
    assert query["state"][0]
    assert any(c.startswith(f"{STATE_COOKIE}={query['state'][0]}") for c in page.headers.getall("Set-Cookie"))
    assert slack.fake.calls == []  # nothing reaches Slack before the person approves


async def test_the_redirect_with_its_state_trades_the_code_and_stores_the_installation(slack: Workspaces):
    token = await slack.install("T2", "Beta")

    [exchange] = slack.fake.of("oauth.v2.access")
    assert exchange.args["code"].startswith("code-T2-")
    installation = await slack.installation("T2")
    assert installation.bot_token == token and installation.team_name == "Beta"
    assert installation.user_id == "U1"
    beta = await workspace(slack.database, "T2")  # the installer became the new workspace's admin
    async with slack.database.session() as session:
        installer = await find_member(session, beta.id or 0, "U1")
    assert installer is not None and installer.role == "admin"


@pytest.mark.parametrize("case", ["forged", "missing", "reused", "other-browser"])
async def test_a_bad_or_missing_state_is_refused_with_a_friendly_page_and_nothing_is_stored(
    slack: Workspaces, case: str
):
    state, cookie = await slack.start_install()
    code = slack.fake.install_code("T2", "Beta")
    if case == "reused":
        other = slack.fake.install_code("T2", "Beta")
        assert (await slack.get(REDIRECT_PATH, {"code": other, "state": state}, cookie)).status == 200
        await slack.oauth.installations.async_delete_all(enterprise_id=None, team_id="T2")
        slack.fake.calls.clear()
    params = {"code": code, "state": state}
    if case == "forged":
        params["state"], cookie = "forged-state", f"{STATE_COOKIE}=forged-state"
    elif case == "missing":
        del params["state"]
    elif case == "other-browser":
        cookie = ""
    page = await slack.get(REDIRECT_PATH, params, cookie)

    assert 400 <= page.status < 500
    assert "Tend was not installed" in page.body and f'href="{INSTALL_PATH}"' in page.body
    assert "Traceback" not in page.body
    assert slack.fake.of("oauth.v2.access") == []
    assert await slack.installation("T2") is None


# --- many workspaces ----------------------------------------------------------------------------------


async def test_each_workspace_works_with_its_own_token_and_sees_only_its_own_rituals(slack: Workspaces):
    token_a = await slack.install("T1", "Acme")
    token_b = await slack.install("T2", "Beta")
    assert token_a != token_b
    installed = len(slack.fake.calls)

    added = await slack.command("T2", "ritual add shoutout-prompt here daily 10:30 utc", channel="CB")
    assert "ritual" in json.dumps(added.args).lower()
    [ritual_b] = await rituals_of(slack.database, "T2")
    assert not slack.fake.of("auth.test")[2:]  # authorized from the store: auth.test only at each install
    await slack.command("T2", "/kudos <@U2|bo> thanks for the migration", channel="CB")
    [public] = await slack.fake.wait_for(posts_in("CB", "the migration"))
    assert public.token == token_b
    assert not sent_with(token_a, slack.fake.calls[installed:])  # A's token only ever served A

    await slack.command("T1", "ritual add opener here mon 09:25 utc", channel="CA")
    listed = await slack.command("T1", "ritual list", channel="CA")
    assert "CA" in json.dumps(listed.args) and "CB" not in json.dumps(listed.args)
    refused = await slack.command("T1", f"ritual remove {ritual_b.id}", channel="CA")
    assert f"no ritual #{ritual_b.id}" in json.dumps(refused.args)
    assert [r.id for r in await rituals_of(slack.database, "T2")] == [ritual_b.id]
    assert_valid_sent(slack.fake.calls)


@pytest.mark.parametrize("removal", ["app_uninstalled", "tokens_revoked"])
async def test_a_workspace_that_removes_tend_is_forgotten_and_its_rituals_stop(
    slack: Workspaces, removal: str
):
    token_a = await slack.install("T1", "Acme")
    token_b = await slack.install("T2", "Beta")
    await slack.command("T1", "ritual add shoutout-prompt here daily 10:30 utc", channel="CA")
    await slack.command("T2", "ritual add shoutout-prompt here daily 10:30 utc", channel="CB")

    event: dict[str, Any] = {"type": removal, "event_ts": "1700000000.1"}
    if removal == "tokens_revoked":
        event["tokens"] = {"oauth": [], "bot": ["UBOTT2"]}
    slack.fake.revoked.add(token_b)
    await slack.event("T2", event, "Ev1")

    assert await slack.installation("T2") is None
    assert not (await workspace(slack.database, "T2")).active
    assert (await workspace(slack.database, "T1")).active
    await slack.fire_due("10:30")
    assert [c.token for c in posts_in("CA")(slack.fake.calls)] == [token_a]  # A's ritual still fires
    assert posts_in("CB")(slack.fake.calls) == []  # B's is due too, and sends nothing
    await slack.event("T2", event, "Ev1")  # Slack's retry of the same event changes nothing
    assert not (await workspace(slack.database, "T2")).active


async def test_a_workspace_that_installs_tend_again_gets_its_rituals_back(slack: Workspaces):
    await slack.install("T2", "Beta")
    await slack.command("T2", "ritual add shoutout-prompt here daily 10:30 utc", channel="CB")
    await slack.event("T2", {"type": "app_uninstalled", "event_ts": "1700000000.1"}, "Ev1")
    await slack.fire_due("10:30")
    assert posts_in("CB")(slack.fake.calls) == []  # removed: nothing goes out

    token = await slack.install("T2", "Beta")  # someone adds Tend again the same day
    assert (await workspace(slack.database, "T2")).active
    slack.clock.advance(timedelta(days=1))
    await slack.scheduler.tick()
    await slack.engine.delivery.deliver_due(limit=100)
    assert [c.token for c in posts_in("CB")(slack.fake.calls)] == [token]  # the next prompt, new token


async def test_only_the_bots_own_revocation_removes_the_workspace(slack: Workspaces):
    await slack.install("T2", "Beta")
    await slack.event("T2", {"type": "tokens_revoked", "tokens": {"oauth": ["U7"], "bot": []}}, "Ev2")
    assert await slack.installation("T2") is not None
    answer = await slack.command("T2", "ritual list", channel="CB")
    assert "No rituals yet" in json.dumps(answer.args)


async def test_a_command_from_a_workspace_without_an_installation_changes_nothing(slack: Workspaces):
    await slack.install("T1", "Acme")
    answer = await slack.command("T9", "ritual add opener here mon 09:25 utc", channel="CX")
    assert "reinstall" in json.dumps(answer.args).lower()  # Bolt's own explanation, via the response URL
    async with slack.database.session() as session:
        assert (await session.exec(select(Workspace).where(Workspace.external_id == "T9"))).first() is None
    assert slack.fake.of("chat.postMessage") == []


async def test_outbound_clients_find_each_workspace_and_refuse_unknown_ones(slack: Workspaces):
    token = await slack.install("T2", "Beta")
    grid = Installation(
        app_id="A1", enterprise_id="E1", team_id="T5", user_id="U1", bot_token="xoxb-T5-grid", bot_id="B5"
    )
    await slack.oauth.installations.async_save(grid)  # a workspace inside an Enterprise Grid org

    assert (await slack.sender.client_for("T2")).token == token
    assert (await slack.sender.client_for("T5")).token == "xoxb-T5-grid"
    with pytest.raises(SendError) as refused:
        await slack.sender.client_for("T404")
    assert refused.value.permanent  # the outbox parks it instead of retrying for ever


# --- token rotation -----------------------------------------------------------------------------------


async def test_an_expiring_token_is_refreshed_once_before_a_scheduled_send(slack: Workspaces):
    first = await slack.install("T3", "Gamma", rotating=True, expires_in=3600)
    assert first.startswith("xoxe.xoxb-")
    await slack.command("T3", "ritual add shoutout-prompt here daily 10:30 utc", channel="CG")
    assert slack.refreshes() == []  # an hour left: inbound requests do not refresh yet

    await slack.expire_soon("T3")
    await slack.fire_due("10:30")
    [refresh] = slack.refreshes()
    assert refresh.args["refresh_token"].startswith("xoxe-1-T3-")
    second = slack.fake.issued_for("T3")[-1]
    [post] = posts_in("CG")(slack.fake.calls)
    assert post.token == second != first
    assert (await slack.installation("T3")).bot_token == second  # saved for every replica

    await slack.expire_soon("T3")
    card = Card("Hello", (Text("two at once"),))
    await asyncio.gather(slack.sender.post("T3", "CG", card), slack.sender.direct("T3", "U1", card))
    assert len(slack.refreshes()) == 2  # one more refresh, not one per send
    third = slack.fake.issued_for("T3")[-1]
    assert {c.token for c in posts_in("CG", "two at once")(slack.fake.calls)} == {third}
    assert {c.token for c in posts_in("DU1", "two at once")(slack.fake.calls)} == {third}


async def test_an_inbound_request_refreshes_an_expiring_token_under_the_same_lock(slack: Workspaces):
    await slack.install("T3", "Gamma", rotating=True, expires_in=120)
    answer = await slack.command("T3", "ritual list", channel="CG")
    assert "No rituals yet" in json.dumps(answer.args)
    [_] = slack.refreshes()
    fresh = slack.fake.issued_for("T3")[-1]
    assert (await slack.installation("T3")).bot_token == fresh
    assert len(slack.fake.of("auth.test")) == 1  # the install's: the request itself asked Slack nothing


async def test_two_replicas_refresh_a_team_once(slack: Workspaces, database: Database):
    if database.is_sqlite:
        pytest.skip("replicas share PostgreSQL; SQLite serves one process (the asyncio lock covers it)")
    await slack.install("T3", "Gamma", rotating=True, expires_in=3600)
    await slack.expire_soon("T3")
    other = await new_oauth(database, slack.fake)  # a second process: its own locks and stores
    try:
        clients = await asyncio.gather(slack.oauth.tokens.client("T3"), other.tokens.client("T3"))
    finally:
        await other.session.close()
    assert len(slack.refreshes()) == 1
    assert {client.token for client in clients} == {slack.fake.issued_for("T3")[-1]}


# --- the index chart, logs, storage --------------------------------------------------------------------


async def test_a_reply_with_a_chart_uploads_it_to_the_persons_dm(slack: Workspaces):
    token = await slack.install("T2", "Beta")
    for user in ("U1", "U2", "U3"):  # enough people for the organisation's figures to be shown
        await slack.command("T2", "help", user=user, channel="CB")
    await slack.command("T2", "index", user="U1", channel="CB")

    [complete] = await slack.fake.wait_for(lambda calls: slack.fake.of("files.completeUploadExternal"))
    [step1] = slack.fake.of("files.getUploadURLExternal")
    [step2] = slack.fake.of("upload")
    assert complete.args["channel_id"] == "DU1"  # the person's DM with Tend
    assert [f["id"] for f in complete.args["files"]] == [step2.args["file_id"]]
    assert slack.fake.uploads[step2.args["file_id"]].startswith(b"\x89PNG")
    assert int(step1.args["length"]) == step2.args["size"]
    assert {c.token for c in (step1, complete)} == {token}


async def test_no_token_or_secret_reaches_the_logs_through_install_rotation_and_use(
    slack: Workspaces, caplog: pytest.LogCaptureFixture
):
    for driver in QUIET_DRIVERS:  # as setup_logging holds them in production (they log SQL parameters)
        caplog.set_level(logging.WARNING, logger=driver)
    caplog.set_level(logging.DEBUG)  # last: it also sets the capturing handler's own level
    await slack.install("T3", "Gamma", rotating=True, expires_in=120)
    await slack.command("T3", "/kudos <@U2|bo> thanks for the careful review", channel="CG")
    await slack.fake.wait_for(posts_in("CG", "careful review"))
    slack.fake.fail_next_with("chat.postMessage", "invalid_auth")
    await slack.command("T3", "/kudos <@U2|bo> thanks again", channel="CG")
    await slack.event("T3", {"type": "app_uninstalled"}, "Ev3")

    secrets = [*slack.fake.tokens, *slack.fake.refresh_tokens, CLIENT_SECRET, "xoxe-1-T3-1"]
    assert slack.refreshes()  # the rotation really ran
    assert caplog.records  # and something was logged at all
    for record in caplog.records:
        logged = record.getMessage() + " " + " ".join(str(v) for v in record.__dict__.values())
        assert not [secret for secret in secrets if secret in logged], record.name


async def test_the_stores_tables_are_created_once_and_kept_out_of_alembics_drift_check(
    slack: Workspaces, database_url: str
):
    restarted = await new_oauth(slack.database, slack.fake)  # creating the tables again is a no-op
    await restarted.session.close()
    assert set(STORE_TABLES) == EXTERNAL_TABLES
    assert await on_connection(database_url, model_drift) == []


def test_the_install_asks_for_exactly_the_manifests_scopes_and_can_upload_files():
    scopes = yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"]
    assert manifest_scopes() == scopes
    assert "files:write" in scopes


async def test_without_a_signing_secret_requests_are_not_verified(database: Database):
    """Only for Socket Mode, where the app token authenticates the connection instead."""
    fake = FakeSlackApi()
    await fake.start()
    sender = sender_for("xoxb-single", fake.api_url)
    engine = Engine(database, fixed_clock("2025-03-03 10:00"), {"slack": sender})
    adapter = build_slack(engine, sender, signing_secret=None)
    app = create_http_app(database, Metrics())
    add_slack_route(app, adapter)
    runner = await run_http(app, "127.0.0.1", 0)
    form = {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "command": "/tend",
        "text": "ritual list",
        "trigger_id": "t.1",
        "response_url": fake.response_url("U1"),
    }
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{bound_port(runner)}{EVENTS_PATH}"
            async with http.post(url, data=form) as response:  # no signature headers at all
                assert response.status == 200
        await adapter.drain()
        [answer] = await fake.wait_for(lambda calls: [c for c in calls if c.method == "response"])
        assert "No rituals yet" in json.dumps(answer.args)
    finally:
        await runner.cleanup()
        await sender.close()
        await fake.stop()
