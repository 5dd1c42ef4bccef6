"""Resident memory of ``python app.py serve`` in OAuth mode over a large database (issue 18).

    .venv/bin/python benchmarks/memory.py                  # 10,000 workspaces, 500,000 members, PostgreSQL
    .venv/bin/python benchmarks/memory.py --scale 0.1      # a tenth of that: a quick run
    .venv/bin/python benchmarks/memory.py --sqlite         # on a temporary SQLite file instead

Target (issue 18): a process serving 10,000 workspaces and 500,000 members stays <= 300 MB RSS, and
holds nothing per workspace unless it was used recently. The database gets (bulk Core inserts) one
organisation, workspace and Slack installation per workspace (stored as ``SealedInstallationStore``
stores them: every token sealed under ``TEND_SECRET_KEY``, one ``slack_bots`` row each), members
spread evenly over them and a ritual in one workspace of ten (due far in the future). Then a real
``python app.py serve`` (SLACK_CLIENT_ID/SECRET: OAuth mode) runs against the fake Slack Web API in its
own process (``benchmarks/kudos_cpu.py fake``), and signed /kudos go to 2,000 different workspaces
(scaled), one each, between two existing members. RSS is read from ``/proc`` once ready, after the
traffic has been delivered, and at its peak (``VmHWM``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.slack.oauth import CREDENTIAL_COLUMNS, SealedInstallationStore  # noqa: E402
from benchmarks.kudos_cpu import (  # noqa: E402
    SECRET,
    delivered,
    free_port,
    listening,
    load,
    memory_mb,
    process,
    ready,
    until,
    working_zone,
)
from practices.sealing import Keyring, key_from_text  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import SQLModel  # noqa: E402

TEND_KEY = "memory-benchmark-secret-key-0123456789abcdef"
CLIENT_ID, CLIENT_SECRET = "111.222", "memory-client-secret"
TARGET_MB = 300.0
WORKSPACES, MEMBERS, USED = 10_000, 500_000, 2_000
CHUNK = 5_000  # rows a bulk insert sends at once
TAG = "M"  # ids are C/U + TAG + digits: the fake's /stats counts this run's posts by that prefix


def team(index: int) -> str:
    return f"T{index:06d}"


def user(workspace: int, index: int) -> str:
    return f"U{TAG}{workspace:05d}{index:03d}"


async def insert(engine: AsyncEngine, name: str, rows: list[dict[str, Any]]) -> None:
    chosen = SQLModel.metadata.tables[name]
    for start in range(0, len(rows), CHUNK):
        async with engine.begin() as connection:
            await connection.execute(chosen.insert(), rows[start : start + CHUNK])


async def ids(engine: AsyncEngine, name: str, key: str) -> dict[Any, int]:
    chosen = SQLModel.metadata.tables[name]
    async with engine.connect() as connection:
        found = await connection.execute(chosen.select().with_only_columns(chosen.c[key], chosen.c.id))
        return {row[0]: row[1] for row in found.all()}


async def populate(url: str, workspaces: int, members: int) -> None:
    """The schema at head, then every row in bulk (one transaction per chunk)."""
    await upgrade(url)
    database = Database(url)
    engine = database.engine
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        await insert(
            engine, "organization", [{"name": team(i), "created_at": now} for i in range(workspaces)]
        )
        organizations = await ids(engine, "organization", "name")
        rows = [
            {"organization_id": organizations[team(i)], "platform": "slack", "external_id": team(i),
             "name": f"Workspace {i}", "active": True, "created_at": now}
            for i in range(workspaces)
        ]  # fmt: skip
        await insert(engine, "workspace", rows)
        spaces = await ids(engine, "workspace", "external_id")
        per = max(2, members // workspaces)
        people = [
            {"workspace_id": spaces[team(w)], "platform_user_id": user(w, j), "display_name": f"Person {j}",
             "time_zone": "UTC", "work_days": "mon,tue,wed,thu,fri", "work_start": "09:00",
             "work_end": "17:30", "role": "member", "is_bot": False, "is_support": False,
             "unreachable": False, "profile_known": False, "deactivated": False, "created_at": now}
            for w in range(workspaces)
            for j in range(per)
        ]  # fmt: skip
        await insert(engine, "member", people)
        del people
        far = datetime(2099, 1, 5, 9, 25, tzinfo=UTC)
        rituals = [
            {"workspace_id": spaces[team(w)], "kind": "opener", "place_id": f"C{TAG}{w:05d}",
             "schedule": "mon 09:25", "time_zone": "UTC", "options": "{}", "paused": False,
             "next_run_at": far, "created_at": now}
            for w in range(0, workspaces, 10)
        ]  # fmt: skip
        await insert(engine, "ritual", rituals)
        store = SealedInstallationStore(client_id=CLIENT_ID, engine=engine)
        store.secret = Keyring(key_from_text(TEND_KEY))
        await store.create_tables()
        installations, bots = [], []
        for w in range(workspaces):
            plain = Installation(
                app_id="A1", team_id=team(w), team_name=f"Workspace {w}", user_id=user(w, 0),
                bot_token=f"xoxb-{team(w)}-1", bot_id=f"B{w:06d}", bot_user_id=f"UB{w:06d}",
                bot_scopes="commands,chat:write,users:read,im:write", installed_at=now.timestamp(),
            )  # fmt: skip
            sealed = store._sealed(plain, CREDENTIAL_COLUMNS["slack_installations"])
            row = sealed.to_dict()
            row.update(client_id=CLIENT_ID, installed_at=now.replace(tzinfo=None))
            installations.append(row)
            bot = store._sealed(sealed.to_bot(), CREDENTIAL_COLUMNS["slack_bots"]).to_dict()
            bot.update(client_id=CLIENT_ID, installed_at=now.replace(tzinfo=None))
            bots.append(bot)
        for chosen, rows in ((store.installations, installations), (store.bots, bots)):
            for start in range(0, len(rows), CHUNK):
                async with engine.begin() as connection:
                    await connection.execute(chosen.insert(), rows[start : start + CHUNK])
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def database(args: argparse.Namespace, folder: Path) -> AsyncIterator[str]:
    if args.sqlite:
        yield f"sqlite:///{folder}/memory.db"
        return
    name = f"tend_bench_memory_{uuid.uuid4().hex[:6]}"
    server = await asyncpg.connect(args.postgres)
    await server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        await server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await server.close()


def kudos(workspace: int, fake_port: int) -> dict[str, str]:
    giver, receiver = user(workspace, 0), user(workspace, 1)
    return {
        "team_id": team(workspace), "team_domain": f"w{workspace}", "channel_id": f"C{TAG}{workspace:05d}",
        "channel_name": "general", "user_id": giver, "user_name": giver.lower(), "command": "/kudos",
        "api_app_id": "A1", "text": f"<@{receiver}|{receiver.lower()}> thanks for the careful review",
        "trigger_id": f"{TAG}.{workspace}", "response_url": f"http://127.0.0.1:{fake_port}/response/{giver}",
    }  # fmt: skip


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "?"


async def main(args: argparse.Namespace) -> None:
    workspaces = max(10, round(WORKSPACES * args.scale))
    members = max(2 * workspaces, round(MEMBERS * args.scale))
    used = min(workspaces, max(10, round(USED * args.scale)))
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        async with database(args, folder) as url:
            started = time.perf_counter()
            await populate(url, workspaces, members)
            stored = time.perf_counter() - started
            print(f"{workspaces:,} workspaces, {members:,} members stored in {stored:.0f} s")
            fake_port, tend_port = free_port(), free_port()
            api_url = f"http://127.0.0.1:{fake_port}/api/"
            zone = working_zone(datetime.now(UTC))
            me = str(ROOT / "benchmarks" / "kudos_cpu.py")
            async with process(me, "fake", "--port", str(fake_port), "--zone", zone):
                await until(lambda: listening(fake_port), 30, "the fake Web API")
                env = {
                    k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEND_", "DATABASE_"))
                }
                env.update(
                    DATABASE_URL=url, HOST="127.0.0.1", PORT=str(tend_port), SLACK_CLIENT_ID=CLIENT_ID,
                    SLACK_CLIENT_SECRET=CLIENT_SECRET, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api_url,
                    TEND_SECRET_KEY=TEND_KEY,
                )  # fmt: skip
                log = folder / "tend.log"
                async with process("app.py", "serve", env=env, log=log) as pid:
                    try:
                        await until(lambda: ready(tend_port), 120, "Tend's /readyz")
                    except SystemExit:
                        print(log.read_text()[-3000:])
                        raise
                    at_start, _ = memory_mb(pid)
                    forms = [kudos(w, fake_port) for w in range(0, workspaces, workspaces // used)][:used]
                    began = time.perf_counter()
                    await load(f"http://127.0.0.1:{tend_port}/slack/events", forms, args.concurrency)
                    async with aiohttp.ClientSession() as http:

                        async def done() -> bool:
                            return await delivered(http, fake_port, TAG) >= 2 * len(forms)

                        await until(done, 600, "every channel post and private note")
                    wall = time.perf_counter() - began
                    after, peak = memory_mb(pid)
    verdict = "met" if peak <= TARGET_MB else "MISSED"
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"{backend}: {workspaces:,} workspaces, {members:,} members; {len(forms):,} signed /kudos to as many "
        f"workspaces at concurrency {args.concurrency}, delivered in {wall:.1f} s\n"
        f"RSS at start {at_start:.0f} MB, after the traffic {after:.0f} MB, peak (VmHWM) {peak:.0f} MB; "
        f"target <= {TARGET_MB:.0f} MB: {verdict}   "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f})"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL server URL; a throwaway database is created there and dropped",
    )
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the workspaces, members, kudos")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight at once")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(arguments()))
