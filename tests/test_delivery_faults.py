"""Delivery under faults, with real parts: a ``python app.py serve`` killed with SIGKILL mid fan-out and
started again, the database going away while the worker sends (SQLite: another connection holds the
write lock; PostgreSQL: the TCP proxy in between is cut), and a 429 storm from the fake Slack Web API.

What a user would notice: a message lost, a message twice, a message parked because Slack said
"slow down", or a post that comes sooner than Slack's Retry-After.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sqlite3
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web
from sqlalchemy import update
from sqlalchemy.engine import make_url
from sqlmodel import select

from adapters.slack.sender import SlackSender, make_client, web_session
from bot.clock import ShiftedClock
from bot.delivery import DeliveryWorker, enqueue_intents
from bot.scheduler import Scheduler, start_background
from practices.messages import Card, PostToPlace, text_card
from storage.db import Database
from storage.identity import find_workspace
from storage.models import Outbox
from tests.fake_slack_api import Call, FakeSlackApi, request_args
from tests.fakes import InMemorySender
from tests.scenario import WORKSPACE, Scenario
from tests.test_app import APP, clean_env, free_port

IN_FLIGHT = 32  # DeliveryWorker's default, as app.py runs it


async def outbox_rows(database: Database) -> list[Outbox]:
    async with database.session() as session:
        return list((await session.exec(select(Outbox).order_by(Outbox.id))).all())


async def queue_posts(database: Database, posts: list[tuple[str, str]], now: datetime) -> None:
    """(channel, words) each, into the outbox of workspace T1 (created first, as on first contact)."""
    setup = Scenario(database, now)
    await setup.command("U1", "help")
    async with database.session() as session:
        workspace = await find_workspace(session, "slack", WORKSPACE)
        assert workspace is not None
        intents = [PostToPlace(place, text_card(words), key=f"fault:{words}") for place, words in posts]
        await enqueue_intents(session, workspace, intents, now, "fault")


async def until_all_sent(database: Database, within: float) -> list[Outbox]:
    """Bounded wait on the condition: every row sent (or the last look, for the assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = await outbox_rows(database)
        if {row.state for row in found} == {"sent"} or loop.time() > deadline:
            return found
        await asyncio.sleep(0.1)


def real_clock() -> ShiftedClock:
    """Real time, on a Tuesday morning inside everyone's working hours (these tests wait real seconds)."""
    clock = ShiftedClock()
    clock.advance(datetime.fromisoformat("2026-11-24T10:00:00+00:00") - clock.now())
    return clock


class TimedSlackApi(FakeSlackApi):
    """The fake Web API, with when each call came, a delay before answering chat.postMessage (so sends
    are in flight when a process dies), and 429 storms: the next posts to a channel answered 429 with a
    Retry-After (counted, not timed, so a slow machine cannot shorten the storm)."""

    def __init__(self, *, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.times: list[float] = []  # loop time of each call in ``calls``
        self.storms: dict[str, tuple[int, int]] = {}  # channel -> (429s still to answer, Retry-After)
        self.answering = 0  # posts received and not answered yet

    def storm(self, channel: str, posts: int, retry_after: int) -> None:
        self.storms[channel] = (posts, retry_after)

    async def _record(self, call: Call) -> None:
        self.times.append(asyncio.get_running_loop().time())
        await super()._record(call)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] != "chat.postMessage":
            return await super()._api(request)
        self.answering += 1
        try:
            args = await request_args(request)
            channel = str(args.get("channel"))
            left, retry_after = self.storms.get(channel, (0, 0))
            if left > 0:
                self.storms[channel] = (left - 1, retry_after)
                await self._record(Call("chat.postMessage", args, 429))
                headers = {"Retry-After": str(retry_after)}
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            if self.delay:
                await asyncio.sleep(self.delay)  # Slack taking its time: the send is in flight
            return await super()._api(request)
        finally:
            self.answering -= 1

    def accepted_posts(self) -> Counter[str]:
        """Channel -> how many posts Slack accepted there."""
        return Counter(str(call.args.get("channel")) for call in self.of("chat.postMessage"))


# --- kill -9 mid fan-out -------------------------------------------------------------------------------


async def serve(
    tmp_path: Path, database_url: str, fake: FakeSlackApi, log: Path
) -> asyncio.subprocess.Process:
    """``python app.py serve`` for one Slack workspace, on ``database_url``, posting to the fake."""
    env = clean_env(
        DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(free_port()), SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s", SLACK_API_URL=fake.api_url,
    )  # fmt: skip
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable, APP, "serve", cwd=tmp_path, env=env, stdout=output, stderr=output
        )


