"""Issue 18's sustained throughput and scale-out: replicas of ``python app.py serve`` on one PostgreSQL.

    .venv/bin/python benchmarks/scaleout.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/scaleout.py --postgres URL --replicas 2 --rate 60 --seconds 10
    .venv/bin/python benchmarks/scaleout.py --postgres URL --channels 20   # the pacing binds: 20 channels
    .venv/bin/python benchmarks/scaleout.py --postgres URL --max-queued 200  # refusals past the bound

The code measured is ``--commit`` (default HEAD) exported with ``git archive`` into a temporary folder,
so edits in progress in the checkout are not measured (``--commit ''`` runs the checkout as it is).

For each replica count: a throwaway database on the server, the fake Slack Web API in its own process
(``tests/fake_slack_api.py``, with a ``/stats`` route counting what it accepted per kudos), and that
many real ``python app.py serve`` processes (single workspace, ``SLACK_BOT_TOKEN``), each on its own
port, all on the same database with the same ``TEND_SECRET_KEY``. Each replica is warmed up with a few
kudos (not counted). Then signed ``/kudos`` go round-robin over the replicas, either as fast as they
are acked (``--concurrency`` in flight) or at a fixed offered ``--rate`` a second (open loop: a slow ack
does not slow the sending), for ``--requests`` requests or ``--seconds`` seconds. Each kudos has its own
giver, receiver, channel (unless ``--channels``) and a unique marker in its reason.

Measured, from the first request sent until the fake has accepted every channel post and every
receiver's note of the acked kudos (or until nothing more arrives for ``--stall`` seconds):

- handled commands a second (acked kudos / that window) and the replicas' CPU (user + system from
  ``/proc/<pid>/stat``, summed): handled kudos per CPU-second, i.e. per core fully used;
- ack p50/p99 (sending a request to reading its whole answer) and acks that refused the command;
- from sending each kudos to its post and note both at the fake (p50/p99/max: the wait after the ack);
- each replica's CPU a second while idle, before the load (its background loops);
- duplicates (a kudos whose post or note the fake accepted more than once: must be 0) and lost (an
  acked kudos with no post or no note: must be 0);
- every second, each replica's ``/metrics``: ``tend_inbound_queued`` and its maximum (back-pressure
  visible), ``tend_inbound_handled_total`` (how the work spread over the replicas) and the series
  named in ``--metric-names`` (one name first on each line), when a replica exports them;
- the machine: cores, load average before and after, and how CPU-bound it was: the benchmark's
  processes' CPU (replicas, fake, this load generator, the database's backends for this database) and
  the whole machine's busy time (``/proc/stat``), each over wall time x cores.

Targets (issue 18): >= 300 handled commands a second per core on PostgreSQL with the per-channel pacing
applied to the sends, the queue after the ack bounded and visible in /metrics, and scale-out over 1, 2
and 4 replicas with 0 duplicates (and here 0 lost). On a machine with fewer cores than replicas the
replicas share them: throughput cannot grow past the cores, which the CPU-bound figure shows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.kudos_cpu import (  # noqa: E402  (needs ROOT on the path first)
    SECRET,
    TEND_KEY,
    TOKEN,
    cpu_seconds,
    free_port,
    listening,
    process,
    ready,
    signed,
    working_zone,
)

TARGET_PER_CORE = 300.0  # handled commands a second per core (issue 18)
MARKER = re.compile(r"ref([A-Z])(\d{6})x")  # in each kudos' reason: which run and which kudos
QUEUED, HANDLED = "tend_inbound_queued", "tend_inbound_handled_total"
WARM_PER_REPLICA = 10
READY_WITHIN = 120.0  # seconds for every replica's /readyz (the first one migrates the database)
IDLE_SECONDS = 3.0  # replicas left alone after the warm-up: their CPU for nothing (background loops)
MAX_IN_FLIGHT = 2000  # open-loop sending: requests awaiting their ack at most (sockets are finite)


# --- the fake Slack process ------------------------------------------------------------------------------


class Tally:
    """Counts, per kudos, the channel posts and receivers' notes the fake accepted (new calls only)."""

    def __init__(self) -> None:
        self.seen = 0  # calls of the fake already counted
        self.posts: dict[str, int] = {}  # "<run><index>" -> channel posts carrying its marker
        self.notes: dict[str, int] = {}  # receiver's note (a DM to D<receiver>) -> count
        self.answers: dict[str, int] = {}  # run -> POSTs to its givers' response_url (private answers)
        self.other = 0  # accepted chat.postMessage calls that are neither
        self.first: dict[str, list[float]] = {}  # key -> when its first post and first note came (time())

    def count(self, calls: list[Any], stamps: dict[int, float]) -> None:
        for call in calls[self.seen :]:
            if call.method == "response":
                run = str(call.args.get("_response_url", ""))[1:2]  # U<run>G…
                self.answers[run] = self.answers.get(run, 0) + 1
            elif call.method == "chat.postMessage" and call.status == 200:
                channel = str(call.args.get("channel", ""))
                found = MARKER.search(json.dumps(call.args)) if channel.startswith("C") else None
                note = re.fullmatch(r"DU([A-Z])R(\d{6})", channel)
                if found:
                    key = found.group(1) + found.group(2)
                    self.posts[key] = self.posts.get(key, 0) + 1
                    self.first.setdefault(key, []).append(stamps[id(call)])
                elif note:
                    key = note.group(1) + note.group(2)
                    self.notes[key] = self.notes.get(key, 0) + 1
                    self.first.setdefault(key, []).append(stamps[id(call)])
                else:
                    self.other += 1
        self.seen = len(calls)


