"""The Teams adapter end to end through botbuilder's real CloudAdapter, against local fake servers.

Nothing in botbuilder or MSAL is mocked. Inbound requests carry RS256 tokens minted by
``tests/fake_teams.py``'s identity server, whose OpenID metadata and JWKS botbuilder fetches and checks;
outbound calls get their bearer token from an HTTPS ADFS token server (self-signed certificate, trusted
through ``REQUESTS_CA_BUNDLE``) and land on the fake Bot Connector at the activity's ``serviceUrl``.
Every card Tend sends is validated against the Adaptive Card 1.5 schema.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from sqlmodel import select

from adapters.teams.adapter import (
    MESSAGES_PATH,
    TeamsAdapter,
    add_teams_route,
    build_teams,
    build_teams_sender,
)
from adapters.teams.auth import TeamsConfig
from adapters.teams.sender import TeamsSender
from bot.addresses import PERSON, PLACE, Addresses
from bot.clock import FixedClock
from bot.delivery import enqueue_intents
from bot.engine import Engine
from bot.logs import QUIET_DRIVERS
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.server import bound_port, create_http_app, run_http
from practices.messages import PostToPlace, text_card
from storage.db import Database
from storage.identity import find_workspace
from storage.models import ConversationRef, Member, Occurrence, OpenerAnswer, Outbox, StressReport
from tests.fake_teams import ConnectorCall, FakeConnector, IdentityServer, TokenServer, new_key
from tests.helpers import fixed_clock
from tests.test_app import free_port, start_tend

APP_ID = "5f1c2d3e-0000-4000-8000-00000000a11d"
PASSWORD = "test-app-password"
TENANT = "tenant-1"
BOT = {"id": f"28:{APP_ID}", "name": "Tend"}
ANA = {"id": "29:ana", "name": "Ana", "aadObjectId": "aad-ana"}
BO = {"id": "29:bo", "name": "Bo", "aadObjectId": "aad-bo"}
CHANNEL = "19:general@thread.tacv2"
SCHEMA = json.loads(
    (Path(__file__).resolve().parent / "reference" / "adaptive-card-1.5.schema.json").read_text()
)


def assert_valid_card(content: dict[str, Any]) -> None:
    jsonschema.Draft6Validator(SCHEMA).validate(content)
    assert content["type"] == "AdaptiveCard"


def assert_valid_sent(calls: list[ConnectorCall]) -> None:
    for call in calls:
        for attachment in call.attachments:
            assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
            assert_valid_card(attachment["content"])


@dataclass
class Teams:
    identity: IdentityServer
    tokens: TokenServer
    connector: FakeConnector
    adapter: TeamsAdapter
    sender: TeamsSender
    engine: Engine
    database: Database
    clock: FixedClock
    url: str
    http: aiohttp.ClientSession
    ids: int = 0

    def activity(
        self,
        text: str = "",
        *,
        user: dict[str, str] = ANA,
        conversation: str = CHANNEL,
        personal: bool = False,
        mentions: tuple[dict[str, str], ...] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        self.ids += 1
        conversation_id = conversation if not personal else f"a:personal-{user['id']}"
        if not personal:
            conversation_id += f";messageid={1700000000000 + self.ids}"
        entities = [{"type": "mention", "text": f"<at>{m['name']}</at>", "mentioned": m} for m in mentions]
        # Teams puts the sender's zone on what a person sends (never on conversationUpdate).
        zone = {"localTimezone": "UTC"} if extra.get("type", "message") == "message" else {}
        return {
            "type": "message",
            "id": str(1700000000000 + self.ids),
            "channelId": "msteams",
            "serviceUrl": self.connector.service_url,
            "from": user,
            "recipient": BOT,
            "conversation": {
                "id": conversation_id,
                "tenantId": TENANT,
                "conversationType": "personal" if personal else "channel",
                **({} if personal else {"isGroup": True}),
            },
            "channelData": {"tenant": {"id": TENANT}, **({} if personal else {"channel": {"id": CHANNEL}})},
            "text": text,
            "entities": entities,
            **zone,
            **extra,
        }

    async def post(
        self, activity: dict[str, Any], *, token: str | None = None, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        if headers is None:
            token = token or self.identity.token(APP_ID, activity["serviceUrl"])
            headers = {"Authorization": f"Bearer {token}"}
        async with self.http.post(self.url + MESSAGES_PATH, json=activity, headers=headers) as response:
            await response.read()
        # Teams answers an activity once the engine has handled it; what that queued is sent by the
        # delivery loop the engine wakes, which the fixture does not run: sent here, as it would be.
        await self.engine.delivery.deliver_due()
        return response

    async def say(self, text: str, **kwargs: Any) -> aiohttp.ClientResponse:
        response = await self.post(self.activity(text, **kwargs))
        assert response.status == 200, response.status
        return response


@pytest.fixture
async def teams(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Teams]:
    identity = IdentityServer()
    identity.start()
    tokens = TokenServer(tmp_path, APP_ID, PASSWORD)
    tokens.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tokens.cert_path))
    connector = FakeConnector()
    await connector.start()
    clock = fixed_clock("2025-03-03 10:00")  # a Monday, inside everyone's default working hours (UTC)
    config = TeamsConfig(
        app_id=APP_ID,
        password=PASSWORD,
        openid_metadata_url=identity.metadata_url,
        login_url=tokens.authority,
    )
    addresses = Addresses(database, clock, "teams")
    sender = build_teams_sender(config, addresses)
    engine = Engine(database, clock, {"teams": sender})
    adapter = build_teams(engine, sender, config, addresses)
    app = create_http_app(database, Metrics())
    add_teams_route(app, adapter)
    runner = await run_http(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{bound_port(runner)}"
            yield Teams(identity, tokens, connector, adapter, sender, engine, database, clock, url, http)
            await adapter.drain()
    finally:
        await runner.cleanup()
        await connector.stop()
        tokens.stop()
        identity.stop()


def sends_to(conversation: str, text: str = "") -> Any:
    def found(calls: list[ConnectorCall]) -> list[ConnectorCall]:
        return [
            c
            for c in calls
            if c.kind in ("send", "reply")
            and c.status < 300
            and c.conversation_id == conversation
            and text in json.dumps(c.body)
        ]

    return found


async def rows(database: Database, model: type) -> list[Any]:
    async with database.session() as session:
        return list((await session.exec(select(model))).all())


async def member(database: Database, user_id: str) -> Member:
    [found] = [m for m in await rows(database, Member) if m.platform_user_id == user_id]
    return found


KUDOS = "<at>Tend</at> kudos <at>Bo</at> thanks for the careful review"
# Bo writes to Tend in the channel: his activity carries his time zone, so private notes can go to him.
BO_WRITES = "<at>Tend</at> tend help"


# --- end to end --------------------------------------------------------------------------------------


async def test_kudos_in_a_channel_is_posted_there_and_the_receiver_gets_a_private_message(teams: Teams):
    await teams.say(KUDOS, mentions=(BOT, BO))
    await teams.say(BO_WRITES, user=BO, mentions=(BOT,))

    [public] = await teams.connector.wait_for(sends_to(CHANNEL, "careful review"))
    [created] = [c for c in teams.connector.of("create") if c.body["members"] == [{"id": BO["id"]}]]
    assert created.body["channelData"]["tenant"]["id"] == TENANT
    [private] = await teams.connector.wait_for(sends_to(f"a:personal-{BO['id']}", "careful review"))
    assert "Bo" in json.dumps(public.body)
    # Every outbound call carried a token the HTTPS token server issued to this bot (MSAL, real flow).
    issued = {f"Bearer {token}" for token in teams.tokens.issued}
    assert issued and all(call.authorization in issued for call in teams.connector.calls)
    assert_valid_sent(teams.connector.calls)
    # Ana's private "sent" note went to her own 1:1 chat, not the channel: Teams has no ephemeral messages.
    assert [c for c in teams.connector.of("create") if c.body["members"] == [{"id": ANA["id"]}]]
    assert private.attachments


async def test_the_personal_chat_is_created_once_and_then_continued_from_its_reference(teams: Teams):
    await teams.say(KUDOS, mentions=(BOT, BO))
    await teams.say(BO_WRITES, user=BO, mentions=(BOT,))
    await teams.connector.wait_for(sends_to(f"a:personal-{BO['id']}", "careful review"))
    teams.clock.advance(timedelta(seconds=1))  # past the per-conversation pacing
    await teams.say("<at>Tend</at> kudos <at>Bo</at> and for the demo", mentions=(BOT, BO))
    await teams.connector.wait_for(sends_to(f"a:personal-{BO['id']}", "for the demo"))
    assert len([c for c in teams.connector.of("create") if c.body["members"] == [{"id": BO["id"]}]]) == 1
    refs = await rows(teams.database, ConversationRef)
    assert {(r.kind, r.key) for r in refs} >= {(PLACE, CHANNEL), (PERSON, BO["id"]), (PERSON, ANA["id"])}


# --- authentication -------------------------------------------------------------------------------------


def _bad_tokens(teams: Teams, service_url: str) -> dict[str, dict[str, str]]:
    bearer = "Bearer {}".format
    return {
        "missing header": {},
        "not bearer": {"Authorization": "Basic abc"},
        "garbage": {"Authorization": bearer("not-a-jwt")},
        "expired": {"Authorization": bearer(teams.identity.token(APP_ID, service_url, expires_in=-3600))},
        "unknown kid": {"Authorization": bearer(teams.identity.token(APP_ID, service_url, kid="other"))},
        "wrong key": {"Authorization": bearer(teams.identity.token(APP_ID, service_url, key=new_key()))},
        "wrong audience": {"Authorization": bearer(teams.identity.token(str(uuid.uuid4()), service_url))},
        "wrong issuer": {
            "Authorization": bearer(teams.identity.token(APP_ID, service_url, issuer="https://evil.example"))
        },
        "wrong serviceurl": {"Authorization": bearer(teams.identity.token(APP_ID, "https://evil.example/"))},
    }


async def test_requests_not_proven_to_come_from_the_bot_framework_get_401_and_change_nothing(teams: Teams):
    activity = teams.activity(KUDOS, mentions=(BOT, BO))
    for case, headers in _bad_tokens(teams, activity["serviceUrl"]).items():
        response = await teams.post(activity, headers=headers)
        assert response.status == 401, case
    assert teams.connector.calls == []
    assert await rows(teams.database, ConversationRef) == []
    assert await rows(teams.database, Member) == []
    assert await rows(teams.database, Outbox) == []
    # The same activity, properly signed, is then accepted (so the refusals above were about the token).
    assert (await teams.post(activity)).status == 200
    await teams.connector.wait_for(sends_to(CHANNEL, "careful review"))


async def test_without_an_app_id_teams_refuses_everything_unless_dev_insecure(
    teams: Teams, database: Database
):
    for insecure, expected in ((False, 401), (True, 200)):
        config = TeamsConfig(app_id=None, insecure=insecure)
        addresses = Addresses(database, teams.clock, "teams")
        sender = build_teams_sender(config, addresses)
        engine = Engine(database, teams.clock, {"teams": sender})
        adapter = build_teams(engine, sender, config, addresses)
        app = create_http_app(database, Metrics())
        add_teams_route(app, adapter)
        runner = await run_http(app, "127.0.0.1", 0)
        try:
            url = f"http://127.0.0.1:{bound_port(runner)}{MESSAGES_PATH}"
            async with teams.http.post(url, json=teams.activity("tend help", personal=True)) as response:
                assert response.status == expected
        finally:
            await runner.cleanup()
    # Unauthenticated local use still answers, without a token (none can be had without an app id).
    [answer] = await teams.connector.wait_for(sends_to(f"a:personal-{ANA['id']}"))
    assert answer.authorization == ""


# --- rituals: a card posted on schedule, taps update it in place ---------------------------------------

PEOPLE = [{"id": f"29:p{n}", "name": f"P{n}", "aadObjectId": f"aad-p{n}"} for n in range(1, 7)]


def submit_data(call: ConnectorCall, action: str) -> list[dict[str, Any]]:
    """The Action.Submit data of every button for ``action`` on the card a call carried."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            ours = data.get("tend", {}) if isinstance(data, dict) else {}
            if node.get("type") == "Action.Submit" and ours.get("action") == action:
                found.append(data)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(call.attachments)
    return found


