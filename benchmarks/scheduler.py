"""How long a scheduler tick takes with 100,000 rituals stored: nothing due, and 1,000 due.

    .venv/bin/python benchmarks/scheduler.py                      # SQLite (a temporary file)
    .venv/bin/python benchmarks/scheduler.py --postgres postgresql://postgres@127.0.0.1:5432/test

Targets (issues 3 and 18): nothing due < 20 ms; 1,000 due claimed, fired and queued in the outbox
< 1 s. An idle tick is the claim (one indexed query returning nothing), every practice's sweep (each
in its own transaction) and the outbox count; "without sweeps" times the same tick with no sweeps
registered, so the two figures show where an idle tick's time goes. On PostgreSQL the script creates
and drops a throwaway database of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.databases import arguments, postgres_url, sqlite_url
from bot.clock import FixedClock
from bot.practices_registry import default_registry
from bot.scheduler import Scheduler
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Organization, Ritual, Workspace

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
TOTAL, DUE = 100_000, 1_000
IDLE_TARGET_MS, BUSY_TARGET_MS = 20.0, 1000.0
IDLE_TICKS = 20


async def seed(database: Database) -> None:
    async with database.session() as session:
        session.add(Organization(id=1, name="Bench", created_at=NOW))
        await session.flush()
        session.add(
            Workspace(id=1, organization_id=1, platform="console", external_id="bench", created_at=NOW)
        )
    rows = []
    for index in range(TOTAL):
        due = index < DUE
        rows.append(
            {
                "workspace_id": 1,
                "kind": "shoutout-prompt",
                "place_id": f"room-{index % 500}",
                "schedule": "daily 10:00",
                "time_zone": "UTC",
                "options": "{}",
                "paused": False,
                # 1,000 due now; the rest spread over the coming week.
                "next_run_at": NOW if due else NOW + timedelta(minutes=1 + index % 10_000),
                "created_at": NOW,
            }
        )
    async with database.engine.begin() as connection:
        for start in range(0, TOTAL, 5_000):
            await connection.execute(insert(Ritual), rows[start : start + 5_000])
        if not database.is_sqlite:
            await connection.execute(text("ANALYZE"))


async def timed_tick(scheduler: Scheduler) -> tuple[float, int]:
    started = time.perf_counter()
    report = await scheduler.tick()
    return (time.perf_counter() - started) * 1000, len(report.fired)


async def idle_ticks(scheduler: Scheduler) -> list[float]:
    """Idle ticks after a first one, which also runs the hourly purge."""
    await scheduler.tick()
    return [(await timed_tick(scheduler))[0] for _ in range(IDLE_TICKS)]


def verdict(ms: float, target: float) -> str:
    return "met" if ms < target else "MISSED"


async def measure(url: str, label: str) -> None:
    await upgrade(url)
    database = Database(url)
    try:
        await seed(database)
        clock = FixedClock(NOW - timedelta(minutes=30))
        bare = Scheduler(database, clock, registry=dataclasses.replace(default_registry(), sweeps=()))
        claim_only = statistics.median(await idle_ticks(bare))
        scheduler = Scheduler(database, clock)
        idle = await idle_ticks(scheduler)
        clock.set(NOW)
        busy_ms, fired = await timed_tick(scheduler)
        after_ms, _ = await timed_tick(scheduler)
        idle_ms = statistics.median(idle)
        print(
            f"{label:10} rituals={TOTAL:,} nothing due: median {idle_ms:6.1f} ms (max {max(idle):.1f}; "
            f"without sweeps {claim_only:.1f})   {fired:,} due: {busy_ms:7.1f} ms   "
            f"next tick: {after_ms:.1f} ms"
        )
        print(
            f"{'':10} nothing due < {IDLE_TARGET_MS:.0f} ms: {verdict(idle_ms, IDLE_TARGET_MS)}   "
            f"{DUE:,} due < {BUSY_TARGET_MS / 1000:.0f} s: {verdict(busy_ms, BUSY_TARGET_MS)}"
        )
    finally:
        await database.dispose()


async def main() -> None:
    args = arguments(__doc__)
    async with sqlite_url() as url:
        await measure(url, "SQLite")
    if args.postgres:
        async with postgres_url(args.postgres) as url:
            await measure(url, "PostgreSQL")


if __name__ == "__main__":
    asyncio.run(main())
