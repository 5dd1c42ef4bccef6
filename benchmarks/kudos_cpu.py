"""CPU per handled /kudos, end to end, black-box: a real ``python app.py serve`` against a minimal Bolt app.

    .venv/bin/python benchmarks/kudos_cpu.py                      # 400 signed /kudos, 20 at a time, SQLite
    .venv/bin/python benchmarks/kudos_cpu.py --requests 100       # a quick run
    .venv/bin/python benchmarks/kudos_cpu.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/kudos_cpu.py --practice stress    # or tap, or all: one after the other

Three processes besides this one, as in production: the fake Slack Web API (``tests/fake_slack_api.py``,
its own process, so Slack's side costs neither server anything), and the two servers measured one
after the other against it, each on its own port:

- bare Bolt: an ``AsyncApp`` on Bolt's own aiohttp adapter whose ``/kudos`` listener acks, then posts
  the thanks in the channel and sends the receiver a direct message (two ``chat.postMessage`` calls on
  one keep-alive session): the least any Slack app doing what /kudos does can spend.
- Tend: ``python app.py serve`` (single workspace, ``SLACK_BOT_TOKEN``) on a fresh database: it stores
  the request before the ack, handles it (both people, the shout-out, its signals, the outbox), answers
  the giver privately and delivers the channel post and the receiver's note.

Each server is first warmed up with ``concurrency`` kudos between other people (not counted). Then
``requests`` signed /kudos (a different giver, receiver and channel each) go at ``concurrency`` at a
time from this process; the clock stops once the fake has accepted every channel post and every
private note of them. CPU is the server process's user + system time read from ``/proc/<pid>/stat``
across that window (its idle background work included), divided by the kudos handled. RSS is the
server's resident memory at the end and its peak (``VmHWM``). Ack latency is from sending a request to
reading its whole answer.

Targets (issue 18): Tend's CPU per kudos <= 2x bare Bolt's, and Tend's ack p99 <= 1.2x bare Bolt's,
measured in the same run. The receivers' time zone (users.info) is one where it is now working hours,
so Tend sends the private notes at once instead of holding them for the morning.

``--practice stress`` and ``--practice tap`` measure issue 18's other two paths the same way, per stress
report (``/tend stress``, the choice in its form, the submission) and per opener tap (after an admin's
opener has fired), against bare Bolt doing the same Web API calls (``benchmarks/practice_loads.py``).
A report's three requests go as three waves, each once the fake has every answer of the one before;
the ack p99 is over all of an item's requests (each kind's p99 is printed too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import practice_loads as loads  # noqa: E402

SECRET = "kudos-cpu-signing-secret"
TOKEN = "xoxb-kudos-cpu"
TEND_KEY = "kudos-cpu-benchmark-secret-key-0123456789abcdef"
TARGET_CPU_RATIO, TARGET_P99_RATIO = 2.0, 1.2
DRAIN_WITHIN = 300.0  # seconds for every post of the load to reach the fake
OPENER_WITHIN = 240.0  # seconds for the opener added at set-up to fire (due within 140 s, ticks every 15 s)
# Zones tried for the people's users.info, first one where it is a weekday between 10:00 and 16:00.
ZONES = (
    "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Auckland", "Pacific/Honolulu",
    "America/Los_Angeles", "America/Chicago", "America/New_York", "America/Sao_Paulo",
)  # fmt: skip
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WARM = {"B": "X", "T": "W"}  # each run's warm-up people and channels (ids are capitals, as Slack's)


def working_zone(now: datetime) -> str:
    for zone in ZONES:
        local = now.astimezone(ZoneInfo(zone))
        if local.weekday() < 5 and 10 <= local.hour < 16:
            return zone
    raise SystemExit("no zone in ZONES is in working hours now")


# --- the fake Slack process ------------------------------------------------------------------------------


# The argument whose first two letters (after a DM's "D") /stats counts each method's calls by.
COUNTED_BY = {
    "chat.postMessage": "channel", "chat.postEphemeral": "user", "chat.update": "channel",
    "views.open": "trigger_id", "response": "_response_url",
}  # fmt: skip


def serve_fake(port: int, zone: str) -> None:
    """The fake Web API with a /stats route counting accepted posts by channel prefix and answers, and
    every accepted call by method and by the prefix ``COUNTED_BY`` names; /opened gives the modals
    opened (by trigger id, with the id and hash the fake answered) and /card the last card posted in
    an opener channel (with its ts), which the stress and tap loads answer to."""
    import tests.fake_slack_api as fake_module
    from tests.fake_slack_api import FakeSlackApi

    fake_module.DEFAULT_TZ = zone

    class Recording(FakeSlackApi):
        def __init__(self) -> None:
            super().__init__()
            self.opened: dict[str, dict[str, Any]] = {}
            self.cards: dict[str, dict[str, Any]] = {}

        def _answer(self, method: str, args: dict[str, Any], token: str = "") -> dict[str, Any]:
            body = super()._answer(method, args, token)
            if method == "views.open" and isinstance(args.get("view"), dict):
                opened = body["view"]
                self.opened[str(args.get("trigger_id"))] = {**args["view"], **opened}
            channel = str(args.get("channel", ""))
            if method == "chat.postMessage" and channel.endswith("OPEN"):
                self.cards[channel] = {
                    "channel": channel, "ts": body["ts"], "text": args.get("text", ""),
                    "blocks": args.get("blocks") or [],
                }  # fmt: skip
            return body

    fake = Recording()

    async def stats(_request: web.Request) -> web.Response:
        posts = [
            c.args.get("channel", "")
            for c in fake.calls
            if c.method == "chat.postMessage" and c.status == 200
        ]
        counts: dict[str, int] = {}
        for channel in posts:  # C<run>…, or a note: U<run>… (bare Bolt) or DU<run>… (conversations.open)
            key = channel.removeprefix("D")[:2]
            counts[key] = counts.get(key, 0) + 1
        answers = sum(1 for c in fake.calls if c.method == "response")
        by: dict[str, int] = {}
        for call in fake.calls:
            if call.status != 200:
                continue
            by[call.method] = by.get(call.method, 0) + 1
            if call.method in COUNTED_BY:
                key = f"{call.method}:{str(call.args.get(COUNTED_BY[call.method], '')).removeprefix('D')[:2]}"
                by[key] = by.get(key, 0) + 1
        return web.json_response(
            {"posts": counts, "answers": answers, "calls": len(fake.calls), "counts": by}
        )

    async def opened(request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "")
        return web.json_response({t: view for t, view in fake.opened.items() if t.startswith(prefix)})

    async def said(request: web.Request) -> web.Response:
        """How many accepted calls counted under ``key`` contain ``phrase``, and the last one that did not."""
        key, phrase = request.query["key"], request.query["phrase"]
        method, _, prefix = key.partition(":")
        matching, other = 0, None
        for call in fake.calls:
            text = json.dumps(call.args, ensure_ascii=False)
            if call.method != method or call.status != 200:
                continue
            if str(call.args.get(COUNTED_BY[method], "")).removeprefix("D")[:2] != prefix:
                continue
            if phrase in text:
                matching += 1
            else:
                other = text
        return web.json_response({"matching": matching, "other": other})

    async def card(request: web.Request) -> web.Response:
        return web.json_response(fake.cards.get(request.query.get("channel", "")))

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", fake._api)
        app.router.add_get("/api/{method}", fake._api)
        app.router.add_post("/response/{name}", fake._response)
        app.router.add_get("/stats", stats)
        app.router.add_get("/opened", opened)
        app.router.add_get("/card", card)
        app.router.add_get("/said", said)
        fake.port = port
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the bare Bolt process -------------------------------------------------------------------------------


def serve_bare(port: int, api_url: str, practice: str = "kudos") -> None:
    """Only the practice's listeners, so Bolt matches each request against no more than it must."""
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    async def main() -> None:
        session = aiohttp.ClientSession()  # keep-alive, as any app sending this much would use
        client = AsyncWebClient(token=TOKEN, base_url=api_url, session=session)
        bolt = AsyncApp(client=client, signing_secret=SECRET)

        async def kudos(ack: AsyncAck, command: dict[str, str], client: AsyncWebClient) -> None:
            await ack()
            receiver = command["text"].split("|", 1)[0].removeprefix("<@")
            await client.chat_postMessage(channel=command["channel_id"], text=f"Kudos: {command['text']}")
            await client.chat_postMessage(channel=receiver, text=f"<@{command['user_id']}> thanked you")

        if practice == "kudos":
            bolt.command("/kudos")(kudos)
        elif practice == "stress":
            loads.add_bare_stress(bolt)
        else:
            loads.add_bare_tap(bolt, session)

        runner = web.AppRunner(bolt.web_app(path="/slack/events"), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the load and the measurement ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process so far, as the kernel counts it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (MB)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


def kudos_form(index: int, fake_port: int, tag: str) -> dict[str, str]:
    """Request ``index`` of run ``tag`` (one capital letter): a different giver, receiver and channel."""
    giver, receiver = f"U{tag}{index:05d}", f"U{tag}{index + 1:05d}"
    return {
        "team_id": "T1", "team_domain": "acme", "channel_id": f"C{tag}{index:05d}", "channel_name": "general",
        "user_id": giver, "user_name": giver.lower(), "command": "/kudos", "api_app_id": "A1",
        "text": f"<@{receiver}|{receiver.lower()}> thanks for the careful review #{index}",
        "trigger_id": f"{tag}.{index}", "response_url": f"http://127.0.0.1:{fake_port}/response/{giver}",
    }  # fmt: skip


def signed(form: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = urlencode(form)
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    assert signature is not None  # None only without a signing secret
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    return body.encode(), headers


async def load(url: str, forms: list[dict[str, str]], concurrency: int) -> list[float]:
    """Sends the forms signed, ``concurrency`` at a time; returns ack latencies (ms)."""
    latencies: list[float] = []
    pending = iter(forms)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            for form in pending:
                body, headers = signed(form)
                started = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise SystemExit(f"a request was answered {response.status}")
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def stats(http: aiohttp.ClientSession, fake_port: int) -> dict:
    async with http.get(f"http://127.0.0.1:{fake_port}/stats") as response:
        return await response.json()


async def delivered(http: aiohttp.ClientSession, fake_port: int, tag: str) -> int:
    """Channel posts plus private notes of run ``tag`` the fake accepted."""
    posts = (await stats(http, fake_port))["posts"]
    return posts.get("C" + tag, 0) + posts.get("U" + tag, 0)


async def until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)  # polling other processes: the only way to see them change


@contextlib.asynccontextmanager
async def process(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, log: Path | None = None
) -> AsyncIterator[int]:
    """A child Python process (its pid), stopped with SIGTERM (SIGKILL after 30 s) on the way out."""
    output: IO[bytes] | int = log.open("wb") if log is not None else asyncio.subprocess.DEVNULL
    child = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=cwd, env=env, stdout=output, stderr=output
    )
    try:
        yield child.pid
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
                await child.wait()
        if not isinstance(output, int):
            output.close()


