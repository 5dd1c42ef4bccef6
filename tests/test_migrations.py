"""Migrations and models must describe the same schema, and upgrading must be safe to repeat and race."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, pool, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from storage.db import async_url, is_sqlite
from storage.migrate import ADVISORY_LOCK_KEY, context_options, current_revision, head_revision, upgrade

REPO = Path(__file__).resolve().parents[1]


async def on_connection(url: str, fn: Any) -> Any:
    engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()


def model_drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts=context_options(connection.dialect.name))
    return compare_metadata(context, SQLModel.metadata)


async def test_upgrade_creates_every_table_of_the_models(empty_database_url: str) -> None:
    await upgrade(empty_database_url)

    tables = await on_connection(empty_database_url, lambda sync: set(inspect(sync).get_table_names()))
    assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
    if is_sqlite(empty_database_url):
        assert Path(make_url(empty_database_url).database or "").parent.is_dir()  # the data folder was made


async def test_migrations_match_the_models_exactly(database_url: str) -> None:
    """If this fails, a model changed without a migration (or the reverse): write the revision."""
    assert await on_connection(database_url, model_drift) == []


async def test_upgrade_is_idempotent_and_ends_at_head(empty_database_url: str) -> None:
    assert await current_revision(empty_database_url) is None

    await upgrade(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()
    await upgrade(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()


UPGRADE_ON_GO = """
import sys
from storage.migrate import upgrade_sync
print("ready", flush=True)
sys.stdin.readline()
upgrade_sync(sys.argv[1])
"""


async def test_two_processes_upgrading_at_once_both_succeed(empty_database_url: str) -> None:
    """Two replicas starting together: both wait at a barrier past the slow imports, then upgrade."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", UPGRADE_ON_GO, empty_database_url,
            cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]  # fmt: skip
    for process in processes:
        assert process.stdout and await process.stdout.readline() == b"ready\n"
    for process in processes:
        assert process.stdin
        process.stdin.write(b"go\n")
        await process.stdin.drain()

    outputs = [await process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err.decode() for _, err in outputs]
    assert await current_revision(empty_database_url) == head_revision()