def has_fact_set(call: ConnectorCall) -> bool:
    return '"FactSet"' in json.dumps(call.attachments)


async def installed_by(teams: Teams, user: dict[str, str] = ANA) -> None:
    """``user`` adds Tend to the channel's team: the tenant's first install, so they become its admin
    (tests/test_admins.py has the rules)."""
    added = teams.activity(type="conversationUpdate", membersAdded=[BOT], user=user)
    assert (await teams.post(added)).status == 200
    await teams.adapter.drain()  # the installer is met with the roster, after the response


async def test_an_opener_tap_updates_only_its_count_and_the_close_shows_the_totals(teams: Teams):
    teams.clock.set(teams.clock.now().replace(hour=7, minute=0))
    await installed_by(teams)
    await teams.say("<at>Tend</at> tend ritual add opener here mon,wed 09:25 Europe/Berlin", mentions=(BOT,))
    [added] = await teams.connector.wait_for(sends_to(f"a:personal-{ANA['id']}", "Added"))
    scheduler = Scheduler(teams.database, teams.clock, min_group_size=5, senders=teams.engine.senders)
    teams.clock.advance(timedelta(hours=1, minutes=30))  # 08:30 UTC = 09:30 in Berlin
    await scheduler.tick()
    await teams.engine.delivery.deliver_due()
    [card] = await teams.connector.wait_for(sends_to(CHANNEL, "Action.Submit"))
    [posted] = [o for o in await rows(teams.database, Outbox) if o.platform_message_id]
    posted_id = posted.platform_message_id
    assert posted_id and posted_id.startswith("activity-")
    answers = submit_data(card, "opener.answer")
    assert len(answers) >= 3

    for index, person in enumerate(PEOPLE[:5], 1):
        tap = teams.activity(user=person, value=answers[0], replyToId=posted_id)
        assert (await teams.post(tap)).status == 200
        updates = await teams.connector.wait_for(
            lambda calls, n=index: len(teams.connector.of("update")) >= n
        )
        assert updates
        [update] = teams.connector.of("update")[index - 1 : index]
        assert update.conversation_id == CHANNEL and update.activity_id == posted_id
        # While open only the count changes: whoever watches a tap must not learn what was chosen.
        assert not has_fact_set(update), index
    assert len(await rows(teams.database, OpenerAnswer)) == 5
    teams.clock.advance(timedelta(hours=12))  # the check-in closes: one update with the totals
    await scheduler.tick()
    [closing] = teams.connector.of("update")[5:]
    assert closing.activity_id == posted_id and has_fact_set(closing)
    assert await rows(teams.database, OpenerAnswer) == []
    assert len(await rows(teams.database, Occurrence)) == 1
    assert_valid_sent(teams.connector.calls)
    assert added.attachments