async def listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def ready(port: int) -> bool:
    """Whether the Tend server on ``port`` answers ``/readyz`` with 200 (started and migrated)."""
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False


def percentile(latencies: list[float], p: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Figures:
    label: str
    latencies: list[float]
    cpu: float  # seconds over the load and its drain
    wall: float
    handled: int
    rss: float
    peak: float
    unit: str = "kudos"
    steps: dict[str, list[float]] = field(default_factory=dict)  # ack latencies by request kind

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / self.handled

    def line(self) -> str:
        return (
            f"{self.label:9} CPU {self.cpu_ms:6.2f} ms/{self.unit}   ack p50 {self.percentile(50):6.1f} ms   "
            f"p99 {self.percentile(99):6.1f} ms   done in {self.wall:5.1f} s   "
            f"RSS {self.rss:5.0f} MB (peak {self.peak:4.0f})"
        )

    def by_step(self) -> str:
        """Each request kind's ack p50/p99, for an item made of more than one request."""
        return "   ".join(
            f"{name} p50 {percentile(acks, 50):.1f} / p99 {percentile(acks, 99):.1f} ms"
            for name, acks in self.steps.items()
        )


# --- what an item is, per practice -----------------------------------------------------------------------


@dataclass
class Target:
    """One server under load, and what the fake received from it."""

    http: aiohttp.ClientSession
    url: str
    fake_port: int
    card: dict[str, Any] | None = None  # the opener card the server posted (tap)

    async def counts(self) -> dict[str, int]:
        return dict((await stats(self.http, self.fake_port))["counts"])

    async def opened(self, prefix: str) -> dict[str, dict[str, Any]]:
        """The modals the server opened for trigger ids starting with ``prefix``."""
        address = f"http://127.0.0.1:{self.fake_port}/opened"
        async with self.http.get(address, params={"prefix": prefix}) as response:
            return dict(await response.json())

    async def said(self, key: str, phrase: str) -> tuple[int, str | None]:
        """Calls under count ``key`` whose arguments contain ``phrase``, and one that does not (or None)."""
        address = f"http://127.0.0.1:{self.fake_port}/said"
        async with self.http.get(address, params={"key": key, "phrase": phrase}) as response:
            found = await response.json()
        return int(found["matching"]), found["other"]

    async def posted_card(self, channel: str) -> bool:
        async with self.http.get(f"http://127.0.0.1:{self.fake_port}/card", params={"channel": channel}) as r:
            self.card = await r.json()
        return self.card is not None


Forms = Callable[[Target, str, range], Awaitable[list[dict[str, str]]]]


@dataclass(frozen=True)
class Step:
    """One request of an item: its signed forms (built once the step before has all its answers) and the
    fake's counts (``/stats``) each item of it adds one to; the step is done when all have."""

    name: str
    forms: Forms
    adds: Callable[[str], tuple[str, ...]]  # run tag -> count keys
    says: tuple[str, str] | None = None  # (count key with "{tag}", phrase): every such call must say it


@dataclass(frozen=True)
class Practice:
    name: str
    unit: str  # what CPU is divided by
    what: str  # the requests, as the run's heading says
    steps: tuple[Step, ...]
    setup: Callable[[Target, str], Awaitable[None]] | None = None


async def _kudos_forms(target: Target, tag: str, indices: range) -> list[dict[str, str]]:
    return [kudos_form(index, target.fake_port, tag) for index in indices]


async def _stress_commands(target: Target, tag: str, indices: range) -> list[dict[str, str]]:
    return [loads.stress_command(index, target.fake_port, tag) for index in indices]


async def _stress_choices(target: Target, tag: str, indices: range) -> list[dict[str, str]]:
    views = await target.opened(f"{tag}.")
    return [loads.choice_payload(index, tag, views[f"{tag}.{index}"]) for index in indices]


async def _stress_submissions(target: Target, tag: str, indices: range) -> list[dict[str, str]]:
    views = await target.opened(f"{tag}.")
    return [loads.submission_payload(index, tag, views[f"{tag}.{index}"]) for index in indices]


async def _tap_forms(target: Target, tag: str, indices: range) -> list[dict[str, str]]:
    assert target.card is not None  # set up first
    return [loads.tap_payload(index, target.fake_port, tag, target.card) for index in indices]


async def _opener_set_up(target: Target, tag: str) -> None:
    """An admin adds a daily opener due next minute; the server posts its card (Tend: when it fires)."""
    await load(target.url, [loads.opener_command(target.fake_port, tag, datetime.now(UTC))], 1)
    channel = loads.OPENER_CHANNEL.format(tag=tag)
    await until(lambda: target.posted_card(channel), OPENER_WITHIN, "the opener's card")


PRACTICES = {
    "kudos": Practice(
        "kudos", "kudos", "signed /kudos",
        (Step("kudos", _kudos_forms, lambda tag: (f"chat.postMessage:C{tag}", f"chat.postMessage:U{tag}")),),
    ),
    "stress": Practice(
        "stress", "report", "stress reports (signed /tend stress, a choice in its form, the submission)",
        (
            Step("command", _stress_commands, lambda tag: (f"views.open:{tag}.",)),
            Step("choice", _stress_choices, lambda tag: ("views.update",)),
            Step(
                "submission", _stress_submissions, lambda tag: (f"chat.postEphemeral:U{tag}",),
                says=("chat.postEphemeral:U{tag}", "It is counted"),
            ),
        ),
    ),
    "tap": Practice(
        "tap", "tap", "signed opener taps (one card, each person once)",
        (
            Step(  # one card: every update is the run's
                "tap", _tap_forms, lambda tag: ("chat.update", f"response:U{tag}"),
                says=("response:U{tag}", "counted anonymously"),
            ),
        ),
        setup=_opener_set_up,
    ),
}  # fmt: skip


async def drive(
    target: Target, practice: Practice, tag: str, count: int, concurrency: int
) -> dict[str, list[float]]:
    """``count`` items of run ``tag``, step by step; returns each step's ack latencies (ms)."""
    latencies: dict[str, list[float]] = {}
    for step in practice.steps:
        before = await target.counts()
        forms = await step.forms(target, tag, range(count))
        latencies[step.name] = await load(target.url, forms, concurrency)
        keys = step.adds(tag)

        async def answered(keys: tuple[str, ...] = keys, before: dict[str, int] = before) -> bool:
            now = await target.counts()
            return all(now.get(key, 0) - before.get(key, 0) >= count for key in keys)

        await until(answered, DRAIN_WITHIN, f"the answers to {count} {step.name} requests of run {tag}")
        if step.says is not None:  # the answers are the ones a person gets for a handled item, not refusals
            key, phrase = step.says[0].format(tag=tag), step.says[1]
            matching, other = await target.said(key, phrase)
            if other is not None or matching < count:
                raise SystemExit(f"{step.name}: {matching} of {count} answers say {phrase!r}; one: {other}")
    return latencies


async def measure(
    label: str,
    tag: str,
    pid: int,
    port: int,
    fake_port: int,
    requests: int,
    concurrency: int,
    practice: Practice = PRACTICES["kudos"],
) -> Figures:
    url = f"http://127.0.0.1:{port}/slack/events"
    async with aiohttp.ClientSession() as http:
        target = Target(http, url, fake_port)
        if practice.setup is not None:
            await practice.setup(target, tag)
        await drive(target, practice, WARM[tag], concurrency, concurrency)
        cpu_before, started = cpu_seconds(pid), time.perf_counter()
        steps = await drive(target, practice, tag, requests, concurrency)
        cpu, wall = cpu_seconds(pid) - cpu_before, time.perf_counter() - started
    rss, peak = memory_mb(pid)
    latencies = [latency for acks in steps.values() for latency in acks]
    return Figures(label, latencies, cpu, wall, requests, rss, peak, practice.unit, steps)


async def _at_least(http: aiohttp.ClientSession, fake_port: int, tag: str, count: int) -> bool:
    return await delivered(http, fake_port, tag) >= count


async def run(
    args: argparse.Namespace, folder: Path, number: int, practice: Practice = PRACTICES["kudos"]
) -> tuple[Figures, Figures]:
    fake_port, bare_port, tend_port = free_port(), free_port(), free_port()
    zone = working_zone(datetime.now(UTC))
    me = str(ROOT / "benchmarks" / "kudos_cpu.py")
    api_url = f"http://127.0.0.1:{fake_port}/api/"
    async with process(me, "fake", "--port", str(fake_port), "--zone", zone):
        await until(lambda: listening(fake_port), 30, "the fake Web API")
        bare_log = folder / f"bare-{practice.name}-{number}.log"
        bare_args = ("bare", "--port", str(bare_port), "--api", api_url, "--practice", practice.name)
        async with process(me, *bare_args, log=bare_log) as pid:
            await until(lambda: listening(bare_port), 30, "bare Bolt")
            bare = await measure(
                "bare Bolt", "B", pid, bare_port, fake_port, args.requests, args.concurrency, practice
            )
        database = args.database_url or f"sqlite:///{folder}/tend-{practice.name}-{number}.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEND_", "DATABASE_URL"))}
        env.update(
            DATABASE_URL=database, HOST="127.0.0.1", PORT=str(tend_port), SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api_url, TEND_SECRET_KEY=TEND_KEY,
        )  # fmt: skip
        tend_log = folder / f"tend-{practice.name}-{number}.log"
        async with process("app.py", "serve", env=env, log=tend_log) as pid:
            await until(lambda: ready(tend_port), 60, "Tend's /readyz")
            tend = await measure(
                "Tend", "T", pid, tend_port, fake_port, args.requests, args.concurrency, practice
            )
    return bare, tend


