"""What Tend's promise "nothing acked is ever lost" costs alone, per /kudos, before any practice work.

    .venv/bin/python benchmarks/durability_floor.py                   # SQLite, 2,000 kudos' bookkeeping
    .venv/bin/python benchmarks/durability_floor.py --postgres postgresql://postgres@127.0.0.1:5432/test

``benchmarks/kudos_cpu.py`` compares Tend with a bare Bolt app that keeps nothing: a crash or a deploy
loses whatever it acked and had not posted yet. Tend writes each request before its ack, deletes it in
the transaction that handles it, queues the channel post and the private note in that transaction,
and marks them sent afterwards, so that a kill at any instant loses nothing and repeats at most what
was in flight. This script runs exactly those writes through Tend's own storage functions, one
kudos at a time, with no practice work (no people, no shout-out, no signals), and reports this
process's CPU per kudos (``time.process_time``: the event loop and the SQLite thread; PostgreSQL's
server is another process, as in ``kudos_cpu.py``). That is the floor any durable /kudos pays through
SQLAlchemy here; issue 18's target of 2x the bare Bolt app's whole kudos is compared with it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.databases import postgres_url, sqlite_url  # noqa: E402
from storage import inbound, outbox  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Organization, Workspace  # noqa: E402

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OWNER = "durability-floor"
PAYLOAD = '{"event": {"type": "CommandReceived", "text": "<@U2> thanks for the review"}, "context": {}}'


async def seed(database: Database) -> None:
    async with database.session() as session:
        session.add(Organization(id=1, name="Bench", created_at=NOW))
        await session.flush()
        session.add(Workspace(id=1, organization_id=1, platform="slack", external_id="T1", created_at=NOW))


async def one_kudos(database: Database, number: int) -> None:
    """The three transactions of Tend's durability for one /kudos, and nothing else."""
    async with database.session() as session:  # before the ack: the request is stored
        row = await inbound.enqueue(
            session, "slack", PAYLOAD, sealed=False, now=NOW, owner=OWNER, until=NOW + timedelta(seconds=10)
        )
    async with database.session() as session:  # the handling: request gone, post and note queued
        assert await inbound.finish(session, row.id, OWNER)
        queued = [
            {
                "workspace_id": 1,
                "idempotency_key": f"slack:{number}:{target}",
                "target_kind": kind,
                "target_id": target,
                "payload": '{"text": "thanks"}',
                "next_attempt_at": NOW,
                "created_at": NOW,
            }
            for kind, target in (("channel", "C1"), ("member", "U2"))
        ]
        await outbox.enqueue_many(session, queued)
    async with database.session() as session:  # the delivery: both claimed, then marked sent
        claimed = await outbox.claim(session, NOW, timedelta(seconds=30), limit=2, owner=OWNER)
    async with database.session() as session:
        await outbox.mark_sent_many(session, [(item.id, "ts", NOW) for item in claimed])


async def measure(url: str, kudos: int) -> float:
    await upgrade(url)
    database = Database(url)
    try:
        await seed(database)
        for number in range(50):  # warm-up: connections, statement caches
            await one_kudos(database, -1 - number)
        start = time.process_time()
        for number in range(kudos):
            await one_kudos(database, number)
        return (time.process_time() - start) * 1000 / kudos
    finally:
        await database.dispose()


async def main(args: argparse.Namespace) -> None:
    if args.postgres:
        async with postgres_url(args.postgres) as url:
            per_kudos, name = await measure(url, args.kudos), "PostgreSQL"
    else:
        async with sqlite_url() as url:
            per_kudos, name = await measure(url, args.kudos), "SQLite"
    ratio = per_kudos / args.bare_ms
    print(
        f"{name}: durability alone (request stored, deleted with 2 messages queued, both claimed and marked "
        f"sent; 4 transactions, 6 statements) {per_kudos:.2f} ms of CPU per kudos over {args.kudos}; "
        f"= {ratio:.1f}x the bare Bolt app's whole kudos ({args.bare_ms} ms, benchmarks/kudos_cpu.py), "
        f"so 2x that is {'reachable' if ratio < 2 else 'below this floor'}"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kudos", type=int, default=2000, help="kudos' bookkeeping run")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throwaway database is created there")
    parser.add_argument(
        "--bare-ms", type=float, default=0.75, help="bare Bolt's CPU per kudos from kudos_cpu.py (ms)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(arguments()))
