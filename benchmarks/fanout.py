"""How long the outbox takes to deliver 5,000 personal prompts across 50 Slack workspaces, against the
time Slack's per-channel limit allows; and whether any prompt is lost or sent twice.

    .venv/bin/python benchmarks/fanout.py                   # 50 workspaces x 25 people x 4 prompts
    .venv/bin/python benchmarks/fanout.py --workspaces 10   # a quick run (1,000 prompts)
    .venv/bin/python benchmarks/fanout.py --postgres postgresql://postgres@127.0.0.1:5432/test

The prompts are ``DirectMessage`` intents written through ``bot.delivery.enqueue_intents`` (one call
per prompt round and workspace, the way the scheduler writes a ritual's occurrence), then delivered by
the real ``DeliveryWorker`` through the real ``SlackSender`` (one Web API client per workspace, one
shared connection pool, as ``app.py`` builds them) against a fake Web API on 127.0.0.1 that enforces
Slack's ``chat.postMessage`` limit strictly: one accepted post per channel per second, anything
sooner answered HTTP 429 with ``Retry-After: 1``. The fake runs in a process of its own, as Slack's
servers do not share Tend's CPU. It records every accepted post, so lost (never delivered) and
duplicated (delivered twice) prompts are counted from what "Slack" received, not from Tend's own
bookkeeping.

Ideal time: the least time any sender needs under both limits there are, Slack's and this machine's.
Slack's: each person's DM channel receives ``prompts`` messages at most one a second, so its last
message goes (prompts - 1) seconds after its first at the soonest (conversations.open is a tier-3
method whose 1,250 calls are spread over 50 workspaces, 25 each, so it adds no wait). The machine's:
the script first measures the HTTP floor, the same SlackSender sending every prompt to the same fake
(limit off), 32 in flight, no database; that gives the rate at which Web API calls can go at all. The
DM channel whose first prompt goes last cannot get it before every channel's conversations.open and
first prompt have gone (2 x 1,250 calls at that rate), and its last prompt then needs (prompts - 1)
seconds more. So ideal = max(HTTP floor, first round at the floor's rate + (prompts - 1) seconds).
It also measures the worker's database bookkeeping alone (a sender that does nothing, pacing off), to
show where the rest of the time goes.
Target (issue "Slack adapter"): completion within ideal / 0.9 (≥ 90 % efficiency), 0 lost, 0 duplicated.

Two ways of running the worker can be measured, each on a fresh database and fake:
  app.py       (the default) as ``app.py`` runs it: ``start_background`` starts the worker's loop,
               passes of up to 500 rows back to back while rows are ready, 32 sends in flight
  back-to-back ``deliver_due()`` with its default of 50 rows (the pass ``Engine.handle`` ran after
               each event until it only woke the loop) called again as soon as it returns
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.slack.sender import SlackSender, make_client, web_session
from benchmarks.databases import postgres_url, sqlite_url
from bot.clock import ShiftedClock
from bot.delivery import DeliveryWorker, enqueue_intents
from bot.scheduler import Scheduler, start_background
from bot.server import bound_port, run_http, settle_start_up_heap
from practices.messages import Card, DirectMessage, Text
from storage import outbox
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Member, Organization, Workspace
from tests.fake_slack_api import request_args

MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # inside everyone's default working hours
MARK = re.compile(r"\[prompt (\d+)\.(\d+)\.(\d+)\]")
PER_CHANNEL = 1.0  # seconds between two accepted posts to one channel
TARGET_EFFICIENCY = 0.90
GIVE_UP_AFTER = 900.0  # seconds


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--people", type=int, default=25, help="people per workspace")
    parser.add_argument("--prompts", type=int, default=4, help="prompts per person")
    parser.add_argument("--modes", default="app.py", help="comma-separated: app.py, back-to-back (see below)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throwaway database is created there")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per backend, each after an HTTP floor (verdict: medians)"
    )
    parser.add_argument(
        "--gc",
        choices=("tuned", "freeze", "default"),
        default="tuned",
        help="tuned: settle_start_up_heap() as app.py does; freeze: its gc.freeze() alone (CPython's "
        "thresholds); default: CPython's collector untouched",
    )
    parser.add_argument(
        "--tune",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="sets a bot.delivery constant for this run (e.g. FLUSH_WITHIN=0), to see what its value buys",
    )
    return parser.parse_args()


def tune(settings: list[str]) -> None:
    """``NAME=VALUE`` pairs set on ``bot.delivery``; VALUE is a Python literal (seconds for timedelta)."""
    import ast

    from bot import delivery

    for setting in settings:
        name, _, value = setting.partition("=")
        current = getattr(delivery, name)  # an unknown name fails here, before anything runs
        parsed = ast.literal_eval(value)
        setattr(delivery, name, timedelta(seconds=parsed) if isinstance(current, timedelta) else parsed)
        print(f"bot.delivery.{name} = {getattr(delivery, name)!r} (was {current!r})")


class CollectorWatch:
    """What the garbage collector cost during a run: collections per generation, and the CPU time of
    this thread inside them (thread time, so another process's load on the machine does not count)."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.total = 0.0
        self.longest = 0.0
        self._began = 0.0

    def __enter__(self) -> CollectorWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.thread_time()
            return
        took = time.thread_time() - self._began
        self.counts[info["generation"]] += 1
        self.total += took
        self.longest = max(self.longest, took)

    def line(self) -> str:
        young, middle, full = self.counts
        return (
            f"collections {young:,} young, {middle:,} middle, {full:,} full: "
            f"{self.total * 1000:.0f} ms of CPU, "
            f"the longest {self.longest * 1000:.1f} ms"
        )


@dataclass
class RateLimitedSlack:
    """chat.postMessage at most once per second per channel (429 + Retry-After otherwise)."""

    enforce: bool = True  # False only to measure the HTTP floor
    accepted: Counter[tuple[int, int, int]] = field(default_factory=Counter)  # prompt -> times accepted
    last_accepted: dict[str, float] = field(default_factory=dict)  # channel -> monotonic time
    first_accepted: dict[str, float] = field(default_factory=dict)  # channel -> monotonic time
    finished_at: float = 0.0  # monotonic time of the last accepted post
    limited: int = 0
    opened: int = 0
    bad_token: int = 0
    port: int = 0
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/stats", self._stats)
        self.runner = await run_http(app, "127.0.0.1", 0)
        self.port = bound_port(self.runner)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _stats(self, request: web.Request) -> web.Response:
        if "brief" in request.query:  # polled while the worker runs: cheap to make and to read
            return web.json_response({"delivered": len(self.accepted)})
        return web.json_response(
            {
                "delivered": len(self.accepted),
                "duplicated": sum(times - 1 for times in self.accepted.values() if times > 1),
                "finished_at": self.finished_at,
                "limited": self.limited,
                "opened": self.opened,
                "bad_token": self.bad_token,
                "first": min(self.first_accepted.values(), default=0.0),
                "last_first": max(self.first_accepted.values(), default=0.0),
                "spans": sorted(self.last_accepted[c] - self.first_accepted[c] for c in self.first_accepted),
            }
        )

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await request_args(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer xoxb-")
        if method == "conversations.open":
            self.opened += 1
            user = str(args.get("users", ""))
            if not user.startswith(token):  # each workspace's people are reached with its own token
                self.bad_token += 1
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "channel": {"id": "D" + user}})
        if method != "chat.postMessage":
            return web.json_response({"ok": True})
        channel = str(args.get("channel", ""))
        now = time.monotonic()
        last = self.last_accepted.get(channel)
        if self.enforce and last is not None and now - last < PER_CHANNEL:
            self.limited += 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        self.last_accepted[channel] = now
        self.first_accepted.setdefault(channel, now)
        found = MARK.search(str(args.get("text", "")))
        if found:
            w, m, k = (int(part) for part in found.groups())
            self.accepted[(w, m, k)] += 1
        self.finished_at = now
        return web.json_response({"ok": True, "channel": channel, "ts": f"{now:.6f}"})


