"""How long the outbox takes to deliver 5,000 personal prompts across 50 Slack workspaces, against the
time Slack's per-channel limit allows; and whether any prompt is lost or sent twice.

    .venv/bin/python benchmarks/fanout.py                   # 50 workspaces x 25 people x 4 prompts
    .venv/bin/python benchmarks/fanout.py --workspaces 10   # a quick run (1,000 prompts)
    .venv/bin/python benchmarks/fanout.py --postgres postgresql://postgres@127.0.0.1:5432/test

The prompts are ``DirectMessage`` intents written through ``bot.delivery.enqueue_intents`` (one call
per prompt round and workspace, the way the scheduler writes a ritual's occurrence), then delivered by
the real ``DeliveryWorker`` through the real ``SlackSender`` (one Web API client per workspace)
against a fake Web API on 127.0.0.1 that enforces Slack's ``chat.postMessage`` limit strictly: one
accepted post per channel per second, anything sooner answered HTTP 429 with ``Retry-After: 1``.
The fake records every accepted post, so lost (never delivered) and duplicated (delivered twice)
prompts are counted from what "Slack" received, not from Tend's own bookkeeping.

Ideal time: each person's DM channel receives ``prompts`` messages, so the limit allows all of them in
(prompts - 1) seconds (the first message of every channel may go at once; conversations.open is a
tier-3 method whose 1,250 calls are spread over 50 workspaces, 25 each, so it adds no wait). No sender
can beat the time the HTTP exchanges themselves take on this machine either, so the script first
measures that floor: the same SlackSender sending every prompt to the same fake (limit off), 32 in
flight, no database. Ideal = max(limit bound, HTTP floor). It also measures the worker's database
bookkeeping alone (a sender that does nothing, pacing off), to show where the rest of the time goes.
Target (issue "Slack adapter"): completion within ideal / 0.9 (≥ 90 % efficiency), 0 lost, 0 duplicated.

Two ways of running the worker can be measured, each on a fresh database and fake:
  app.py       (the default) as ``app.py`` runs it: ``start_background`` starts the worker's loop,
               passes of up to 500 rows back to back while rows are ready, 32 sends in flight
  back-to-back ``deliver_due()`` with its default of 50 rows (the pass ``Engine.handle`` runs after an
               event) called again as soon as it returns
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.slack.sender import SlackSender, make_client
from benchmarks.databases import postgres_url, sqlite_url
from bot.clock import ShiftedClock
from bot.delivery import DeliveryWorker, enqueue_intents
from bot.scheduler import Scheduler, start_background
from bot.server import bound_port, run_http
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
    parser.add_argument(
        "--modes", default="app.py", help="comma-separated: app.py, back-to-back (see below)"
    )
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throwaway database is created there")
    return parser.parse_args()


@dataclass
class RateLimitedSlack:
    """chat.postMessage at most once per second per channel (429 + Retry-After otherwise)."""

    enforce: bool = True  # False only to measure the HTTP floor
    accepted: Counter[tuple[int, int, int]] = field(default_factory=Counter)  # prompt -> times accepted
    last_accepted: dict[str, float] = field(default_factory=dict)  # channel -> monotonic time
    finished_at: float = 0.0  # monotonic time of the last accepted post
    limited: int = 0
    opened: int = 0
    bad_token: int = 0
    port: int = 0
    runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        self.runner = await run_http(app, "127.0.0.1", 0)
        self.port = bound_port(self.runner)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

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
        found = MARK.search(str(args.get("text", "")))
        if found:
            w, m, k = (int(part) for part in found.groups())
            self.accepted[(w, m, k)] += 1
        self.finished_at = now
        return web.json_response({"ok": True, "channel": channel, "ts": f"{now:.6f}"})


def user_id(w: int, m: int) -> str:
    return f"T{w:03d}U{m:03d}"  # starts with the team id, so the fake can check the token used


async def seed(database: Database, clock: ShiftedClock, workspaces: int, people: int, prompts: int) -> None:
    """Workspaces and people as stored rows, then the prompts through delivery's enqueue path."""
    now = clock.now()
    async with database.session() as session:
        session.add(Organization(id=1, name="Bench", created_at=now))
        await session.flush()
        for w in range(workspaces):
            workspace = Workspace(
                id=w + 1, organization_id=1, platform="slack", external_id=f"T{w:03d}", created_at=now
            )
            session.add(workspace)
    members = [
        {
            "id": w * people + m + 1,
            "workspace_id": w + 1,
            "platform_user_id": user_id(w, m),
            "display_name": f"person {m}",
            "created_at": now,
        }
        for w in range(workspaces)
        for m in range(people)
    ]
    async with database.engine.begin() as connection:
        await connection.execute(insert(Member.__table__), members)  # type: ignore[attr-defined]
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


Clients = Callable[[str], Awaitable[AsyncWebClient]]


