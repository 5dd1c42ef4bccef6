"""The database handle: one async engine and a session factory, for SQLite or PostgreSQL.

Callers pass the public URL form (``sqlite:///...``, ``postgresql://...``); the async driver is
chosen here so the rest of the code never spells a driver name.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

DEFAULT_DATABASE_URL = "sqlite:///./data/tend.db"

# The session type the layers above use, so they never import sqlmodel themselves.
Session = AsyncSession
# Raised when a unique constraint refuses a row another request or replica already wrote.
Conflict = IntegrityError


class DatabaseUrlError(ValueError):
    """The configured DATABASE_URL names a database Tend cannot use."""


def async_url(url: str) -> str:
    """Maps the documented URL forms onto the async drivers Tend ships with."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        # Never echo the URL itself: it may carry a password.
        raise DatabaseUrlError("DATABASE_URL is not a database URL (like sqlite:///./data/tend.db)") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise DatabaseUrlError(f"DATABASE_URL must start with sqlite:/// or postgresql://, got {backend!r}")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while one writer writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten with zeros, so erased answers and relay links leave no bytes behind.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
    # The driver's own BEGIN is deferred: a transaction that reads, then writes while another
    # connection writes fails at once with "database is locked" (busy_timeout cannot help a read lock
    # that must be upgraded). Tend emits its own BEGIN IMMEDIATE instead (``_sqlite_begin``).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    """SQLAlchemy's documented pysqlite/aiosqlite recipe, with IMMEDIATE: every transaction takes
    the write lock when it starts, so concurrent writers queue on busy_timeout instead of failing."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pool(url: str) -> dict[str, Any]:
    """One connection for a SQLite file: its transactions all take the write lock (BEGIN IMMEDIATE),
    so more connections would only wait inside SQLite's busy handler, which sleeps in growing steps
    (up to 100 ms) and lets a burst's writers starve each other. Waiting for the pool is first come,
    first served instead. (Another process, such as a second replica, still waits on busy_timeout.)"""
    database = make_url(url).database
    if not database or database == ":memory:" or "mode=memory" in url:
        return {}  # SQLAlchemy picks a single-connection pool for an in-memory database itself
    return {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60}


class _Turns:
    """SQLite's one connection, handed to one transaction at a time, urgent ones first.

    The pool alone serves whoever asked first: a request waiting for its ack (``urgent``) would wait
    behind every worker transaction already queued. Nothing else changes: one transaction at a time,
    first come first served among equals."""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    async def take(self, urgent: bool) -> None:
        if not self._busy:
            self._busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        line = self._urgent if urgent else self._others
        line.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give_back()  # the turn came as the wait was cancelled: the next one has it
            else:
                line.remove(turn)
            raise

    def give_back(self) -> None:
        for line in (self._urgent, self._others):
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self._busy = False


class Database:
    """Owns the engine; hands out short-lived sessions.

    ``hide_parameters`` keeps bound values (a shout-out's words, a report's text) out of database
    error messages, which end up in logs.
    """

    def __init__(self, url: str = DEFAULT_DATABASE_URL, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        if self.is_sqlite:
            ensure_sqlite_folder(url)
            self.engine: AsyncEngine = create_async_engine(
                async_url(url), echo=echo, hide_parameters=True, **_sqlite_pool(url)
            )
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        else:
            self.engine = create_async_engine(
                async_url(url), echo=echo, pool_pre_ping=True, hide_parameters=True
            )
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # One SQLite file connection (``_sqlite_pool``) is taken in turns; PostgreSQL's pool has more.
        self._turns = _Turns() if self.is_sqlite and _sqlite_pool(url) else None

    @asynccontextmanager
    async def session(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on any error. ``urgent``: a
        request waits for its ack on this one (the inbound queue's store), so on SQLite it goes before
        the transactions waiting for the connection (docs/architecture.md, "acks first")."""
        if self._turns is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        await self._turns.take(urgent)
        try:
            async with self._sessions() as session, session.begin():
                yield session
        finally:
            self._turns.give_back()

    async def ping(self) -> bool:
        """True when the database answers a trivial query (for /healthz)."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def erase_leftovers(self) -> None:
        """SQLite keeps old versions of pages in its WAL file until a checkpoint writes over them,
        deleted check-in answers and relay links among them; a truncating checkpoint (the scheduler
        runs one hourly) leaves none. PostgreSQL has no equivalent: its dead rows hold only values
        keyed or sealed under ``TEND_SECRET_KEY`` (docs/privacy.md, "Threat model")."""
        path = make_url(self.url).database if self.is_sqlite else None
        if not path or path == ":memory:" or path.startswith("file:"):
            return

        def checkpoint() -> None:
            with contextlib.closing(sqlite3.connect(path, timeout=1)) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # busy: the next hour's try

        await asyncio.to_thread(checkpoint)

    async def dispose(self) -> None:
        await self.engine.dispose()