async def test_kill_9_mid_fan_out_then_restart_loses_nothing_and_repeats_only_sends_in_flight(
    tmp_path, database_url
):
    posts = [(f"C{n}", f"fan-out {n}") for n in range(400)]  # one channel each: no pacing gaps
    database = Database(database_url)
    await queue_posts(database, posts, real_clock().now())
    fake = TimedSlackApi(delay=0.03)  # about in_flight sends in flight at any moment
    await fake.start()
    log = tmp_path / "tend.log"
    seed = random.randrange(1_000_000)
    kill_after = random.Random(seed).randrange(20, 300)  # accepted posts before the kill
    try:
        first = await serve(tmp_path, database_url, fake, log)
        try:
            await fake.wait_for(lambda _: sum(fake.accepted_posts().values()) >= kill_after, within=30)
        finally:
            first.kill()  # SIGKILL: no shutdown, nothing written on the way out
            await first.wait()
        await fake.wait_for(lambda _: fake.answering == 0)  # posts Slack had received are answered
        accepted = fake.accepted_posts()
        at_kill = {row.target_id: row.state for row in await outbox_rows(database)}
        unmarked = {channel for channel in accepted if at_kill[channel] != "sent"}
        assert len(unmarked) <= IN_FLIGHT, f"seed {seed}: {len(unmarked)} accepted but not marked sent"

        # The restart comes once the dead process's leases are over: shifted here instead of waited.
        async with database.session() as session:
            await session.exec(  # type: ignore[call-overload]
                update(Outbox).where(Outbox.state == "sending").values(lease_until=real_clock().now())
            )
        second = await serve(tmp_path, database_url, fake, log)
        try:
            found = await until_all_sent(database, within=30)
        finally:
            second.terminate()
            await second.wait()
    finally:
        await fake.stop()
        await database.dispose()
    delivered = fake.accepted_posts()
    assert {row.state for row in found} == {"sent"}, log.read_text()[-3000:]
    assert set(delivered) == {channel for channel, _ in posts}  # none lost
    repeated = {channel for channel, times in delivered.items() if times > 1}
    assert repeated <= unmarked and all(delivered[channel] == 2 for channel in repeated), f"seed {seed}"


# --- the database goes away while the worker sends ---------------------------------------------------