async def test_an_adaptive_card_action_invoke_gets_a_200_invoke_response(teams: Teams):
    await teams.say("hello", personal=True)  # Tend learns the chat
    invoke = teams.activity(
        personal=True,
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "data": {"tend": {"kind": "click", "action": "nope"}}}},
    )
    headers = {"Authorization": f"Bearer {teams.identity.token(APP_ID, invoke['serviceUrl'])}"}
    async with teams.http.post(teams.url + MESSAGES_PATH, json=invoke, headers=headers) as response:
        assert response.status == 200
        body = await response.json()
    assert body["statusCode"] == 200 and body["value"]


# --- forms: stress reports ------------------------------------------------------------------------------


async def test_tend_stress_opens_a_form_in_the_personal_chat_and_the_report_is_stored_anonymously(
    teams: Teams, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    await teams.say("<at>Tend</at> tend stress", mentions=(BOT,))
    personal = f"a:personal-{ANA['id']}"
    [form] = await teams.connector.wait_for(sends_to(personal, "Input.ChoiceSet"))
    assert not sends_to(CHANNEL)(teams.connector.calls)  # nothing about it in the channel
    assert_valid_sent([form])
    [submit] = [
        node
        for node in form.attachments[0]["content"]["actions"]
        if node["type"] == "Action.Submit" and node["data"]["tend"]["kind"] == "form"
    ]
    values = {"intensity": "3", "category": "workload", "support": "count", "words": "too much at once"}
    activity = teams.activity(personal=True, value={**submit["data"], **values})
    assert (await teams.post(activity)).status == 200

    [report] = await rows(teams.database, StressReport)
    assert (report.intensity, report.category, report.text) == (3, "workload", "too much at once")
    stored = json.dumps(report.model_dump(), default=str)
    for identifier in (ANA["id"], ANA["aadObjectId"], ANA["name"], activity["id"]):
        assert identifier not in stored
    ours = [r for r in caplog.records if not r.name.startswith(QUIET_DRIVERS)]  # drivers: held at WARNING
    logged = "\n".join(record.getMessage() + json.dumps(record.__dict__, default=str) for record in ours)
    assert ANA["id"] not in logged and "too much at once" not in logged  # nor in the logs


# --- unreachable people ---------------------------------------------------------------------------------


async def test_a_person_who_blocked_tend_is_not_messaged_again_until_they_write_to_tend(teams: Teams):
    bo_chat = f"a:personal-{BO['id']}"
    await teams.say("hello", user=BO, personal=True)  # Bo's 1:1 chat is known
    teams.connector.block_writes(bo_chat)
    await teams.say(KUDOS, mentions=(BOT, BO))
    await teams.connector.wait_for(lambda calls: [c for c in calls if c.status == 403])
    bo = await member(teams.database, BO["id"])
    assert bo.unreachable
    [row] = [
        o
        for o in await rows(teams.database, Outbox)
        if o.target_kind == "person" and o.target_id == str(bo.id)
    ]
    assert row.state == "parked"  # not retried
    attempts = len([c for c in teams.connector.calls if c.conversation_id == bo_chat])

    teams.clock.advance(timedelta(minutes=1))
    await teams.say("<at>Tend</at> kudos <at>Bo</at> for the second time", mentions=(BOT, BO))
    await teams.connector.wait_for(sends_to(CHANNEL, "second time"))
    await teams.engine.delivery.deliver_due()
    assert len([c for c in teams.connector.calls if c.conversation_id == bo_chat]) == attempts  # not tried
    assert all(o.state != "pending" for o in await rows(teams.database, Outbox))

    await teams.say("I am back", user=BO, personal=True)
    assert not (await member(teams.database, BO["id"])).unreachable
    teams.clock.advance(timedelta(minutes=1))
    await teams.say("<at>Tend</at> kudos <at>Bo</at> for coming back", mentions=(BOT, BO))
    await teams.connector.wait_for(sends_to(bo_chat, "coming back"))


# --- failures reach the outbox as Tend's errors ---------------------------------------------------------


async def test_429_waits_for_retry_after_and_5xx_is_retried_and_other_4xx_is_parked(teams: Teams):
    await teams.say("hello", personal=True)  # the channel and Ana's chat are not known until used
    await teams.say("<at>Tend</at> tend help", mentions=(BOT,))
    teams.connector.fail_next("send", 429, retry_after=7, conversation=CHANNEL)
    async with teams.database.session() as session:
        workspace = await find_workspace(session, "teams", TENANT)
        assert workspace is not None
        intents = [PostToPlace(CHANNEL, text_card("rate limited first"), key="t:1")]
        await enqueue_intents(session, workspace, intents, teams.clock.now(), "t")
    assert await teams.engine.delivery.deliver_due() == []
    [row] = [o for o in await rows(teams.database, Outbox) if o.idempotency_key == "t:1"]
    assert row.state == "pending" and row.next_attempt_at == teams.clock.now() + timedelta(seconds=7)
    teams.clock.advance(timedelta(seconds=7))
    assert len(await teams.engine.delivery.deliver_due()) == 1
    await teams.connector.wait_for(sends_to(CHANNEL, "rate limited first"))

    teams.connector.fail_next("send", 503, conversation=CHANNEL)
    teams.connector.fail_next("send", 403, code="Forbidden", conversation=CHANNEL)
    async with teams.database.session() as session:
        workspace = await find_workspace(session, "teams", TENANT)
        assert workspace is not None
        intents = [PostToPlace(CHANNEL, text_card("server error first"), key="t:2")]
        await enqueue_intents(session, workspace, intents, teams.clock.now(), "t")
    teams.clock.advance(timedelta(seconds=1))
    assert await teams.engine.delivery.deliver_due() == []
    [row] = [o for o in await rows(teams.database, Outbox) if o.idempotency_key == "t:2"]
    assert row.state == "pending" and row.attempts == 1  # 503: tried again later
    teams.clock.advance(timedelta(minutes=1))
    assert await teams.engine.delivery.deliver_due() == []
    [row] = [o for o in await rows(teams.database, Outbox) if o.idempotency_key == "t:2"]
    assert row.state == "parked"  # a 403 that is not MessageWritesBlocked cannot be helped by retrying
    assert not (await member(teams.database, ANA["id"])).unreachable


# --- roster and time zones ------------------------------------------------------------------------------


async def test_the_roster_is_read_in_pages_of_at_most_500_following_the_continuation_token(teams: Teams):
    await teams.say("<at>Tend</at> tend help", mentions=(BOT,))  # Tend learns the channel
    team_id = "19:team@thread.tacv2"
    people = [{"id": f"29:m{n}", "name": f"M{n}", "aadObjectId": f"aad-m{n}"} for n in range(1203)]
    teams.connector.rosters[team_id] = people

    roster = await teams.sender.roster(TENANT, CHANNEL, team_id)

    assert [account.id for account in roster] == [person["id"] for person in people]
    assert roster[0].aad_object_id == "aad-m0" and roster[-1].name == "M1202"
    pages = teams.connector.of("members")
    assert len(pages) == 3 and all(int(page.query["pageSize"]) <= 500 for page in pages)
    assert "continuationToken" not in pages[0].query and pages[1].query["continuationToken"] == "500"
    issued = {f"Bearer {token}" for token in teams.tokens.issued}
    assert all(page.authorization in issued for page in pages)


async def test_the_time_zone_a_person_sends_becomes_their_time_zone(teams: Teams):
    await teams.say("hello", user=BO, personal=True, localTimezone="Europe/Berlin")
    assert (await member(teams.database, BO["id"])).time_zone == "Europe/Berlin"
    await teams.say("hello", user=BO, personal=True, localTimezone="Not/AZone")
    assert (await member(teams.database, BO["id"])).time_zone == "Europe/Berlin"  # nonsense is ignored


# --- app.py wiring --------------------------------------------------------------------------------------


async def test_python_app_serve_wires_teams_from_the_microsoft_settings(tmp_path: Path):
    """A real ``python app.py serve``: 401 unsigned, and a signed message answered via the token server."""
    identity = IdentityServer()
    identity.start()
    tokens = TokenServer(tmp_path, APP_ID, PASSWORD)
    tokens.start()
    connector = FakeConnector()
    await connector.start()
    port = free_port()
    process = await start_tend(
        tmp_path,
        port,
        "serve",
        MICROSOFT_APP_ID=APP_ID,
        MICROSOFT_APP_PASSWORD=PASSWORD,
        TEAMS_OPENID_METADATA_URL=identity.metadata_url,
        TEAMS_LOGIN_URL=tokens.authority,
        REQUESTS_CA_BUNDLE=str(tokens.cert_path),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    async with http.get(url + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)  # polling a starting process: the only way to know it listens
            activity = {
                "type": "message",
                "id": "1",
                "channelId": "msteams",
                "serviceUrl": connector.service_url,
                "from": ANA,
                "recipient": BOT,
                "conversation": {
                    "id": "a:personal-29:ana",
                    "conversationType": "personal",
                    "tenantId": TENANT,
                },
                "channelData": {"tenant": {"id": TENANT}},
                "text": "tend help",
            }
            async with http.post(url + MESSAGES_PATH, json=activity) as response:
                assert response.status == 401
            token = identity.token(APP_ID, connector.service_url)
            headers = {"Authorization": f"Bearer {token}"}
            async with http.post(url + MESSAGES_PATH, json=activity, headers=headers) as response:
                assert response.status == 200
        [answer] = await connector.wait_for(lambda calls: [c for c in calls if c.kind in ("send", "reply")])
        assert answer.authorization == f"Bearer {tokens.issued[0]}"
    finally:
        process.terminate()
        await process.wait()
        await connector.stop()
        tokens.stop()
        identity.stop()


async def test_after_microsoft_rotates_its_signing_key_the_new_key_is_fetched_and_accepted(teams: Teams):
    await teams.say("hello", personal=True)
    teams.identity.rotate()
    await teams.say("hello again", personal=True)  # signed with a key id botbuilder had not cached
    teams.identity.rotate()
    bad = teams.activity("and again", personal=True)
    token = teams.identity.token(APP_ID, bad["serviceUrl"])
    assert (await teams.post(bad, token=token)).status == 401  # keys are refetched at most hourly


async def test_one_outbound_token_serves_many_messages(teams: Teams):
    await teams.say(KUDOS, mentions=(BOT, BO))
    await teams.say(BO_WRITES, user=BO, mentions=(BOT,))
    await teams.connector.wait_for(sends_to(f"a:personal-{BO['id']}", "careful review"))
    teams.clock.advance(timedelta(seconds=1))
    await teams.say("<at>Tend</at> kudos <at>Bo</at> and for the demo", mentions=(BOT, BO))
    await teams.connector.wait_for(sends_to(f"a:personal-{BO['id']}", "for the demo"))
    assert len(teams.connector.calls) >= 6
    assert len(teams.tokens.issued) == 1  # MSAL's cache is kept between messages


async def test_when_tend_is_added_to_a_team_everyone_on_its_roster_becomes_a_member(teams: Teams):
    team_id = "19:team@thread.tacv2"
    people = [{"id": f"29:m{n}", "name": f"M{n}", "aadObjectId": f"aad-m{n}"} for n in range(12)]
    teams.connector.rosters[team_id] = [*people, {"id": BOT["id"], "name": "Tend"}]
    added = teams.activity(type="conversationUpdate", membersAdded=[BOT])
    added["channelData"]["team"] = {"id": team_id, "name": "Team"}
    assert (await teams.post(added)).status == 200
    await teams.adapter.drain()  # the roster is read after the response

    members = {m.platform_user_id: m for m in await rows(teams.database, Member)}
    # Whoever added Tend (Ana, the activity's sender) and everyone on the roster; Tend itself is not a member.
    assert set(members) == {ANA["id"], *(p["id"] for p in people)}
    assert members["29:m7"].display_name == "M7"
    [page] = teams.connector.of("members")
    assert page.conversation_id == team_id


async def test_a_form_with_bad_values_is_answered_with_the_problems_as_a_text_reply(teams: Teams):
    values = {"days": "funday", "start": "25:00", "end": "17:00", "time_zone": "Europe/Berlin"}
    data = {"tend": {"kind": "form", "form_id": "prefs.hoursform", "state": ""}, **values}
    await teams.say("", personal=True, value=data)
    [reply] = await teams.connector.wait_for(sends_to(f"a:personal-{ANA['id']}", "funday"))
    assert "25:00" in reply.body["text"] and not reply.attachments
    assert (await member(teams.database, ANA["id"])).work_start == "09:00"  # nothing stored


async def test_forget_me_also_forgets_the_stored_reference_of_the_persons_chat(teams: Teams):
    await teams.say("hello", personal=True)  # Ana has a personal chat with Tend too
    await teams.say("tend forget-me", user=BO, personal=True)
    [ask] = await teams.connector.wait_for(sends_to(f"a:personal-{BO['id']}", "forget.confirm"))
    [confirm] = submit_data(ask, "forget.confirm")
    assert (PERSON, BO["id"]) in {(r.kind, r.key) for r in await rows(teams.database, ConversationRef)}
    await teams.say("", user=BO, personal=True, value=confirm)
    await teams.connector.wait_for(sends_to(f"a:personal-{BO['id']}", "You are forgotten"))
    keys = {(r.kind, r.key) for r in await rows(teams.database, ConversationRef)}
    assert (PERSON, BO["id"]) not in keys and (PERSON, ANA["id"]) in keys
    assert BO["id"] not in json.dumps([r.reference for r in await rows(teams.database, ConversationRef)])


# --- recorded Teams activities, replayed through the real endpoint --------------------------------------

RECORDINGS = Path(__file__).resolve().parent / "reference"  # copies of ../shared/reference


def recorded(teams: Teams, name: str) -> dict[str, Any]:
    """A real Teams activity as recorded (``.body``), its ``serviceUrl`` pointed at the fake connector.

    The token ``teams.post`` mints names that service URL, so replies go where the test can see them;
    every other field is kept exactly as Teams sent it (other tenant, other bot id, ids with ``f:``).
    """
    activity: dict[str, Any] = json.loads((RECORDINGS / f"teams-activity-{name}.json").read_text())["body"]
    activity["serviceUrl"] = teams.connector.service_url
    return activity


def replies_to(activity: dict[str, Any]) -> Any:
    conversation = activity["conversation"]["id"]
    sent = ("send", "reply")
    return lambda calls: [c for c in calls if c.kind in sent and c.conversation_id == conversation]


async def test_a_recorded_channel_mention_is_answered_privately_in_the_senders_own_chat(teams: Teams):
    activity = recorded(teams, "message-mention-channel")  # "<at>My Combined</at>1\n": Tend, then "1"
    dave, tenant = activity["from"]["id"], activity["channelData"]["tenant"]["id"]
    assert (await teams.post(activity)).status == 200
    # "1" is no command: the friendly usage answer is private, and Teams has no ephemeral messages,
    # so it goes to a 1:1 chat created in the recorded tenant, with the recorded bot's identity.
    [answer] = await teams.connector.wait_for(sends_to(f"a:personal-{dave}", "I don't know"))
    assert "My Combined" not in json.dumps(answer.body)  # Tend's own mention was stripped
    assert answer.body["from"]["id"] == activity["recipient"]["id"]
    [created] = teams.connector.of("create")
    assert created.body["members"] == [{"id": dave}] and created.body["channelData"]["tenant"]["id"] == tenant
    assert not replies_to(activity)(teams.connector.calls)  # nothing said in the channel
    assert_valid_sent(teams.connector.calls)
    refs = {(r.kind, r.key) for r in await rows(teams.database, ConversationRef)}
    assert (PLACE, "19:097e6717fd7245bdbeba6baa13840db8@thread.skype") in refs  # the channel, not the thread
    assert (PERSON, dave) in refs
    [person] = await rows(teams.database, Member)
    assert (person.platform_user_id, person.display_name) == (dave, "Dave Taniguchi")


async def test_a_recorded_personal_message_is_answered_in_the_personal_chat(teams: Teams):
    activity = recorded(teams, "message-personal")  # "file": not a command
    assert (await teams.post(activity)).status == 200
    [answer] = await teams.connector.wait_for(replies_to(activity))
    assert "tend help" in json.dumps(answer.body)
    refs = {(r.kind, r.key) for r in await rows(teams.database, ConversationRef)}
    assert (PERSON, activity["from"]["id"]) in refs  # Tend can now write to Tien later


async def test_a_recorded_action_submit_is_handled_when_it_carries_tends_card_data(teams: Teams):
    foreign = recorded(teams, "message-actionsubmit-value")  # a card Tend did not make: ignored
    assert (await teams.post(foreign)).status == 200
    assert teams.connector.calls == [] and await rows(teams.database, Outbox) == []

    # The same recorded envelope, its value now the data of Tend's own working-hours form.
    mine = recorded(teams, "message-actionsubmit-value")
    mine["id"] = "f:6208521873967276742"
    values = {"days": "mon,tue,wed,thu", "start": "08:00", "end": "16:00", "time_zone": "Europe/Berlin"}
    mine["value"] = {"tend": {"kind": "form", "form_id": "prefs.hoursform", "state": ""}, **values}
    assert (await teams.post(mine)).status == 200
    dave = await member(teams.database, mine["from"]["id"])
    assert (dave.work_days, dave.work_start, dave.work_end) == ("mon,tue,wed,thu", "08:00", "16:00")
    assert dave.time_zone == "Europe/Berlin"


@pytest.mark.parametrize(
    "name", ["conversationupdate-teammemberadded", "conversationupdate-membersadded-groupchat"]
)
async def test_a_recorded_member_added_makes_the_person_a_member(teams: Teams, name: str):
    activity = recorded(teams, name)
    assert (await teams.post(activity)).status == 200
    await teams.adapter.drain()
    [added] = activity["membersAdded"]
    [person] = await rows(teams.database, Member)
    assert person.platform_user_id == added["id"]
    async with teams.database.session() as session:
        workspace = await find_workspace(session, "teams", activity["channelData"]["tenant"]["id"])
    assert workspace is not None and person.workspace_id == workspace.id
    assert teams.connector.of("members") == []  # a person joined, not Tend: no roster read


async def test_a_recorded_nameless_legacy_invoke_is_answered_without_error_and_changes_nothing(teams: Teams):
    activity = recorded(teams, "invoke-actionsubmit-msteams-invoke")
    headers = {"Authorization": f"Bearer {teams.identity.token(APP_ID, activity['serviceUrl'])}"}
    async with teams.http.post(teams.url + MESSAGES_PATH, json=activity, headers=headers) as response:
        assert response.status == 200
        assert (await response.json())["statusCode"] == 200  # an invoke always gets its invoke response
    await teams.adapter.drain()
    assert teams.connector.calls == []  # not one of Tend's cards: nothing said, nothing changed
    assert await rows(teams.database, Member) == []
    assert await rows(teams.database, Outbox) == []
    refs = {(r.kind, r.key) for r in await rows(teams.database, ConversationRef)}
    assert refs == {(PLACE, "19:097e6717fd7245bdbeba6baa13840db8@thread.skype")}  # where it came from


# --- 1:1 nudges reach a manager Tend has only seen in a team --------------------------------------------

CY = {"id": "29:cy", "name": "Cy", "aadObjectId": "aad-cy"}


async def test_a_1on1_nudge_to_a_manager_only_seen_in_a_team_waits_until_he_writes_then_goes_in_a_new_chat(
    teams: Teams,
):
    teams.clock.set(teams.clock.now().replace(hour=7))  # Mon 07:00 UTC, before everyone's hours
    await installed_by(teams)
    await teams.say("<at>Tend</at> tend help", mentions=(BOT,))  # Teams tells Tend Ana's zone
    joined = teams.activity(type="conversationUpdate", membersAdded=[BO])  # Bo joins the team: that's all
    joined["channelData"].update({"team": {"id": CHANNEL, "name": "Team"}, "eventType": "teamMemberAdded"})
    assert (await teams.post(joined)).status == 200
    assert (await member(teams.database, BO["id"])).display_name == "Bo"

    command = "<at>Tend</at> tend 1on1 add <at>Bo</at> <at>Cy</at> every 2 weeks thu 10:00"
    await teams.say(command, mentions=(BOT, BO, CY))
    await teams.connector.wait_for(sends_to(f"a:personal-{ANA['id']}", "Added 1:1"))
    bo_chat = f"a:personal-{BO['id']}"

    def bo_created() -> list[ConnectorCall]:
        return [c for c in teams.connector.of("create") if c.body["members"] == [{"id": BO["id"]}]]

    assert bo_created() == [] and not sends_to(bo_chat)(teams.connector.calls)  # Bo: out of hours
    assert (PERSON, BO["id"]) not in {(r.kind, r.key) for r in await rows(teams.database, ConversationRef)}

    scheduler = Scheduler(teams.database, teams.clock, min_group_size=5)
    teams.clock.set(teams.clock.now().replace(day=5, hour=10))  # Wed 10:00: the nudge is prepared a day ahead
    await scheduler.tick()
    teams.clock.set(teams.clock.now().replace(day=6, hour=9))  # Thu 09:00: an hour before the 1:1
    await teams.engine.delivery.deliver_due()
    # Teams never said which zone Bo is in (membersAdded carries none): nothing goes on a guess.
    assert bo_created() == [] and not sends_to(bo_chat)(teams.connector.calls)

    await teams.say(BO_WRITES, user=BO, mentions=(BOT,))  # his activity carries his zone
    teams.clock.advance(timedelta(seconds=1))  # past the per-conversation pacing
    await teams.engine.delivery.deliver_due()

    registered = "<at>Ana</at> registered your 1:1 with <at>Cy</at>"
    [note] = await teams.connector.wait_for(sends_to(bo_chat, registered))
    assert {e["mentioned"]["id"] for e in note.body["entities"]} == {ANA["id"], CY["id"]}  # real mentions
    [nudge] = await teams.connector.wait_for(sends_to(bo_chat, "Your 1:1 with"))
    assert "Cy" in json.dumps(nudge.body) and "1on1.done" in json.dumps(nudge.body)
    [created] = bo_created()
    assert created.body["channelData"]["tenant"]["id"] == TENANT and created.body["isGroup"] is False
    calls = teams.connector.calls
    assert calls.index(created) < calls.index(note) < calls.index(nudge)
    assert_valid_sent([note, nudge])
    refs = {(r.kind, r.key) for r in await rows(teams.database, ConversationRef)}
    assert (PERSON, BO["id"]) in refs  # kept for next time

    teams.clock.set(teams.clock.now().replace(day=19, hour=10))  # two weeks on: the next one
    await scheduler.tick()
    teams.clock.set(teams.clock.now().replace(day=20, hour=9, second=0))
    await teams.engine.delivery.deliver_due()
    await teams.connector.wait_for(lambda calls: len(sends_to(bo_chat, "Your 1:1 with")(calls)) == 2)
    assert len(bo_created()) == 1  # the stored chat was continued, not created again


async def test_an_admin_sees_in_the_ritual_list_who_tend_cannot_reach_until_they_write_again(teams: Teams):
    ana_chat, bo_chat = f"a:personal-{ANA['id']}", f"a:personal-{BO['id']}"
    await installed_by(teams)
    await teams.say("hello", personal=True)
    await teams.say("hello", user=BO, personal=True)
    await teams.say("tend ritual list", personal=True)
    [before] = await teams.connector.wait_for(sends_to(ana_chat, "No rituals yet"))
    assert "can't reach" not in json.dumps(before.body)

    teams.connector.block_writes(bo_chat)  # Bo blocks Tend in Teams
    await teams.say(KUDOS, mentions=(BOT, BO))
    await teams.connector.wait_for(lambda calls: [c for c in calls if c.status == 403])
    teams.clock.advance(timedelta(seconds=1))
    await teams.say("tend ritual list", personal=True)
    [listed] = await teams.connector.wait_for(sends_to(ana_chat, "Tend can't reach @Bo"))
    assert "until they write to Tend again" in json.dumps(listed.body)
    assert_valid_sent([listed])
    assert (await member(teams.database, BO["id"])).unreachable

    await teams.say("I am back", user=BO, personal=True)  # Bo writes to Tend in his chat again
    teams.clock.advance(timedelta(seconds=1))
    await teams.say("tend ritual list", personal=True)
    await teams.connector.wait_for(lambda calls: len(sends_to(ana_chat, "No rituals yet")(calls)) == 3)
    assert len(sends_to(ana_chat, "can't reach")(teams.connector.calls)) == 1  # the line is gone
