"""The malformed requests of issue 14 §4, one by one, over real HTTP (and a real Socket Mode WebSocket).

Each was a 500 with an ERROR traceback before anything proved where it came from; now a request that
is not proven to come from the platform is a 401, one that is but cannot be read is a 400, each with
one WARNING line, and nothing is stored or sent. ``tests/test_fuzz.py`` throws thousands more.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import pytest
from sqlmodel import select

from adapters.slack.guard import envelope_problem
from adapters.slack.listeners import EVENTS_PATH
from adapters.teams.adapter import MESSAGES_PATH
from storage.models import ConversationRef, Member, Workspace
from tests.test_msteams import APP_ID, Teams, teams  # noqa: F401  (the fixture)
from tests.test_slack import SECRET, Slack, slack  # noqa: F401  (the fixture)
from tests.test_slack_socket_mode import Socket
from tests.test_slack_socket_mode import slack as socket  # noqa: F401  (the fixture, as ``socket``)

COMMAND = b"command=%2Ftend&text=help&team_id=T1&user_id=U1&channel_id=C1&trigger_id=t.1"


def signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest}


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every ERROR line or traceback anyone logged."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def refusals(caplog: pytest.LogCaptureFixture, message: str) -> list[str]:
    found = [r for r in caplog.records if r.getMessage() == message]
    assert all(r.levelno == logging.WARNING for r in found)
    return [str(getattr(r, "outcome", "")) for r in found]


async def post_slack(slack: Slack, body: bytes, headers: dict[str, str]) -> int:  # noqa: F811
    async with slack.http.post(slack.url + EVENTS_PATH, data=body, headers=headers) as response:
        await response.read()
        return response.status


@pytest.mark.parametrize(
    ("case", "body", "headers", "status", "reason"),
    [
        ("non-numeric timestamp", COMMAND, {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=0"},
         401, "bad_timestamp"),
        ("timestamp of other digits", COMMAND, {"X-Slack-Request-Timestamp": "\u00b9\u00b2",
                                                "X-Slack-Signature": "v0=0"}, 401, "bad_timestamp"),
        ("non-UTF-8 body, unsigned", b"\xff\xfe" + COMMAND, {}, 401, "unsigned"),
        ("broken JSON, unsigned", b'{"type": ', {"Content-Type": "application/json"}, 401, "unsigned"),
        ("non-UTF-8 body, signed", b"\xff\xfe" + COMMAND, "sign", 400, "not_utf8"),
        ("broken JSON, signed", b'{"type": ', "sign", 400, "unreadable"),
        ("a JSON list, signed", b"[1, 2]", "sign-json", 400, "unreadable"),
        ("a tap whose user is a string, signed", b'payload={"type":"block_actions","actions":[],"user":"U1"}',
         "sign", 400, "unreadable"),
        ("stale", COMMAND, "stale", 401, "stale"),
    ],
)  # fmt: skip
async def test_a_malformed_slack_request_is_a_4xx_with_one_warning_and_changes_nothing(
    slack: Slack,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    case: str,
    body: bytes,
    headers: dict[str, str] | str,
    status: int,
    reason: str,
):
    caplog.set_level(logging.INFO)
    if headers == "sign":
        headers = signed(body)
    elif headers == "sign-json":
        headers = {**signed(body), "Content-Type": "application/json"}
    elif headers == "stale":
        headers = signed(body, str(int(time.time()) - 301))
    assert await post_slack(slack, body, headers) == status, case  # type: ignore[arg-type]
    await slack.adapter.drain()
    assert refusals(caplog, "slack request refused") == [reason]
    assert problems(caplog) == []
    assert [c for c in slack.fake.calls if c.method != "auth.test"] == []  # auth.test: once at start
    async with slack.database.session() as session:
        assert (await session.exec(select(Workspace))).all() == []


async def test_a_well_formed_signed_slack_request_still_gets_through(slack: Slack):  # noqa: F811
    assert await post_slack(slack, COMMAND, signed(COMMAND)) == 200
    await slack.adapter.drain()
    await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "chat.postEphemeral"])


# --- Teams ----------------------------------------------------------------------------------------------

BREAKERS = {
    "garbage timestamp": {"timestamp": "not-a-time"},
    "entities not a list": {"entities": "everyone"},
    "from a string": {"from": "29:ana"},
}


async def post_teams(teams: Teams, body: bytes, headers: dict[str, str]) -> int:  # noqa: F811
    headers = {"Content-Type": "application/json", **headers}
    async with teams.http.post(teams.url + MESSAGES_PATH, data=body, headers=headers) as response:
        await response.read()
        return response.status


async def nothing_stored(teams: Teams) -> bool:  # noqa: F811
    async with teams.database.session() as session:
        return (
            not (await session.exec(select(ConversationRef))).all()
            and not (await session.exec(select(Member))).all()
        )


@pytest.mark.parametrize("case", list(BREAKERS))
async def test_an_activity_botbuilder_cannot_read_is_401_without_a_token_and_400_with_one(
    teams: Teams,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    case: str,
):
    caplog.set_level(logging.INFO)
    activity = {**teams.activity("tend help", personal=True), **BREAKERS[case]}
    body = json.dumps(activity).encode()
    assert await post_teams(teams, body, {}) == 401
    token = teams.identity.token(APP_ID, activity["serviceUrl"])
    assert await post_teams(teams, body, {"Authorization": f"Bearer {token}"}) == 400
    assert refusals(caplog, "teams request refused") == ["missing_token", "undeserialisable"]
    assert problems(caplog) == []
    assert teams.connector.calls == [] and await nothing_stored(teams)


@pytest.mark.parametrize(
    ("case", "body", "status"),
    [
        ("not JSON", b"{", 400),
        ("not UTF-8", b'\xff{"type": "message"}', 400),
        ("not an object", b"[]", 400),
        ("no type", b"{}", 400),
    ],
)
async def test_a_body_that_is_not_an_activity_is_400_with_a_token(
    teams: Teams,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    case: str,
    body: bytes,
    status: int,
):
    token = teams.identity.token(APP_ID, teams.connector.service_url)
    assert await post_teams(teams, body, {"Authorization": f"Bearer {token}"}) == status, case
    assert problems(caplog) == []
    assert teams.connector.calls == [] and await nothing_stored(teams)


async def test_a_token_cannot_vouch_for_an_activity_without_a_service_url(teams: Teams):  # noqa: F811
    """botbuilder compares the token's serviceurl claim only with a service URL that is there."""
    activity = teams.activity("tend help", personal=True)
    token = teams.identity.token(APP_ID, "https://elsewhere.example/")
    del activity["serviceUrl"]
    assert await post_teams(teams, json.dumps(activity).encode(), {"Authorization": f"Bearer {token}"}) == 401
    assert teams.connector.calls == [] and await nothing_stored(teams)


