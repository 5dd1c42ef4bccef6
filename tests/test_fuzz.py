"""A few thousand malformed requests against a real ``python app.py serve``: 4xx only, nothing else.

Both platform endpoints are served by one real process on SQLite, with Slack pointed at the fake Web
API and Teams at the fake identity server and Bot Connector. Hypothesis generates the corpus
(derandomised, so a failure is the same on every run): unsigned and wrongly signed Slack requests
with any body and any headers; Slack requests correctly signed with the signing secret but whose
body is not UTF-8, not JSON, or not one JSON object; stale ones; Teams requests with no token, a
garbage token or another service URL's token around any body; and Teams activities with a valid
token in which one field is of a shape botbuilder cannot deserialise (a garbage ``timestamp``,
``entities`` that is not a list, ``from`` that is a string, ...). Every answer must be a 4xx, the
process must still answer ``/livez``, no table may have gained or lost a row, neither fake may have
received a call, and the log must hold no ERROR line and no traceback.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from botbuilder.schema import Activity
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fake_slack_api import FakeSlackApi
from tests.fake_teams import FakeConnector, IdentityServer, TokenServer
from tests.test_app import APP, clean_env, free_port

SIGNING_SECRET = "fuzz-signing-secret"
APP_ID = "5f1c2d3e-0000-4000-8000-00000000f022"
PASSWORD = "fuzz-app-password"
CONCURRENCY = 8
# How many of each kind; about 3,000 requests in all, sent in well under a minute.
COUNTS = {
    "slack unsigned": 900,
    "slack signed": 600,
    "slack stale": 150,
    "teams no token": 700,
    "teams bad": 650,
}


@dataclass(frozen=True)
class Probe:
    """One request to send: ``sign`` is applied at send time (``"slack"``, ``"slack-stale"``,
    ``"teams"``: a valid token, ``"teams-other"``: a valid token for another service URL)."""

    kind: str
    path: str
    body: bytes
    headers: dict[str, str]
    sign: str = ""


def corpus(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` examples of ``strategy``, the same ones on every run (no shrinking: nothing fails here)."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


# --- strategies --------------------------------------------------------------------------------------

PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
)
ANY_BODY = st.one_of(
    st.binary(max_size=400),
    JSON.map(lambda value: json.dumps(value).encode()),
    st.text(max_size=200).map(str.encode),
    st.builds(lambda text: b"payload=" + text.encode(), st.text(max_size=100)),
    st.just(b'{"type": "event_callback", "event": {"type": "app_uninstalled"}, "team_id": "T1"}'),
    st.just(b"command=%2Ftend&text=help&team_id=T1&user_id=U1&channel_id=C1"),
)


def _not_json_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict)
    except ValueError:
        return True


# Correctly signed requests whose body Bolt cannot read, with a content type under which it is read
# that way: each must be a 400.
ANY_CONTENT = st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""])
UNREADABLE = st.one_of(
    st.tuples(st.binary(max_size=300).map(lambda raw: b"\xff\xfe" + raw), ANY_CONTENT),  # not UTF-8
    st.tuples(  # broken JSON: a body starting with "{" is read as JSON whatever its content type
        st.text(max_size=120).map(lambda text: ("{" + text).encode()).filter(_not_json_object), ANY_CONTENT
    ),
    st.tuples(  # JSON, but not one object
        JSON.filter(lambda value: not isinstance(value, dict)).map(lambda value: json.dumps(value).encode()),
        st.just("application/json"),
    ),
    st.tuples(  # a form whose payload is not a JSON object
        st.text(max_size=80).map(lambda text: b"payload=" + ("[" + text).encode()),
        st.sampled_from(["application/x-www-form-urlencoded", ""]),
    ),
)


def _header(name: str, value: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.one_of(st.just({}), value.map(lambda text: {name: text}))


TIMESTAMPS = st.one_of(
    PRINTABLE,
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(str),
    st.just(str(int(time.time()))),
    st.sampled_from(["\u00b2", "1\u00b9\u00b2\u00b3", "\u00bd"]),  # digits to str.isdigit, not to int()
)
SIGNATURES = st.one_of(PRINTABLE, st.text("0123456789abcdef", min_size=64, max_size=64).map("v0={}".format))


def _slack_headers() -> st.SearchStrategy[dict[str, str]]:
    parts = [
        _header("X-Slack-Request-Timestamp", TIMESTAMPS),
        _header("X-Slack-Signature", SIGNATURES),
        _header("Content-Type", CONTENT_TYPES),
        _header("X-Slack-Retry-Num", PRINTABLE),
    ]
    return st.tuples(*parts).map(lambda found: {k: v for part in found for k, v in part.items()})


SLACK_UNSIGNED = st.builds(lambda body, headers: Probe("slack unsigned", "/slack/events", body, headers),
                           ANY_BODY, _slack_headers())  # fmt: skip
SLACK_SIGNED = UNREADABLE.map(
    lambda found: Probe("slack signed", "/slack/events", found[0], {"Content-Type": found[1]}, "slack")
)
SLACK_STALE = st.builds(
    lambda body, age: Probe("slack stale", "/slack/events", body, {"X-Fuzz-Age": str(age)}, "slack-stale"),
    ANY_BODY,
    st.integers(301, 10**9),
)

# A message activity that is valid when signed; each bad probe replaces one field with junk.
FIELDS = ("timestamp", "localTimestamp", "entities", "from", "conversation", "recipient", "membersAdded",
          "attachments", "channelData", "value", "text", "id", "type")  # fmt: skip


def base_activity(service_url: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "1700000000001",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:fuzz", "name": "Fuzz"},
        "recipient": {"id": f"28:{APP_ID}", "name": "Tend"},
        "conversation": {"id": "a:personal-29:fuzz", "conversationType": "personal", "tenantId": "tenant-f"},
        "channelData": {"tenant": {"id": "tenant-f"}},
        "text": "tend help",
        "timestamp": "2025-03-03T10:00:00.000Z",
    }


def _undeserialisable(activity: dict[str, Any]) -> bool:
    """True when botbuilder cannot read the activity (only such activities are sent with a valid token,
    so none of them may be handled)."""
    try:
        Activity().deserialize(activity)
    except Exception:
        return True
    return False


def teams_probes(service_url: str) -> tuple[st.SearchStrategy[Probe], st.SearchStrategy[Probe]]:
    junk = st.one_of(JSON, PRINTABLE)
    broken = st.builds(
        lambda field, value: {**base_activity(service_url), field: value}, st.sampled_from(FIELDS), junk
    ).filter(_undeserialisable)
    json_headers = {"Content-Type": "application/json"}
    bad = st.one_of(
        broken.map(
            lambda activity: Probe(
                "teams bad", "/api/messages", json.dumps(activity).encode(), json_headers, "teams"
            )
        ),
        ANY_BODY.filter(_not_json_object).map(
            lambda body: Probe("teams bad", "/api/messages", body, json_headers, "teams")
        ),
    )
    auth = st.one_of(
        st.just({}),
        PRINTABLE.map(lambda text: {"Authorization": text}),
        PRINTABLE.map(lambda text: {"Authorization": "Bearer " + text}),
    )
    bodies = st.one_of(ANY_BODY, broken.map(lambda activity: json.dumps(activity).encode()),
                       st.just(json.dumps(base_activity(service_url)).encode()))  # fmt: skip
    no_token = st.one_of(
        st.builds(
            lambda body, headers, content: Probe(
                "teams no token", "/api/messages", body, {**headers, **content}
            ),
            bodies,
            auth,
            _header("Content-Type", CONTENT_TYPES),
        ),
        bodies.map(lambda body: Probe("teams no token", "/api/messages", body, json_headers, "teams-other")),
    )
    return no_token, bad


# --- the run -----------------------------------------------------------------------------------------


def table_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}


def slack_signed(probe: Probe, age: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age)
    digest = hmac.new(
        SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + probe.body, hashlib.sha256
    )
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + digest.hexdigest()}


async def wait_until_ready(
    http: aiohttp.ClientSession, url: str, process: asyncio.subprocess.Process
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.returncode is None:
        try:
            async with http.get(url + "/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)  # polling a starting process: the only way to know it listens
    raise AssertionError("python app.py serve did not become ready")


async def test_thousands_of_malformed_requests_get_4xx_and_change_nothing(tmp_path: Path):
    slack = FakeSlackApi()
    await slack.start()
    identity = IdentityServer()
    identity.start()
    tokens = TokenServer(tmp_path, APP_ID, PASSWORD)
    tokens.start()
    connector = FakeConnector()
    await connector.start()
    teams_no_token, teams_bad = teams_probes(connector.service_url)
    probes: list[Probe] = [
        *corpus(SLACK_UNSIGNED, COUNTS["slack unsigned"]),
        *corpus(SLACK_SIGNED, COUNTS["slack signed"]),
        *corpus(SLACK_STALE, COUNTS["slack stale"]),
        *corpus(teams_no_token, COUNTS["teams no token"]),
        *corpus(teams_bad, COUNTS["teams bad"]),
    ]
    assert len(probes) >= 2500, len(probes)

    database = tmp_path / "tend.db"
    log = tmp_path / "tend.log"
    port = free_port()
    env = clean_env(
        DATABASE_URL=f"sqlite:///{database}",
        HOST="127.0.0.1",
        PORT=str(port),
        SLACK_BOT_TOKEN="xoxb-fuzz",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        MICROSOFT_APP_ID=APP_ID,
        MICROSOFT_APP_PASSWORD=PASSWORD,
        TEAMS_OPENID_METADATA_URL=identity.metadata_url,
        TEAMS_LOGIN_URL=tokens.authority,
        REQUESTS_CA_BUNDLE=str(tokens.cert_path),
    )
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, APP, "serve", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    # Minted once per service URL: loading the RSA key takes tens of milliseconds, and botbuilder
    # accepts a valid token as often as it is presented.
    token_for: Callable[[str], str] = functools.cache(lambda service: identity.token(APP_ID, service))
    statuses: dict[str, dict[int, int]] = {}
    unexpected: list[tuple[int, Probe]] = []
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            await wait_until_ready(http, url, process)
            await slack.wait_for(lambda calls: [c for c in calls if c.method == "auth.test"])
            slack_calls_at_start = len(slack.calls)
            rows_at_start = table_counts(database)
            gate = asyncio.Semaphore(CONCURRENCY)

            async def send(probe: Probe) -> None:
                async with gate:
                    headers = dict(probe.headers)
                    if probe.sign == "slack":
                        headers |= slack_signed(probe)
                    elif probe.sign == "slack-stale":
                        headers |= slack_signed(probe, int(headers.pop("X-Fuzz-Age")))
                    elif probe.sign == "teams":
                        headers["Authorization"] = "Bearer " + token_for(connector.service_url)
                    elif probe.sign == "teams-other":
                        headers["Authorization"] = "Bearer " + token_for("https://elsewhere.example/")
                    async with http.post(url + probe.path, data=probe.body, headers=headers) as response:
                        await response.read()
                        status = response.status
                kind = statuses.setdefault(probe.kind, {})
                kind[status] = kind.get(status, 0) + 1
                if not 400 <= status < 500:
                    unexpected.append((status, probe))

            started = time.monotonic()
            await asyncio.gather(*(send(probe) for probe in probes))
            elapsed = time.monotonic() - started
            assert unexpected == [], unexpected[:5]
            assert process.returncode is None
            async with http.get(url + "/livez") as response:
                assert response.status == 200
            assert table_counts(database) == rows_at_start  # nothing stored, nothing deleted
            assert len(slack.calls) == slack_calls_at_start and connector.calls == []  # nothing sent
            assert elapsed < 60, elapsed
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        await connector.stop()
        tokens.stop()
        identity.stop()
        await slack.stop()
    text = log.read_text(errors="replace")
    assert "level=ERROR" not in text and "level=CRITICAL" not in text and "Traceback" not in text, text[
        -3000:
    ]
    # The answers say what was wrong: unsigned 401, unreadable but signed 400, and Teams both.
    assert set(statuses["slack signed"]) == {400}, statuses
    assert set(statuses["slack stale"]) == {401}, statuses
    assert set(statuses["teams bad"]) == {400}, statuses
    assert 401 in statuses["slack unsigned"] and 401 in statuses["teams no token"], statuses
    assert "slack request refused" in text and "teams request refused" in text