def serve_fake(enforce: bool, pipe: Connection) -> None:
    """The fake's own process: sends its port, serves until told to stop."""

    async def serve() -> None:
        fake = RateLimitedSlack(enforce=enforce)
        await fake.start()
        pipe.send(fake.port)
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        await fake.stop()

    asyncio.run(serve())


class SlackProcess:
    """``RateLimitedSlack`` in a child process; its counts read over HTTP (``stats``)."""

    def __init__(self, enforce: bool = True) -> None:
        self.enforce = enforce
        self.port = 0
        self._pipe: Connection | None = None
        self._process: Any = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(target=serve_fake, args=(self.enforce, theirs), daemon=True)
        self._process.start()
        self.port = await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)
        self._http = aiohttp.ClientSession()

    async def stats(self, brief: bool = False) -> dict[str, Any]:
        assert self._http is not None
        url = f"http://127.0.0.1:{self.port}/stats{'?brief' if brief else ''}"
        async with self._http.get(url) as response:
            return await response.json()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._pipe is not None:
            self._pipe.send("stop")
        if self._process is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._process.join, 10)


def user_id(w: int, m: int) -> str:
    return f"T{w:03d}U{m:03d}"  # starts with the team id, so the fake can check the token used


async def seed(database: Database, clock: ShiftedClock, workspaces: int, people: int, prompts: int) -> None:
    """Workspaces and people as stored rows, then the prompts through delivery's enqueue path."""
    now = clock.now()
    async with database.session() as session:
        session.add(Organization(id=1, name="Bench", created_at=now))
        await session.flush()
        for w in range(workspaces):
            new = Workspace(
                id=w + 1, organization_id=1, platform="slack", external_id=f"T{w:03d}", created_at=now
            )
            session.add(new)
    members = [
        {
            "id": w * people + m + 1,
            "workspace_id": w + 1,
            "platform_user_id": user_id(w, m),
            "display_name": f"person {m}",
            "time_zone": "UTC",
            "profile_known": True,  # as if the platform gave their zone: otherwise every prompt is held
            "created_at": now,
        }
        for w in range(workspaces)
        for m in range(people)
    ]
    async with database.engine.begin() as connection:
        await connection.execute(insert(Member), members)
    for k in range(prompts):  # round by round, as separate rituals firing one after another would
        for w in range(workspaces):
            async with database.session() as session:
                workspace = await session.get(Workspace, w + 1)
                assert workspace is not None
                intents = [
                    DirectMessage(
                        w * people + m + 1,
                        Card(f"Check-in [prompt {w}.{m}.{k}]", (Text("How is your week going?"),)),
                        key=f"bench:{w}:{m}:{k}",
                    )
                    for m in range(people)
                ]
                await enqueue_intents(session, workspace, intents, clock.now(), f"bench:{w}:{k}")


