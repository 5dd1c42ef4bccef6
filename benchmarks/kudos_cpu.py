"""CPU per handled /kudos, end to end, black-box: a real ``python app.py serve`` against a minimal Bolt app.

    .venv/bin/python benchmarks/kudos_cpu.py                      # 400 signed /kudos, 20 at a time, SQLite
    .venv/bin/python benchmarks/kudos_cpu.py --requests 100       # a quick run
    .venv/bin/python benchmarks/kudos_cpu.py --postgres postgresql://postgres@127.0.0.1:5432/test

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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "kudos-cpu-signing-secret"
TOKEN = "xoxb-kudos-cpu"
TEND_KEY = "kudos-cpu-benchmark-secret-key-0123456789abcdef"
TARGET_CPU_RATIO, TARGET_P99_RATIO = 2.0, 1.2
DRAIN_WITHIN = 300.0  # seconds for every post of the load to reach the fake
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


def serve_fake(port: int, zone: str) -> None:
    """The fake Web API with a /stats route counting accepted posts by channel prefix and answers."""
    import tests.fake_slack_api as fake_module
    from tests.fake_slack_api import FakeSlackApi

    fake_module.DEFAULT_TZ = zone

    fake = FakeSlackApi()

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
        return web.json_response({"posts": counts, "answers": answers, "calls": len(fake.calls)})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", fake._api)
        app.router.add_get("/api/{method}", fake._api)
        app.router.add_post("/response/{name}", fake._response)
        app.router.add_get("/stats", stats)
        fake.port = port
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the bare Bolt process -------------------------------------------------------------------------------


def serve_bare(port: int, api_url: str) -> None:
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    async def main() -> None:
        session = aiohttp.ClientSession()  # keep-alive, as any app sending this much would use
        client = AsyncWebClient(token=TOKEN, base_url=api_url, session=session)
        bolt = AsyncApp(client=client, signing_secret=SECRET)

        @bolt.command("/kudos")
        async def kudos(ack: AsyncAck, command: dict[str, str], client: AsyncWebClient) -> None:
            await ack()
            receiver = command["text"].split("|", 1)[0].removeprefix("<@")
            await client.chat_postMessage(channel=command["channel_id"], text=f"Kudos: {command['text']}")
            await client.chat_postMessage(channel=receiver, text=f"<@{command['user_id']}> thanked you")

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
                        raise SystemExit(f"a /kudos was answered {response.status}")
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
    *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> AsyncIterator[int]:
    output: IO[bytes] | int = log.open("wb") if log is not None else asyncio.subprocess.DEVNULL
    child = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env, stdout=output, stderr=output
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


@dataclass
class Figures:
    label: str
    latencies: list[float]
    cpu: float  # seconds over the load and its drain
    wall: float
    handled: int
    rss: float
    peak: float

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / self.handled

    def line(self) -> str:
        return (
            f"{self.label:9} CPU {self.cpu_ms:6.2f} ms/kudos   ack p50 {self.percentile(50):6.1f} ms   "
            f"p99 {self.percentile(99):6.1f} ms   done in {self.wall:5.1f} s   "
            f"RSS {self.rss:5.0f} MB (peak {self.peak:4.0f})"
        )


async def measure(
    label: str, tag: str, pid: int, port: int, fake_port: int, requests: int, concurrency: int
) -> Figures:
    url = f"http://127.0.0.1:{port}/slack/events"
    async with aiohttp.ClientSession() as http:
        warm = [kudos_form(index, fake_port, WARM[tag]) for index in range(concurrency)]
        await load(url, warm, concurrency)
        await until(lambda: _at_least(http, fake_port, WARM[tag], 2 * concurrency), DRAIN_WITHIN, "warm-up")
        forms = [kudos_form(index, fake_port, tag) for index in range(requests)]
        cpu_before, started = cpu_seconds(pid), time.perf_counter()
        latencies = await load(url, forms, concurrency)
        await until(lambda: _at_least(http, fake_port, tag, 2 * requests), DRAIN_WITHIN, f"{label}'s posts")
        cpu, wall = cpu_seconds(pid) - cpu_before, time.perf_counter() - started
    rss, peak = memory_mb(pid)
    return Figures(label, latencies, cpu, wall, requests, rss, peak)


async def _at_least(http: aiohttp.ClientSession, fake_port: int, tag: str, count: int) -> bool:
    return await delivered(http, fake_port, tag) >= count


async def run(args: argparse.Namespace, folder: Path, number: int) -> tuple[Figures, Figures]:
    fake_port, bare_port, tend_port = free_port(), free_port(), free_port()
    zone = working_zone(datetime.now(UTC))
    me = str(ROOT / "benchmarks" / "kudos_cpu.py")
    api_url = f"http://127.0.0.1:{fake_port}/api/"
    async with process(me, "fake", "--port", str(fake_port), "--zone", zone):
        await until(lambda: listening(fake_port), 30, "the fake Web API")
        bare_log = folder / f"bare-{number}.log"
        async with process(me, "bare", "--port", str(bare_port), "--api", api_url, log=bare_log) as pid:
            await until(lambda: listening(bare_port), 30, "bare Bolt")
            bare = await measure("bare Bolt", "B", pid, bare_port, fake_port, args.requests, args.concurrency)
        database = args.database_url or f"sqlite:///{folder}/tend-{number}.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEND_", "DATABASE_URL"))}
        env.update(
            DATABASE_URL=database, HOST="127.0.0.1", PORT=str(tend_port), SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api_url, TEND_SECRET_KEY=TEND_KEY,
        )  # fmt: skip
        async with process("app.py", "serve", env=env, log=folder / f"tend-{number}.log") as pid:

            async def ready() -> bool:
                try:
                    async with (
                        aiohttp.ClientSession() as http,
                        http.get(f"http://127.0.0.1:{tend_port}/readyz") as r,
                    ):
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await until(ready, 60, "Tend's /readyz")
            tend = await measure("Tend", "T", pid, tend_port, fake_port, args.requests, args.concurrency)
    return bare, tend


async def main(args: argparse.Namespace) -> None:
    runs: list[tuple[Figures, Figures]] = []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(args.runs):
            if args.postgres:
                from benchmarks.databases import postgres_url

                async with postgres_url(args.postgres) as url:
                    args.database_url = url
                    runs.append(await run(args, Path(folder), number))
            else:
                args.database_url = None
                runs.append(await run(args, Path(folder), number))
            bare, tend = runs[-1]
            print(f"run {number + 1}: {args.requests:,} signed /kudos at concurrency {args.concurrency}")
            print("  " + bare.line())
            print("  " + tend.line())
    bare_cpu = statistics.median(b.cpu_ms for b, _ in runs)
    tend_cpu = statistics.median(t.cpu_ms for _, t in runs)
    bare_p99 = statistics.median(b.percentile(99) for b, _ in runs)
    tend_p99 = statistics.median(t.percentile(99) for _, t in runs)
    cpu_ok, p99_ok = tend_cpu <= TARGET_CPU_RATIO * bare_cpu, tend_p99 <= TARGET_P99_RATIO * bare_p99
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{backend}, medians of {len(runs)} runs: CPU per kudos bare Bolt {bare_cpu:.2f} ms, "
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
    parser.add_argument("--requests", type=int, default=400, help="signed /kudos per server")
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
        serve_bare(parsed.port, parsed.api)
    else:
        asyncio.run(main(parsed))
