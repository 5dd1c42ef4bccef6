"""Migrations and models must describe the same schema, and upgrading must be safe to repeat and race."""

from __future__ import annotations

import asyncio
import sys
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