# --- Socket Mode ----------------------------------------------------------------------------------------

FRAMES = [
    "",
    "not json",
    "{",
    "[1, 2]",
    "null",
    '{"type": "events_api"}',
    '{"envelope_id": "e1", "type": "events_api", "payload": "x"}',
    '{"envelope_id": "e2", "type": "events_api", "payload": [1]}',
    '{"envelope_id": "e3", "type": "slash_commands", "payload": {"team_id": 5, "command": ["x"]}}',
    '{"envelope_id": "e4", "type": "interactive", "payload": {"type": "block_actions", "actions": "x"}}',
    '{"envelope_id": "e5", "type": "interactive", "payload": {"type": "block_actions", "user": "U1"}}',
    '{"envelope_id": 7, "type": 9, "payload": {}}',
    '{"envelope_id": "e6", "type": "events_api", "payload": {"event": {}, "authorizations": 5}}',
]


async def test_socket_mode_drops_frames_it_cannot_read_and_keeps_serving(
    socket: Socket,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO)
    [*_, ws] = await socket.socket.wait_for(lambda: socket.socket.live)
    for frame in FRAMES:
        await ws.send_str(frame)
    envelope_id = await socket.socket.slash_command(socket.command("/tend", "ritual list"))
    assert (await socket.socket.ack_of(envelope_id))["envelope_id"] == envelope_id
    await socket.adapter.drain()
    await socket.fake.wait_for(lambda calls: [c for c in calls if c.method == "response"])
    for dropped in ("e1", "e2", "e3", "e4", "e5", "e6"):  # acked, so Slack does not send them again
        await socket.socket.ack_of(dropped)
    assert len(refusals(caplog, "slack envelope refused")) == len(FRAMES)
    assert problems(caplog) == []


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ('{"type": "hello"}', None),
        ('{"type": "disconnect", "reason": "refresh_requested"}', None),
        ('{"envelope_id": "e", "type": "slash_commands", "payload": {"command": "/tend"}}', None),
        ('{"envelope_id": "e", "type": "events_api", "payload": {"event": {"type": "x"}}}', None),
        ('{"envelope_id": "e", "type": "something_new", "payload": {}}', "not_an_envelope"),
        ("[]", "not_an_object"),
        ("{", "unparseable"),
    ],
)
def test_which_socket_mode_frames_are_readable(frame: str, problem: str | None):
    assert envelope_problem(frame)[0] == problem