def serve_fake(port: int, zone: str, tree: Path) -> None:
    """The fake Web API with ``/stats``: per-kudos counts of channel posts and notes."""
    sys.path.insert(0, str(tree))  # the measured code's fake (and its bot.server)
    import tests.fake_slack_api as fake_module
    from tests.fake_slack_api import FakeSlackApi

    fake_module.DEFAULT_TZ = zone  # receivers in working hours: notes go at once, not the next morning

    class Stamped(FakeSlackApi):
        """Notes when each call arrived (by the call's id: calls stay in ``calls``, so ids stay unique)."""

        def __init__(self) -> None:
            super().__init__()
            self.stamps: dict[int, float] = {}

        async def _record(self, call: Any) -> None:
            self.stamps[id(call)] = time.time()
            await super()._record(call)

    fake, tally = Stamped(), Tally()

    async def stats(_request: web.Request) -> web.Response:
        tally.count(fake.calls, fake.stamps)
        delivered = {key: max(times[:2]) for key, times in tally.first.items() if len(times) >= 2}
        body = {
            "posts": tally.posts, "notes": tally.notes, "answers": tally.answers, "other": tally.other,
            "delivered": delivered,
        }  # fmt: skip
        return web.json_response(body)

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


def exported(commit: str, folder: Path) -> Path:
    """``commit``'s files in ``folder``/tree (git archive: the checkout and its index stay untouched)."""
    tree = folder / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


# --- the load ----------------------------------------------------------------------------------------------


def kudos_form(run: str, index: int, fake_port: int, channels: int) -> dict[str, str]:
    """Kudos ``index`` of ``run`` (one capital): its own giver and receiver, a unique marker in the reason."""
    giver, receiver = f"U{run}G{index:06d}", f"U{run}R{index:06d}"
    channel = f"C{run}{index % channels if channels else index:06d}"
    return {
        "team_id": "T1", "team_domain": "acme", "channel_id": channel, "channel_name": "general",
        "user_id": giver, "user_name": giver.lower(), "command": "/kudos", "api_app_id": "A1",
        "text": f"<@{receiver}|{receiver.lower()}> thanks for the careful review ref{run}{index:06d}x",
        "trigger_id": f"{run}.{index}", "response_url": f"http://127.0.0.1:{fake_port}/response/{giver}",
    }  # fmt: skip


@dataclass
class Acks:
    latencies: list[float] = field(default_factory=list)  # ms
    taken: list[str] = field(default_factory=list)  # keys of kudos acked as taken (empty 200)
    sent_at: dict[str, float] = field(default_factory=dict)  # key -> when it was sent (time())
    refused: int = 0  # acked with an answer (Tend could not take it: nothing stored)
    failed: int = 0  # not 200, or no answer at all
    sent: int = 0
    sending: float = 0.0  # seconds from the first request sent to the last


async def send_one(
    http: aiohttp.ClientSession, url: str, run: str, index: int, form: dict[str, str], acks: Acks
) -> None:
    body, headers = signed(form)
    started, sent_at = time.perf_counter(), time.time()
    try:
        async with http.post(url, data=body, headers=headers) as response:
            answer = await response.read()
            status = response.status
    except aiohttp.ClientError:
        acks.failed += 1
        return
    acks.latencies.append((time.perf_counter() - started) * 1000)
    if status != 200:
        acks.failed += 1
    elif answer.strip():
        acks.refused += 1
    else:
        acks.taken.append(f"{run}{index:06d}")
        acks.sent_at[acks.taken[-1]] = sent_at


