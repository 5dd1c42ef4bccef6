"""Acked means stored: real ``python app.py serve`` processes stopped and started under a burst of /kudos.

Each /kudos is signed as Slack signs it and names its own channel and words, so the fake Web API
shows exactly which ones were posted and how often. "Acked" is what Slack would see: an HTTP 200. A
request refused or cut off by a stopping process is not acked (Slack tells the person it failed), and
may or may not have been stored, but never twice.

- A burst, SIGTERM half-way, then a new process on the same database: every acked command is stored
  once and posted once (SQLite and PostgreSQL).
- A rolling restart of two replicas on PostgreSQL while commands keep coming: the same.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from adapters.slack.listeners import EVENTS_PATH
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Inbound, Outbox, Shoutout
from tests.conftest import POSTGRES_SERVER_URL, create_postgres_database, drop_postgres_database
from tests.fake_slack_api import FakeSlackApi
from tests.helpers import signed_headers
from tests.test_app import APP, clean_env, free_port
from tests.test_health import until
from tests.test_slack import command_fields

# Acks are held to Slack's 3 s under a burst of 100 a second: another worker's tests on the same CPUs
# would measure the machine, not Tend (tests/conftest.py, ``alone``).
pytestmark = pytest.mark.alone

SECRET = "inbound-restart-signing-secret"
TOKEN = "xoxb-inbound-restart"
ACK_DEADLINE = 3.0  # Slack shows the person an error after this
BURST_RATE = 100  # commands a second in the burst
RATE = 40  # commands a second during the rolling restart
MIN_COMMANDS = 150
IN_FLIGHT = 32  # sends a delivery worker has in flight at most: what a kill can repeat
STOP_BOUND = 10.0 + 5.0  # app.py lets work under way take 10 s; the rest of the shutdown is quick


def words(index: int) -> str:
    return f"thanks for burst-{index:04d}"


def channel(index: int) -> str:
    return f"C{index:04d}"  # one channel each: no pacing between the posts


@dataclass
class Replica:
    """One ``python app.py serve`` process and its port."""

    process: asyncio.subprocess.Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def start(tmp_path: Path, database_url: str, fake: FakeSlackApi, name: str) -> Replica:
    port = free_port()
    env = clean_env(
        DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(port), SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url,
    )  # fmt: skip
    with (tmp_path / f"{name}.log").open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, APP, "serve", cwd=tmp_path, env=env, stdout=output, stderr=output
        )
    await until(port, "/readyz", 200)
    return Replica(process, port)


async def stop(replica: Replica) -> float:
    """SIGTERM, as every deploy sends; returns how long the process took to end."""
    started = time.monotonic()
    if replica.process.returncode is None:
        replica.process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(replica.process.wait(), STOP_BOUND + 5)
    return time.monotonic() - started


@dataclass
class Load:
    """Signed /kudos, each its own words and channel; remembers which ones were acked."""

    fake: FakeSlackApi
    http: aiohttp.ClientSession
    acked: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)
    sent: int = 0
    slowest_ack: float = 0.0  # seconds, over every acked command
    _answered: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def burst(self, url: str, count: int) -> None:
        """``count`` commands at ``BURST_RATE`` a second: a stop lands while they are still coming."""
        sending = []
        for index in range(count):
            sending.append(asyncio.create_task(self.kudos(url, index)))
            await asyncio.sleep(1 / BURST_RATE)  # the pace of the burst, not a wait for anything
        await asyncio.gather(*sending)

    async def until_acked(self, count: int, within: float = 30.0) -> None:
        async with self._answered:
            await asyncio.wait_for(self._answered.wait_for(lambda: len(self.acked) >= count), within)

    async def kudos(self, url: str, index: int) -> None:
        self.sent += 1
        giver, receiver = f"U1{index:04d}", f"U2{index:04d}"
        form = command_fields(
            self.fake, "/kudos", f"<@{receiver}|p{index}> {words(index)}", giver, channel(index), f"t.{index}"
        )
        body = urlencode(form)
        headers = signed_headers(SECRET, body)
        started = time.monotonic()
        try:
            async with self.http.post(url + EVENTS_PATH, data=body.encode(), headers=headers) as response:
                text = await response.text()
                ok = response.status == 200 and "could not take this" not in text
        except (TimeoutError, aiohttp.ClientError):
            ok = False
        if ok:
            self.slowest_ack = max(self.slowest_ack, time.monotonic() - started)
        async with self._answered:
            (self.acked if ok else self.refused).add(index)
            self._answered.notify_all()


def posts(fake: FakeSlackApi) -> Counter[int]:
    """Index -> how many times Slack accepted its post in its channel."""
    found: Counter[int] = Counter()
    for call in fake.of("chat.postMessage"):
        target = str(call.args.get("channel", ""))
        if target.startswith("C") and target[1:].isdigit():
            index = int(target[1:])
            if words(index) in str(call.args):
                found[index] += 1
    return found


async def stored(database: Database) -> Counter[int]:
    """Index -> how many shout-outs were stored with its words."""
    async with database.session() as session:
        rows = (await session.exec(select(Shoutout.text))).all()
    found: Counter[int] = Counter()
    for text in rows:
        marker = str(text).rsplit("burst-", 1)
        if len(marker) == 2 and marker[1][:4].isdigit():
            found[int(marker[1][:4])] += 1
    return found


async def queued(database: Database) -> int:
    async with database.session() as session:
        return len((await session.exec(select(Inbound.id))).all())


STALL = 30.0  # seconds without one more acked command posted: handling has stopped, not slowed down


async def all_posted(fake: FakeSlackApi, load: Load, database: Database) -> None:
    """Waits until every acked command was posted; says what is missing otherwise. Fails once nothing
    more was posted for ``STALL`` seconds, so a loaded machine (a slower drain) fails nothing that a
    stuck queue would not."""

    def progress(posted: int) -> Callable[[object], bool]:
        def seen(_: object) -> bool:
            now = set(posts(fake)) & load.acked
            return now == load.acked or len(now) > posted

        return seen

    try:
        while (posted := set(posts(fake)) & load.acked) != load.acked:
            await fake.wait_for(progress(len(posted)), within=STALL)
    except TimeoutError:
        missing = sorted(load.acked - set(posts(fake)))
        kept = await stored(database)
        raise AssertionError(
            f"{len(missing)} acked never posted: {missing[:10]}; stored {[kept[i] for i in missing[:10]]}; "
            f"still queued {await queued(database)}"
        ) from None
    # A request stored just before a kill or SIGTERM but never acked is handled too, maybe after the
    # acked ones: the queue is empty only once it is (bounded wait on the condition, not a guess).
    for _ in range(400):
        if await queued(database) == 0:
            return
        await asyncio.sleep(0.05)


def assert_once_each(load: Load, posted: Counter[int], kept: Counter[int]) -> None:
    assert load.acked, "nothing was acked: the test did not test anything"
    lost = sorted(index for index in load.acked if kept[index] != 1)
    assert lost == [], f"acked but stored {[kept[i] for i in lost[:5]]} times: {lost[:20]}"
    unposted = sorted(index for index in load.acked if posted[index] != 1)
    assert unposted == [], f"acked but posted {[posted[i] for i in unposted[:5]]} times: {unposted[:20]}"
    assert all(times == 1 for times in kept.values())  # a refused request was stored once at most
    assert all(times == 1 for times in posted.values())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path) -> AsyncIterator[str]:
    """A database of this test's own, migrated (both processes upgrade it again, harmlessly)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/tend.db"
        await upgrade(url)
        yield url
        return
    if not POSTGRES_SERVER_URL:
        pytest.skip("TEND_TEST_POSTGRES_URL not set")
    url = await create_postgres_database()
    try:
        await upgrade(url)
        yield url
    finally:
        await drop_postgres_database(url)