def slack_sender(workspaces: int, api_url: str) -> SlackSender:
    """One Web API client per workspace, each with that workspace's bot token, over one pool."""
    session = web_session()
    clients = {f"T{w:03d}": make_client(f"xoxb-T{w:03d}", api_url, session) for w in range(workspaces)}

    async def client_for(team_id: str) -> AsyncWebClient:
        return clients[team_id]

    return SlackSender(client_for, session)


async def run_worker(
    mode: str, delivery: DeliveryWorker, scheduler: Scheduler, done: Callable[[], Awaitable[bool]]
) -> None:
    started = time.monotonic()
    if mode == "app.py":
        background = start_background(scheduler, delivery)  # exactly as app.py starts it
        try:
            while not await done() and time.monotonic() - started < GIVE_UP_AFTER:  # noqa: ASYNC110
                await asyncio.sleep(0.25)  # polling the fake's records and the outbox, not waiting on work
        finally:
            await background.stop()
        return
    while not await done() and time.monotonic() - started < GIVE_UP_AFTER:
        if not await delivery.deliver_due():  # 50 rows a pass (its default)
            await asyncio.sleep(0.05)  # nothing was ready (all held by pacing or Retry-After)


def prompts_of(args: argparse.Namespace) -> list[tuple[int, int, int]]:
    rounds, workspaces, people = range(args.prompts), range(args.workspaces), range(args.people)
    return [(w, m, k) for k in rounds for w in workspaces for m in people]