async def load(args: argparse.Namespace, urls: list[str], run: str, fake_port: int) -> Acks:
    """Sends round-robin over ``urls``: closed loop at ``--concurrency``, or open loop at ``--rate``."""
    acks = Acks()
    started = time.perf_counter()

    def more(index: int) -> bool:
        if args.seconds:  # open loop: request ``index`` is due at index / rate
            return (index / args.rate if args.rate else time.perf_counter() - started) < args.seconds
        return index < args.requests

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)) as http:
        if args.rate:
            in_flight: set[asyncio.Task[None]] = set()
            index = 0
            while more(index):
                due = started + index / args.rate
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)  # the offered rate's clock, not a synchronisation
                form = kudos_form(run, index, fake_port, args.channels)
                task = asyncio.create_task(send_one(http, urls[index % len(urls)], run, index, form, acks))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                index += 1
            acks.sent, acks.sending = index, time.perf_counter() - started
            await asyncio.gather(*in_flight)
        else:
            counter = iter(range(10**9))

            async def worker() -> None:
                for index in counter:
                    if not more(index):
                        return
                    form = kudos_form(run, index, fake_port, args.channels)
                    await send_one(http, urls[index % len(urls)], run, index, form, acks)
                    acks.sent += 1

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            acks.sending = time.perf_counter() - started
    return acks


# --- what the processes and the machine did ----------------------------------------------------------------


def backends(database: str) -> list[int]:
    """The PostgreSQL backend processes serving ``database`` (their title names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if title.startswith("postgres: ") and f" {database} " in title:
                    found.append(int(entry.name))
    return found


def cpus(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            found[pid] = cpu_seconds(pid)
    return found


def machine_busy() -> tuple[float, float]:
    """The whole machine's busy and total CPU time so far (seconds, every core), from ``/proc/stat``."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    clock = os.sysconf("SC_CLK_TCK")
    return (sum(ticks[:8]) - idle) / clock, sum(ticks[:8]) / clock


def metric_names(path: Path) -> list[str]:
    """The extra series to read from /metrics: the first word of each line of ``path`` (none if absent)."""
    if not path.exists():
        return []
    names = []
    for line in path.read_text().splitlines():
        words = re.split(r"[\s:,(]+", line.strip().lstrip("-*` "), maxsplit=1)
        if words and re.fullmatch(r"[a-z_][a-z0-9_]*", words[0].strip("`")):
            names.append(words[0].strip("`"))
    return [name for name in dict.fromkeys(names) if name not in (QUEUED, HANDLED)]


def samples(text: str, name: str) -> float | None:
    """One series summed over its labels; None when the replica does not export it."""
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if not line.startswith("#") and re.match(rf"{name}(\{{| )", line)
    ]
    return sum(values) if values else None


@dataclass
class Watch:
    """What each replica's /metrics said, polled every second: the last value and the maximum per series."""

    names: list[str]
    last: list[dict[str, float]]
    peak: list[dict[str, float]]
    polls: int = 0

    async def poll(self, http: aiohttp.ClientSession, ports: list[int]) -> None:
        for number, port in enumerate(ports):
            try:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                    text = await response.text()
            except aiohttp.ClientError:
                continue
            for name in (QUEUED, HANDLED, *self.names):
                value = samples(text, name)
                if value is not None:
                    self.last[number][name] = value
                    self.peak[number][name] = max(value, self.peak[number].get(name, value))
        self.polls += 1

    async def run(self, ports: list[int]) -> None:
        async with aiohttp.ClientSession() as http:
            while True:
                await self.poll(http, ports)
                await asyncio.sleep(1.0)  # the issue's once a second


async def stats(http: aiohttp.ClientSession, fake_port: int) -> dict[str, Any]:
    async with http.get(f"http://127.0.0.1:{fake_port}/stats") as response:
        result: dict[str, Any] = await response.json()
        return result


async def until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.1)  # polling other processes: the only way to see them change