def clients_for(workspaces: int, api_url: str) -> Clients:
    """One Web API client per workspace, each with that workspace's bot token."""
    clients = {f"T{w:03d}": make_client(f"xoxb-T{w:03d}", api_url) for w in range(workspaces)}

    async def client_for(team_id: str) -> AsyncWebClient:
        return clients[team_id]

    return client_for


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
    fake = RateLimitedSlack(enforce=False)
    await fake.start()
    sender = SlackSender(clients_for(args.workspaces, fake.api_url))
    gate = asyncio.Semaphore(32)

    async def one(w: int, m: int, k: int) -> None:
        async with gate:
            card = Card(f"Check-in [prompt {w}.{m}.{k}]", (Text("How is your week going?"),))
            await sender.direct(f"T{w:03d}", user_id(w, m), card)

    try:
        started = time.monotonic()
        await asyncio.gather(*(one(w, m, k) for w, m, k in prompts_of(args)))
        return time.monotonic() - started
    finally:
        await fake.stop()


class NothingSent:
    """A sender that returns at once: what is left is the worker's own database bookkeeping."""

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        return "1.0"

    async def direct(self, workspace_external_id: str, user_id: str, card: Card) -> str:
        return "1.0"

    async def update(self, workspace_external_id: str, place_id: str, message_ref: str, card: Card) -> None:
        return None


async def bookkeeping_floor(database_url: str, args: argparse.Namespace) -> float:
    await upgrade(database_url)
    database = Database(database_url)
    clock = ShiftedClock()
    clock.advance(MONDAY_MORNING - clock.now())
    try:
        await seed(database, clock, args.workspaces, args.people, args.prompts)
        delivery = DeliveryWorker(database, clock, {"slack": NothingSent()}, pacing={})
        started = time.monotonic()
        await delivery.deliver_backlog()  # the passes the background loop runs
        return time.monotonic() - started
    finally:
        await database.dispose()


async def measure(
    database_url: str, label: str, mode: str, args: argparse.Namespace, ideal: float
) -> None:
    total = args.workspaces * args.people * args.prompts
    await upgrade(database_url)
    database = Database(database_url)
    fake = RateLimitedSlack()
    await fake.start()
    clock = ShiftedClock()
    clock.advance(MONDAY_MORNING - clock.now())  # real seconds pass (limits, pacing), on a working Monday
    try:
        await seed(database, clock, args.workspaces, args.people, args.prompts)
        sender = SlackSender(clients_for(args.workspaces, fake.api_url))
        delivery = DeliveryWorker(database, clock, {"slack": sender})
        scheduler = Scheduler(database, clock)

        async def done() -> bool:
            if len(fake.accepted) < total:
                return False
            async with database.session() as session:
                return await outbox.pending_count(session) == 0

        started = time.monotonic()
        await run_worker(mode, delivery, scheduler, done)
        elapsed = (fake.finished_at or time.monotonic()) - started
        async with database.session() as session:
            waiting = await outbox.pending_count(session)
    finally:
        await fake.stop()
        await database.dispose()
    efficiency = ideal / elapsed if elapsed > 0 else 0.0
    lost = total - len(fake.accepted)
    duplicated = sum(times - 1 for times in fake.accepted.values() if times > 1)
    ok = efficiency >= TARGET_EFFICIENCY and lost == 0 and duplicated == 0
    print(
        f"{label:10} {mode:12} {total:,} prompts to {args.workspaces * args.people:,} DM channels in "
        f"{args.workspaces} workspaces: done in {elapsed:6.1f} s   ideal {ideal:.1f} s   "
        f"efficiency {efficiency:6.1%}   lost {lost}   duplicated {duplicated}   "
        f"429s {fake.limited}   conversations.open {fake.opened}"
        f"{f'   still waiting {waiting}' if waiting else ''}   target {'met' if ok else 'MISSED'}"
    )
    if fake.bad_token:
        print(f"           {fake.bad_token} DMs were opened with another workspace's token")


async def main() -> None:
    args = arguments()
    print(
        f"targets: efficiency >= {TARGET_EFFICIENCY:.0%} of the ideal time, 0 lost, 0 duplicated "
        f"(limit: 1 chat.postMessage per channel per second)"
    )
    limit_bound = (args.prompts - 1) * PER_CHANNEL
    floor = await http_floor(args)
    ideal = max(limit_bound, floor)
    print(
        f"ideal {ideal:.1f} s = max(limit bound {limit_bound:.1f} s, HTTP floor {floor:.1f} s: SlackSender "
        f"alone, 32 in flight, no database; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    urls: list[tuple[str, Callable[[], AbstractAsyncContextManager[str]]]] = [("SQLite", sqlite_url)]
    if args.postgres:
        urls.append(("PostgreSQL", lambda: postgres_url(args.postgres)))
    for label, make_url in urls:
        async with make_url() as url:
            seconds = await bookkeeping_floor(url, args)
        print(f"{label:10} bookkeeping  the worker, a sender that does nothing, pacing off: {seconds:.1f} s")
    for mode in args.modes.split(","):
        for label, make_url in urls:
            async with make_url() as url:
                await measure(url, label, mode, args, ideal)


if __name__ == "__main__":
    asyncio.run(main())
