"""Alembic's entry point. Runs on its own event loop (``storage.migrate`` calls it from a worker thread).

The whole upgrade is one transaction that first takes a lock, so replicas starting together migrate
one after the other and the later ones find nothing to do. ``context_options`` (shared with the drift
test) carries an ``include_object`` that leaves slack_sdk's OAuth store tables alone
(``storage.migrate.EXTERNAL_TABLES``): their stores create them, and Tend's models do not describe them.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context
from sqlalchemy import event, pool, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import DEFAULT_DATABASE_URL, async_url, ensure_sqlite_folder
from storage.migrate import ADVISORY_LOCK_KEY, context_options

config = context.config


def _database_url() -> str:
    # storage.migrate passes the URL as an attribute (no ini interpolation of '%' in passwords);
    # the plain `alembic` CLI falls back to the environment like the app does.
    return (
        config.attributes.get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )


def _sqlite_begin_immediate(engine: Any) -> None:
    # sqlite3 would autocommit each DDL statement; an explicit BEGIN IMMEDIATE makes the upgrade atomic
    # and takes the write lock up front, SQLite's equivalent of the advisory lock below.
    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, **context_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    url = _database_url()
    engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        ensure_sqlite_folder(url)  # a fresh install has no ./data yet
        _sqlite_begin_immediate(engine)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")  # released by the commit below
                await connection.execute(lock, {"key": ADVISORY_LOCK_KEY})
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():  # `alembic upgrade head --sql`: print the DDL for a DBA to review
    url = async_url(_database_url())
    context.configure(url=url, literal_binds=True, **context_options(make_url(url).get_backend_name()))
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async_migrations())