async def drained(http: aiohttp.ClientSession, fake_port: int, keys: list[str], stall: float) -> float:
    """Waits until every kudos in ``keys`` has its post and note, or nothing new came for ``stall`` s.

    Returns when the last of them was seen (perf_counter)."""
    wanted, progress, last_change, seen_at = set(keys), -1, time.monotonic(), time.perf_counter()
    while True:
        found = await stats(http, fake_port)
        done = sum(1 for key in wanted if key in found["posts"]) + sum(
            1 for key in wanted if key in found["notes"]
        )
        if done != progress:
            progress, last_change, seen_at = done, time.monotonic(), time.perf_counter()
        if done == 2 * len(wanted) or time.monotonic() - last_change > stall:
            return seen_at
        await asyncio.sleep(0.1)  # polling another process


# --- one replica count -------------------------------------------------------------------------------------


@dataclass
class Result:
    replicas: int
    acks: Acks
    wall: float  # first request sent to the last post or note seen
    replica_cpu: list[float]
    fake_cpu: float
    loader_cpu: float
    database_cpu: float
    machine_busy: float  # seconds of CPU, every process on the machine
    duplicates: int
    waits: list[float]  # seconds from sending each handled kudos to its post and note both at the fake
    lost: int
    answers: int
    idle_per_second: float  # CPU seconds a second of one idle replica
    watch: Watch
    load_before: float
    load_after: float

    @property
    def handled(self) -> int:
        return len(self.acks.taken)

    @property
    def per_second(self) -> float:
        return self.handled / self.wall

    @property
    def per_cpu_second(self) -> float:
        return self.handled / sum(self.replica_cpu)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.acks.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0

    def wait(self, p: float) -> float:
        ordered = self.waits
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0

    def report(self, cores: int) -> str:
        ours = sum(self.replica_cpu) + self.fake_cpu + self.loader_cpu + self.database_cpu
        spread = ", ".join(f"{cpu:.1f}" for cpu in self.replica_cpu)
        handled_by = ", ".join(f"{int(peak.get(HANDLED, 0))}" for peak in self.watch.last)
        lines = [
            f"{self.replicas} replica(s): {self.acks.sent:,} signed /kudos sent in {self.acks.sending:.1f} s "
            f"({self.acks.sent / self.acks.sending:.0f}/s offered), {self.handled:,} acked as taken, "
            f"{self.acks.refused} refused, {self.acks.failed} failed",
            f"  handled {self.per_second:.1f} commands/s (all posts and notes seen {self.wall:.1f} s after "
            f"the first request); replicas' CPU {sum(self.replica_cpu):.1f} s ({spread}) -> "
            f"{self.per_cpu_second:.1f} handled/s per core ({1000 / self.per_cpu_second:.1f} ms CPU a kudos)",
            f"  ack p50 {self.percentile(50):.0f} ms, p99 {self.percentile(99):.0f} ms, max "
            f"{self.percentile(100):.0f} ms; duplicates {self.duplicates}, lost {self.lost}; giver answers "
            f"{self.answers}",
            f"  sent -> post and note at the fake: p50 {self.wait(50):.1f} s, p99 {self.wait(99):.1f} s, "
            f"max {self.wait(100):.1f} s",
            f"  idle, each replica spends {self.idle_per_second * 1000:.0f} ms of CPU a second "
            f"({self.idle_per_second * self.wall * self.replicas:.1f} s of the CPU above)",
            f"  inbound handled per replica (tend_inbound_handled_total, incl. warm-up): {handled_by}",
        ]
        for name in (QUEUED, *self.watch.names):
            peaks = [peak[name] for peak in self.watch.peak if name in peak]
            if peaks:
                lasts = [last[name] for last in self.watch.last if name in last]
                lines.append(
                    f"  {name}: max {max(peaks):g} (per replica {', '.join(f'{p:g}' for p in peaks)}), "
                    f"at the last poll {', '.join(f'{v:g}' for v in lasts)}"
                )
            else:
                lines.append(f"  {name}: not exported")
        lines.append(
            f"  machine: CPU-bound {ours / self.wall / cores:.0%} by this benchmark's processes (replicas "
            f"{sum(self.replica_cpu):.1f} s, fake {self.fake_cpu:.1f} s, load generator "
            f"{self.loader_cpu:.1f} s, "
            f"PostgreSQL backends {self.database_cpu:.1f} s over {self.wall:.1f} s x {cores} cores), "
            f"{self.machine_busy / self.wall / cores:.0%} by everything; load average "
            f"{self.load_before:.2f} before, {self.load_after:.2f} after"
        )
        return "\n".join(lines)