class TcpProxy:
    """127.0.0.1:port → PostgreSQL; ``cut`` drops every connection and refuses new ones until
    ``restore``: an outage as the worker's process sees it."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            except (OSError, ConnectionError):
                pass
            finally:
                target.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._links -= {writer, up_writer}


class CountingSender(InMemorySender):
    """Accepts every post (letting other work run meanwhile, as an HTTP call does); ``reached`` is
    set once ``count`` posts went through."""

    def __init__(self, clock: ShiftedClock, count: int) -> None:
        super().__init__(clock=clock)
        self.count = count
        self.reached = asyncio.Event()

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        await asyncio.sleep(0.002)
        ref = await super().post(workspace_external_id, place_id, card)
        if len(self.sent) >= self.count:
            self.reached.set()
        return ref


class Outage:
    """The database going away for ``seconds``, as the worker's process sees it: SQLite's write lock
    held by another connection for longer than Tend's 5 s busy timeout; PostgreSQL behind a proxy that
    is cut (connections dropped, new ones refused). ``url`` is what the worker connects to."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.url = database_url
        self.seconds = 6.0
        self.proxy: TcpProxy | None = None
        self.lock: sqlite3.Connection | None = None

    async def __aenter__(self) -> Outage:
        if not self.database_url.startswith("sqlite"):
            url = make_url(self.database_url)
            self.proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
            await self.proxy.start()
            self.url = url.set(port=self.proxy.port).render_as_string(hide_password=False)
            self.seconds = 3.0
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.proxy is not None:
            await self.proxy.cut()

    async def begin(self) -> None:
        if self.proxy is not None:
            await self.proxy.cut()
            return
        path = make_url(self.database_url).database
        self.lock = sqlite3.connect(path or "", timeout=10, isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(self.lock.execute, "BEGIN EXCLUSIVE")

    async def end(self) -> None:
        if self.proxy is not None:
            await self.proxy.start()
            return
        assert self.lock is not None
        self.lock.execute("COMMIT")
        self.lock.close()


async def test_a_database_outage_while_sending_loses_nothing_and_repeats_nothing(database_url, caplog):
    posts = [(f"C{n}", f"outage {n}") for n in range(160)]
    setup = Database(database_url)
    clock = real_clock()
    await queue_posts(setup, posts, clock.now())
    sender = CountingSender(clock, count=40)
    async with Outage(database_url) as outage:
        database = Database(outage.url)
        # A lease shorter than the outage: the rows whose results wait in memory are ready to claim
        # again once the database is back, and must not be sent again.
        worker = DeliveryWorker(database, clock, {"slack": sender}, pacing={}, in_flight=8,
                                lease=timedelta(seconds=1))  # fmt: skip
        background = start_background(Scheduler(database, clock), worker)
        try:
            await asyncio.wait_for(sender.reached.wait(), timeout=20)  # a guard: sending is under way
            await outage.begin()
            before = len(sender.sent)
            await asyncio.sleep(outage.seconds)  # the outage itself (real time), not a synchronisation
            during = len(sender.sent) - before
            await outage.end()
            found = await until_all_sent(setup, within=20)
        finally:
            await background.stop()
            await database.dispose()
            await setup.dispose()
    delivered = Counter(sent.target for sent in sender.posts())
    assert set(delivered) == {channel for channel, _ in posts}  # none lost
    assert [channel for channel, times in delivered.items() if times > 1] == []  # none twice
    assert {row.state for row in found} == {"sent"}
    assert during <= 8  # no more sends than in flight went out without their results written
    assert "delivery results not written" in caplog.messages  # the worker did meet the outage


# --- a 429 storm -----------------------------------------------------------------------------------------


async def test_a_429_storm_parks_nothing_and_every_post_after_a_429_waits_out_retry_after(database):
    clock = real_clock()
    posts = [("C1", "first"), ("C1", "second"), ("C1", "third"), ("C2", "elsewhere")]
    await queue_posts(database, posts, clock.now())
    fake = TimedSlackApi()
    await fake.start()
    sender = SlackSender.single(make_client("xoxb-1", fake.api_url, web_session()))
    worker = DeliveryWorker(database, clock, {"slack": sender})
    # As many 429s as the old count of six attempts, a second apart at least (Retry-After: 1).
    fake.storm("C1", posts=6, retry_after=1)
    background = start_background(Scheduler(database, clock), worker)
    try:
        found = await until_all_sent(database, within=25)
    finally:
        await background.stop()
        await sender.close()
        await fake.stop()
    assert {row.state for row in found} == {"sent"}  # nothing parked
    assert [row.attempts for row in found] == [1, 1, 1, 1]  # a 429 is not an attempt
    to_c1 = [(at, call) for at, call in zip(fake.times, fake.calls, strict=True)
             if call.method == "chat.postMessage" and call.args.get("channel") == "C1"]  # fmt: skip
    limited = [at for at, call in to_c1 if call.status == 429]
    assert len(limited) == 6
    for (at, call), (later, _) in itertools.pairwise(to_c1):
        if call.status == 429:
            assert later - at >= 1.0  # every post after a 429 waited out its Retry-After
    assert [call.args.get("text") for _, call in to_c1 if call.status == 200] == ["first", "second", "third"]
    calls = zip(fake.times, fake.calls, strict=True)
    [elsewhere] = [at for at, call in calls if call.args.get("channel") == "C2"]
    assert elsewhere < to_c1[1][0]  # another channel is not held back by the storm: it went before C1's retry