async def test_upgrade_waits_for_the_advisory_lock(empty_database_url: str) -> None:
    if is_sqlite(empty_database_url):
        pytest.skip("PostgreSQL advisory lock")
    engine = create_async_engine(async_url(empty_database_url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            upgrading = asyncio.create_task(upgrade(empty_database_url))
            await asyncio.sleep(0.5)
            assert not upgrading.done()
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
            await asyncio.wait_for(upgrading, timeout=10)
    finally:
        await engine.dispose()
    assert await current_revision(empty_database_url) == head_revision()


# --- 0009: 1:1 pairs move out of ritual options into their own tables -------------------------------

ONE_ON_ONE = {
    "anchor": "2025-03-03",
    "lead_minutes": 1440,
    "manager": 1,
    "report": 2,
    "prep": True,
    "nudge_minutes": 60,
    "asked": ["q05", "q01", "q07"],
    "questions": {"1": "q01", "2": "q07"},
}
LEFT_PAIR = {
    "anchor": "2025-03-04",
    "lead_minutes": 1440,
    "manager": 1,
    "report": 99,
    "prep": False,
    "nudge_minutes": 60,
    "asked": [],
    "questions": {},
}
OPENER = {"anchor": "2025-03-03", "question_set": "default"}


def _migrate(url: str, direction: str, revision: str) -> None:
    from alembic import command

    from storage.migrate import alembic_config

    getattr(command, direction)(alembic_config(url), revision)


def _tables(connection: Connection) -> dict[str, Any]:
    from sqlalchemy import MetaData

    metadata = MetaData()
    metadata.reflect(connection)
    return metadata.tables


def _pairs_before_0009(connection: Connection) -> None:
    """A workspace at 0008 with two 1:1s (one whose report's member row is gone), an opener, two
    meetings, and the outbox key of a meeting moved to 20 March."""
    t, now = _tables(connection), datetime(2025, 3, 3, 9, 0)
    connection.execute(t["organization"].insert(), [{"id": 1, "name": "acme", "created_at": now}])
    connection.execute(
        t["workspace"].insert(),
        [
            {
                "id": 1,
                "organization_id": 1,
                "platform": "slack",
                "external_id": "T1",
                "name": "",
                "active": True,
                "created_at": now,
            }
        ],
    )
    person = {
        "workspace_id": 1,
        "time_zone": "UTC",
        "work_days": "mon,tue,wed,thu,fri",
        "work_start": "09:00",
        "work_end": "17:30",
        "role": "member",
        "is_bot": False,
        "is_support": False,
        "unreachable": False,
        "profile_known": True,
        "deactivated": False,
        "created_at": now,
    }
    connection.execute(
        t["member"].insert(),
        [
            {**person, "id": 1, "platform_user_id": "MIA", "display_name": "mia"},
            {**person, "id": 2, "platform_user_id": "BO", "display_name": "bo"},
        ],
    )
    ritual = {
        "workspace_id": 1,
        "schedule": "every week thu 10:00",
        "time_zone": "UTC",
        "paused": False,
        "next_run_at": now,
        "created_at": now,
    }
    connection.execute(
        t["ritual"].insert(),
        [
            {**ritual, "id": 1, "kind": "one-on-one", "options": json.dumps(ONE_ON_ONE)},
            {**ritual, "id": 2, "kind": "one-on-one", "options": json.dumps(LEFT_PAIR)},
            {**ritual, "id": 3, "kind": "opener", "place_id": "C1", "options": json.dumps(OPENER)},
        ],
    )
    connection.execute(
        t["occurrence"].insert(),
        [
            {"id": i, "ritual_id": 1, "scheduled_at": now + timedelta(days=7 * i), "fired_at": now}
            for i in (1, 2)
        ],
    )
    connection.execute(
        t["outbox"].insert(),
        [
            {
                "workspace_id": 1,
                "idempotency_key": "1on1:2:moved:2025-03-20",
                "target_kind": "person",
                "target_id": "1",
                "payload": "{}",
                "state": "sent",
                "attempts": 1,
                "next_attempt_at": now,
                "created_at": now,
            }
        ],
    )


def _rows(connection: Connection) -> dict[str, Any]:
    t = _tables(connection)

    def read(name: str, *order: str) -> list[tuple[Any, ...]]:
        if name not in t:
            return []
        table = t[name]
        return [tuple(row) for row in connection.execute(table.select().order_by(*order)).all()]

    options = {
        ritual_id: json.loads(raw)
        for ritual_id, raw in connection.execute(text("SELECT id, options FROM ritual ORDER BY id")).all()
    }
    return {
        "pairs": read("oneononepair", "ritual_id"),
        "questions": [row[1:] for row in read("oneononequestion", "id")],
        "moves": read("oneononemove", "occurrence_id"),
        "options": options,
    }


async def test_upgrading_moves_1on1_pairs_out_of_ritual_options_and_downgrading_puts_them_back(
    empty_database_url: str,
) -> None:
    """Pairs registered before 0009 keep their people, prep prompt, question rotation and moved days."""
    await asyncio.to_thread(_migrate, empty_database_url, "upgrade", "0008")
    await on_connection(empty_database_url, lambda sync: (_pairs_before_0009(sync), sync.commit()))

    await asyncio.to_thread(_migrate, empty_database_url, "upgrade", "head")
    after = await on_connection(empty_database_url, _rows)
    # (ritual, workspace, manager, report, prep, nudge minutes); the gone report is "someone who left"
    assert after["pairs"] == [(1, 1, 1, 2, True, 60), (2, 1, 1, None, False, 60)]
    # (pair, meeting, question): the rotation in order; the meetings the options named keep their question
    assert after["questions"] == [(1, None, "q05"), (1, 1, "q01"), (1, 2, "q07")]
    assert after["moves"] == [(2, date(2025, 3, 20))]
    assert after["options"] == {
        1: {"anchor": "2025-03-03", "lead_minutes": 1440},
        2: {"anchor": "2025-03-04", "lead_minutes": 1440},
        3: OPENER,
    }

    await asyncio.to_thread(_migrate, empty_database_url, "downgrade", "0008")
    before = await on_connection(empty_database_url, _rows)
    assert before["pairs"] == before["questions"] == before["moves"] == []
    assert before["options"] == {1: ONE_ON_ONE, 2: {**LEFT_PAIR, "report": None}, 3: OPENER}