async def scale(args: argparse.Namespace, replicas: int, run: str, folder: Path, tree: Path) -> Result:
    """One measurement: a fresh database, a fresh fake and ``replicas`` servers on it."""
    from benchmarks.databases import postgres_url

    me = str(ROOT / "benchmarks" / "scaleout.py")
    fake_port, ports = free_port(), [free_port() for _ in range(replicas)]
    api_url = f"http://127.0.0.1:{fake_port}/api/"
    zone = working_zone(datetime.now(UTC))
    async with (
        postgres_url(args.postgres) as database,
        process(me, "fake", "--port", str(fake_port), "--zone", zone, "--tree", str(tree)) as fake_pid,
        contextlib.AsyncExitStack() as servers,
    ):
        await until(lambda: listening(fake_port), 30, "the fake Web API")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEND_", "DATABASE_URL"))}
        env.update(
            DATABASE_URL=database, HOST="127.0.0.1", SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=api_url, TEND_SECRET_KEY=TEND_KEY,
        )  # fmt: skip
        if args.max_queued:
            env["TEND_INBOUND_MAX_QUEUED"] = str(args.max_queued)
        pids = [
            await servers.enter_async_context(
                process(
                    "app.py",
                    "serve",
                    cwd=tree,
                    env={**env, "PORT": str(port)},
                    log=folder / f"{run}-{number}.log",
                )
            )
            for number, port in enumerate(ports)
        ]
        for port in ports:
            await until(lambda port=port: ready(port), READY_WITHIN, f"/readyz on {port}")  # type: ignore[misc]
        urls = [f"http://127.0.0.1:{port}/slack/events" for port in ports]
        async with aiohttp.ClientSession() as http:
            warm = argparse.Namespace(**{**vars(args), "rate": 0, "seconds": 0})
            warm.requests, warm.concurrency = WARM_PER_REPLICA * replicas, min(args.concurrency, 10)
            warmed = await load(warm, urls, "W", fake_port)
            await drained(http, fake_port, warmed.taken, args.stall)

            idle_before = cpus(pids)
            await asyncio.sleep(IDLE_SECONDS)  # the window over which idle CPU is measured
            idle = sum(cpus(pids).values()) - sum(idle_before.values())
            watch = Watch(metric_names(Path(args.metric_names)), [{} for _ in ports], [{} for _ in ports])
            await watch.poll(http, ports)
            watcher = asyncio.create_task(watch.run(ports))
            name = database.rsplit("/", 1)[1].split("?")[0]
            load_before = os.getloadavg()[0]
            replica_before, fake_before = cpus(pids), cpu_seconds(fake_pid)
            loader_before, database_before = cpu_seconds(os.getpid()), cpus(backends(name))
            busy_before, _ = machine_busy()
            started = time.perf_counter()
            acks = await load(args, urls, run, fake_port)
            finished = await drained(http, fake_port, acks.taken, args.stall)
            replica_after, fake_after = cpus(pids), cpu_seconds(fake_pid)
            loader_after, database_after = cpu_seconds(os.getpid()), cpus(backends(name))
            busy_after, _ = machine_busy()
            load_after = os.getloadavg()[0]
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await watch.poll(http, ports)
            found = await stats(http, fake_port)
    posts, notes = found["posts"], found["notes"]
    ours = [key for key in posts.keys() | notes.keys() if key.startswith(run)]
    duplicates = sum(1 for key in ours if posts.get(key, 0) > 1 or notes.get(key, 0) > 1)
    lost = sum(1 for key in acks.taken if key not in posts or key not in notes)
    delivered = found["delivered"]
    waits = sorted(delivered[key] - acks.sent_at[key] for key in acks.taken if key in delivered)
    return Result(
        replicas=replicas,
        acks=acks,
        wall=finished - started,
        replica_cpu=[replica_after[pid] - replica_before[pid] for pid in pids],
        fake_cpu=fake_after - fake_before,
        loader_cpu=loader_after - loader_before,
        database_cpu=sum(cpu - database_before.get(pid, 0.0) for pid, cpu in database_after.items()),
        machine_busy=busy_after - busy_before,
        duplicates=duplicates,
        waits=waits,
        lost=lost,
        answers=found["answers"].get(run, 0),
        idle_per_second=idle / IDLE_SECONDS / replicas,
        watch=watch,
        load_before=load_before,
        load_after=load_after,
    )