async def test_a_burst_then_sigterm_then_a_restart_stores_and_posts_every_acked_kudos_once(
    tmp_path, database_url
):
    fake = FakeSlackApi()
    await fake.start()
    database = Database(database_url)
    burst, stop_after = 250, 80
    first: Replica | None = None
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40)) as http:
            load = Load(fake, http)
            first = await start(tmp_path, database_url, fake, "first")
            sending = asyncio.create_task(load.burst(first.url, burst))
            await load.until_acked(stop_after)  # the burst is under way: the deploy begins
            took = await stop(first)
            await sending
            assert took < STOP_BOUND, f"the first process took {took:.1f} s to stop"
            assert first.process.returncode == 0
            assert len(load.acked) < burst  # the stop did cut the burst short
            assert load.slowest_ack < ACK_DEADLINE, f"an ack took {load.slowest_ack:.2f} s"

            second = await start(tmp_path, database_url, fake, "second")
            try:
                await all_posted(fake, load, database)
            finally:
                await stop(second)
        assert_once_each(load, posts(fake), await stored(database))
        assert await queued(database) == 0
    finally:
        if first is not None and first.process.returncode is None:
            first.process.kill()
            await first.process.wait()
        await database.dispose()
        await fake.stop()
    for name in ("first", "second"):
        assert "Traceback" not in (tmp_path / f"{name}.log").read_text()