async def main(args: argparse.Namespace) -> None:
    names = list(PRACTICES) if args.practice == "all" else [args.practice]
    for name in names:
        await measure_practice(args, PRACTICES[name])


async def measure_practice(args: argparse.Namespace, practice: Practice) -> None:
    """``args.runs`` runs of one practice, each with fresh processes and database; the medians' verdict."""
    runs: list[tuple[Figures, Figures]] = []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(args.runs):
            if args.postgres:
                from benchmarks.databases import postgres_url

                async with postgres_url(args.postgres) as url:
                    args.database_url = url
                    runs.append(await run(args, Path(folder), number, practice))
            else:
                args.database_url = None
                runs.append(await run(args, Path(folder), number, practice))
            bare, tend = runs[-1]
            print(f"run {number + 1}: {args.requests:,} {practice.what} at concurrency {args.concurrency}")
            print("  " + bare.line())
            print("  " + tend.line())
            if len(practice.steps) > 1:
                print(f"  {'':9} ack by request, bare Bolt: {bare.by_step()}")
                print(f"  {'':9} ack by request, Tend:      {tend.by_step()}")
    bare_cpu = statistics.median(b.cpu_ms for b, _ in runs)
    tend_cpu = statistics.median(t.cpu_ms for _, t in runs)
    bare_p99 = statistics.median(b.percentile(99) for b, _ in runs)
    tend_p99 = statistics.median(t.percentile(99) for _, t in runs)
    cpu_ok, p99_ok = tend_cpu <= TARGET_CPU_RATIO * bare_cpu, tend_p99 <= TARGET_P99_RATIO * bare_p99
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{backend}, medians of {len(runs)} runs: CPU per {practice.unit} bare Bolt {bare_cpu:.2f} ms, "
        f"Tend {tend_cpu:.2f} ms "
        f"({tend_cpu / bare_cpu:.2f}x; target <= {TARGET_CPU_RATIO}x: {'met' if cpu_ok else 'MISSED'})   "
        f"ack p99 bare Bolt {bare_p99:.1f} ms, Tend {tend_p99:.1f} ms ({tend_p99 / bare_p99:.2f}x; "
        f"target <= {TARGET_P99_RATIO}x: {'met' if p99_ok else 'MISSED'})   "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("role", nargs="?", default="bench", choices=("bench", "fake", "bare"))
    parser.add_argument(
        "--practice", default="kudos", choices=(*PRACTICES, "all"), help="what an item is (all: each in turn)"
    )
    parser.add_argument(
        "--requests", type=int, default=400, help="items (a /kudos, a report, a tap) per server"
    )
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight at once")
    parser.add_argument(
        "--runs", type=int, default=1, help="runs, each with fresh processes (verdict: medians)"
    )
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throwaway database is created there")
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--zone", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    parsed = arguments()
    if parsed.role == "fake":
        serve_fake(parsed.port, parsed.zone)
    elif parsed.role == "bare":
        serve_bare(parsed.port, parsed.api, parsed.practice)
    else:
        asyncio.run(main(parsed))