async def main(args: argparse.Namespace, tree: Path, folder: Path, measured: str) -> None:
    cores = os.cpu_count() or 1
    counts = [int(n) for n in args.replicas.split(",")]
    amount = f"for {args.seconds} s" if args.seconds else f"{args.requests:,} requests"
    pace = f"at {args.rate}/s offered" if args.rate else f"as fast as acked, {args.concurrency} in flight"
    channels = f"over {args.channels} channels" if args.channels else "each in its own channel"
    loads = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"measuring {measured}; {cores} cores, load average {loads}; replicas {counts}, {amount} {pace}, "
          f"{channels}")  # fmt: skip
    results = []
    for number, replicas in enumerate(counts):
        run = "ABCDEFGHIJKLMNOPQRSTUV"[number]  # W is the warm-up's
        results.append(await scale(args, replicas, run, folder, tree))
        print(results[-1].report(cores), flush=True)
    print(
        "replicas | handled/s | replicas' CPU s | handled/s per core | ack p50/p99 ms | queued max | dup "
        "| lost"
    )
    for r in results:
        queued = max((peak.get(QUEUED, 0.0) for peak in r.watch.peak), default=0.0)
        acked = f"{r.percentile(50):.0f}/{r.percentile(99):.0f}"
        print(
            f"{r.replicas:8} | {r.per_second:9.1f} | {sum(r.replica_cpu):15.1f} | {r.per_cpu_second:18.1f} | "
            f"{acked:>14} | {queued:10g} | {r.duplicates:3} | {r.lost:4}"
        )
    best = max(r.per_cpu_second for r in results)
    median = statistics.median(r.per_cpu_second for r in results)
    duplicates, lost = sum(r.duplicates for r in results), sum(r.lost for r in results)
    print(
        f"verdicts: handled/s per core best {best:.1f} (median {median:.1f}; "
        f"target >= {TARGET_PER_CORE:.0f}: {'met' if best >= TARGET_PER_CORE else 'MISSED'})   "
        f"duplicates {duplicates} (target 0: {'met' if duplicates == 0 else 'MISSED'})   "
        f"lost {lost} (target 0: {'met' if lost == 0 else 'MISSED'})   "
        f"load average now {os.getloadavg()[0]:.2f} on {cores} cores"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("role", nargs="?", default="bench", choices=("bench", "fake"))
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throwaway database is created there")
    parser.add_argument("--replicas", default="1,2,4", help="replica counts to measure one after the other")
    parser.add_argument("--requests", type=int, default=400, help="signed /kudos per replica count")
    parser.add_argument("--seconds", type=float, default=0, help="send for this long instead of --requests")
    parser.add_argument(
        "--rate", type=float, default=0, help="offered requests a second (0: as fast as acked)"
    )
    parser.add_argument("--concurrency", type=int, default=20, help="in flight at once without --rate")
    parser.add_argument(
        "--channels", type=int, default=0, help="channels shared round-robin (0: one per kudos)"
    )
    parser.add_argument(
        "--stall", type=float, default=60, help="give up when no post arrives for this long (s)"
    )
    parser.add_argument(
        "--metric-names",
        default="/tmp/h/metric_names.txt",
        help="a file naming more /metrics series to watch, one first on each line (skipped when absent)",
    )
    parser.add_argument(
        "--max-queued",
        type=int,
        default=0,
        help="the replicas' TEND_INBOUND_MAX_QUEUED (default: theirs), to see refusals past it",
    )
    parser.add_argument("--logs", help="keep each replica's log in this folder (default: a temporary one)")
    parser.add_argument(
        "--commit",
        default="HEAD",
        help="measure this commit, exported with git archive (others may be editing the checkout); "
        "'' to run the checkout as it is",
    )
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--zone", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.role == "bench" and not parsed.postgres:
        parser.error("--postgres is required: replicas share one PostgreSQL database")
    if parsed.logs:
        Path(parsed.logs).mkdir(parents=True, exist_ok=True)
    return parsed


if __name__ == "__main__":
    parsed = arguments()
    if parsed.role == "fake":
        serve_fake(parsed.port, parsed.zone, Path(parsed.tree))
    else:
        with tempfile.TemporaryDirectory() as temporary:
            if parsed.commit:
                revision = ["git", "rev-parse", "--short", parsed.commit]
                done = subprocess.run(revision, cwd=ROOT, check=True, capture_output=True, text=True)
                measured, tree = done.stdout.strip(), exported(parsed.commit, Path(temporary))
            else:
                measured, tree = "the checkout as it is", ROOT
            asyncio.run(main(parsed, tree, Path(parsed.logs or temporary), measured))