@pytest.mark.postgres
async def test_a_rolling_restart_of_two_replicas_under_load_loses_and_repeats_nothing(tmp_path):
    if not POSTGRES_SERVER_URL:
        pytest.skip("TEND_TEST_POSTGRES_URL not set")
    url = await create_postgres_database()
    await upgrade(url)
    fake = FakeSlackApi()
    await fake.start()
    database = Database(url)
    replicas: list[Replica] = []
    started: list[Replica] = []  # every process, for the clean-up of a failed run
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=30)) as http:
            load = Load(fake, http)
            replicas += await asyncio.gather(*(start(tmp_path, url, fake, name) for name in ("a1", "b1")))
            started += replicas
            live = list(replicas)  # what the load balancer routes to: ready replicas only
            done = asyncio.Event()

            async def traffic() -> None:
                """Commands at a steady rate (a load, not a flood this small machine cannot keep up with),
                each to a ready replica, until the restarts are over."""
                sending: list[asyncio.Task[None]] = []
                index = 0
                while not done.is_set() or index < MIN_COMMANDS:
                    sending.append(asyncio.create_task(load.kudos(live[index % len(live)].url, index)))
                    index += 1
                    await asyncio.sleep(1 / RATE)  # the pace of the load, not a wait for anything
                await asyncio.gather(*sending)

            running = asyncio.create_task(traffic())
            for number, name in enumerate(("a2", "b2")):
                old = replicas[number]
                await load.until_acked(30 * (number + 1))
                live.remove(old)  # the readiness probe fails first, then the process stops
                stopping = asyncio.create_task(stop(old))
                replacement = await start(tmp_path, url, fake, name)
                started.append(replacement)
                live.append(replacement)
                replicas[number] = replacement
                assert await stopping < STOP_BOUND
            done.set()
            await running
            await all_posted(fake, load, database)
            for replica in replicas:
                await stop(replica)
        assert_once_each(load, posts(fake), await stored(database))
        assert await queued(database) == 0
    finally:
        for replica in started:
            if replica.process.returncode is None:
                replica.process.kill()
                await replica.process.wait()
        await database.dispose()
        await fake.stop()
        await drop_postgres_database(url)
    for name in ("a1", "b1", "a2", "b2"):
        assert "Traceback" not in (tmp_path / f"{name}.log").read_text()


async def test_a_burst_then_kill_9_then_a_restart_stores_every_acked_kudos_once(tmp_path):
    """SIGKILL: nothing runs on the way out. What the dead process had acked waits in the database,
    leased to it, and the restarted process takes it once the lease is over (shifted here instead of
    waited). Stored exactly once each; posts repeat only among the sends in flight at the kill."""
    url = f"sqlite:///{tmp_path}/tend.db"
    await upgrade(url)
    fake = FakeSlackApi()
    await fake.start()
    database = Database(url)
    first: Replica | None = None
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40)) as http:
            load = Load(fake, http)
            first = await start(tmp_path, url, fake, "first")
            sending = asyncio.create_task(load.burst(first.url, 250))
            await load.until_acked(80)
            first.process.kill()
            await first.process.wait()
            await sending
            assert len(load.acked) < 250
            assert await queued(database) > 0  # acked and not handled yet: left by the dead process
            past = datetime.now(UTC) - timedelta(seconds=1)
            async with database.session() as session:
                await session.exec(update(Inbound).values(lease_until=past))  # type: ignore[call-overload]
                await session.exec(  # type: ignore[call-overload]
                    update(Outbox).where(col(Outbox.state) == "sending").values(lease_until=past)
                )
            second = await start(tmp_path, url, fake, "second")
            try:
                await all_posted(fake, load, database)
            finally:
                await stop(second)
        kept, posted = await stored(database), posts(fake)
        lost = sorted(index for index in load.acked if kept[index] != 1)
        assert lost == [], f"acked but not stored exactly once: {lost[:20]}"
        assert all(times == 1 for times in kept.values())
        repeated = [index for index, times in posted.items() if times > 1]
        assert len(repeated) <= IN_FLIGHT and all(posted[index] == 2 for index in repeated)
        assert await queued(database) == 0
    finally:
        if first is not None and first.process.returncode is None:
            first.process.kill()
            await first.process.wait()
        await database.dispose()
        await fake.stop()
    assert "Traceback" not in (tmp_path / "second.log").read_text()