async def http_floor(args: argparse.Namespace) -> float:
    """Seconds for SlackSender alone to send every prompt to the fake (limit off), 32 in flight."""
    fake = SlackProcess(enforce=False)
    await fake.start()
    sender = slack_sender(args.workspaces, fake.api_url)
    gate = asyncio.Semaphore(32)

    async def one(w: int, m: int, k: int) -> None:
        async with gate:
            card = Card(f"Check-in [prompt {w}.{m}.{k}]", (Text("How is your week going?"),))
            await sender.direct(f"T{w:03d}", user_id(w, m), card)

    try:
        gc.collect()
        started = time.monotonic()
        await asyncio.gather(*(one(w, m, k) for w, m, k in prompts_of(args)))
        return time.monotonic() - started
    finally:
        await sender.close()
        await fake.stop()


class NothingSent:
    """A sender that returns at once: what is left is the worker's own database bookkeeping."""

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        return "1.0"

    async def direct(self, workspace_external_id: str, user_id: str, card: Card) -> str:
        return "1.0"

    async def update(self, workspace_external_id: str, place_id: str, message_ref: str, card: Card) -> None:
        return None

    async def open_group(
        self, workspace_external_id: str, user_ids: Sequence[str], place_id: str, card: Card
    ) -> str:
        return "1.0"


async def bookkeeping_floor(database_url: str, args: argparse.Namespace) -> float:
    await upgrade(database_url)
    database = Database(database_url)
    clock = ShiftedClock()
    clock.advance(MONDAY_MORNING - clock.now())
    try:
        await seed(database, clock, args.workspaces, args.people, args.prompts)
        delivery = DeliveryWorker(database, clock, {"slack": NothingSent()}, pacing={})
        gc.collect()
        started = time.monotonic()
        await delivery.deliver_backlog()  # the passes the background loop runs
        return time.monotonic() - started
    finally:
        await database.dispose()


@dataclass(frozen=True)
class Run:
    elapsed: float
    lost: int
    duplicated: int


async def measure(database_url: str, label: str, mode: str, args: argparse.Namespace, floor: float) -> Run:
    """One run of the worker on a fresh database and fake; ``floor`` the HTTP floor measured just
    before it (this run's efficiency is printed against it)."""
    total = args.workspaces * args.people * args.prompts
    await upgrade(database_url)
    database = Database(database_url)
    fake = SlackProcess()
    await fake.start()
    sender = slack_sender(args.workspaces, fake.api_url)
    clock = ShiftedClock()
    clock.advance(MONDAY_MORNING - clock.now())  # real seconds pass (limits, pacing), on a working Monday
    try:
        await seed(database, clock, args.workspaces, args.people, args.prompts)
        delivery = DeliveryWorker(database, clock, {"slack": sender})
        scheduler = Scheduler(database, clock)

        async def done() -> bool:
            if (await fake.stats(brief=True))["delivered"] < total:
                return False
            async with database.session() as session:
                return await outbox.pending_count(session) == 0

        gc.collect()  # the seeding's garbage is not the worker's to collect
        started, cpu = time.monotonic(), time.process_time()
        with CollectorWatch() as collector:
            await run_worker(mode, delivery, scheduler, done)
        cpu = time.process_time() - cpu
        stats = await fake.stats()  # the fake's monotonic clock is this process's (one per machine)
        elapsed = (stats["finished_at"] or time.monotonic()) - started
        async with database.session() as session:
            waiting = await outbox.pending_count(session)
    finally:
        await sender.close()
        await fake.stop()
        await database.dispose()
    lost, duplicated = total - stats["delivered"], stats["duplicated"]
    ideal, _ = ideal_seconds(args.workspaces * args.people, args.prompts, floor)
    print(
        f"{label:10} {mode:12} {total:,} prompts to {args.workspaces * args.people:,} DM channels in "
        f"{args.workspaces} workspaces: HTTP floor {floor:.1f} s, ideal {ideal:.1f} s, done in "
        f"{elapsed:4.1f} s   efficiency {ideal / elapsed:6.1%}   "
        f"lost {lost}   duplicated {duplicated}   429s {stats['limited']}   "
        f"conversations.open {stats['opened']}{f'   still waiting {waiting}' if waiting else ''}"
    )
    if stats["bad_token"]:
        print(f"           {stats['bad_token']} DMs were opened with another workspace's token")
    spans = stats["spans"]
    print(
        f"           the first prompt at {stats['first'] - started:.2f} s, the last channel's first at "
        f"{stats['last_first'] - started:.2f} s; from its first to its last prompt a channel took "
        f"{spans[len(spans) // 2]:.2f} s (median), {spans[-1]:.2f} s (longest)"
    )
    print(
        f"           CPU {cpu:.2f} s ({cpu * 1000 / total:.2f} ms a prompt); gc {args.gc}: {collector.line()}"
    )
    return Run(elapsed, lost, duplicated)


def verdict(label: str, mode: str, args: argparse.Namespace, floors: list[float], runs: list[Run]) -> None:
    """The target on the medians, of the floors and of the runs, measured in turns so that both see
    the same moments of this shared machine: one noisy measurement, either way, decides nothing."""
    floor, middle = statistics.median(floors), statistics.median(run.elapsed for run in runs)
    ideal, first_round = ideal_seconds(args.workspaces * args.people, args.prompts, floor)
    lost, duplicated = sum(run.lost for run in runs), sum(run.duplicated for run in runs)
    ok = ideal / middle >= TARGET_EFFICIENCY and lost == 0 and duplicated == 0
    print(
        f"{label:10} {mode:12} medians of {len(runs)}: HTTP floor {floor:.1f} s, so ideal {ideal:.1f} s "
        f"(first round {first_round:.1f} s + {args.prompts - 1} x {PER_CHANNEL:.0f} s); done in "
        f"{middle:4.1f} s   efficiency {ideal / middle:6.1%}   lost {lost}   duplicated {duplicated} "
        f"(all runs)   target {'met' if ok else 'MISSED'}"
    )


def ideal_seconds(channels: int, prompts: int, floor: float) -> tuple[float, float]:
    """(ideal, first round): the least time under both limits (see the module's docstring)."""
    calls = channels * (prompts + 1)  # every prompt, and one conversations.open per DM channel
    first_round = floor * 2 * channels / calls
    return max(floor, first_round + (prompts - 1) * PER_CHANNEL), first_round


async def main() -> None:
    args = arguments()
    tune(args.tune)
    if args.gc == "tuned":
        settle_start_up_heap()  # as app.py does once started
    elif args.gc == "freeze":
        gc.collect()
        gc.freeze()
    print(
        f"targets: efficiency >= {TARGET_EFFICIENCY:.0%} of the ideal time, 0 lost, 0 duplicated "
        f"(limit: 1 chat.postMessage per channel per second)"
    )
    print(
        "HTTP floor: SlackSender alone, every prompt, 32 in flight, no database, no limit; measured just "
        f"before each run (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n"
        "ideal = max(HTTP floor, the first round (every conversations.open and first prompt) at the "
        f"floor's rate + {args.prompts - 1} x {PER_CHANNEL:.0f} s for each channel's later prompts)"
    )
    urls: list[tuple[str, Callable[[], AbstractAsyncContextManager[str]]]] = [("SQLite", sqlite_url)]
    if args.postgres:
        urls.append(("PostgreSQL", lambda: postgres_url(args.postgres)))
    for label, make_url in urls:
        seconds = []
        for _ in range(args.runs):
            async with make_url() as url:
                seconds.append(await bookkeeping_floor(url, args))
        print(
            f"{label:10} bookkeeping  the worker, a sender that does nothing, pacing off: "
            f"{statistics.median(seconds):.1f} s (median of {args.runs})"
        )
    for mode in args.modes.split(","):
        for label, make_url in urls:
            floors: list[float] = []
            runs: list[Run] = []
            for _ in range(args.runs):  # in turns: a floor, then a run
                floors.append(await http_floor(args))
                async with make_url() as url:
                    runs.append(await measure(url, label, mode, args, floors[-1]))
            verdict(label, mode, args, floors, runs)


if __name__ == "__main__":
    asyncio.run(main())
