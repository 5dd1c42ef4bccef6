"""Database fixtures: every test that takes ``database`` runs on SQLite and, when configured, PostgreSQL.

Migrating is the slow part, so each backend is migrated once per session: SQLite into a template file
that each test copies, PostgreSQL into a throwaway database that is emptied before each test.

The suite runs in pytest-xdist workers (``-n auto``), each its own session: each migrates its own
databases (named after the worker, e.g. ``tend_test_gw1_…``), so no two tests ever share one. A test
marked ``alone`` (real processes held to Slack's real-time deadlines under a burst) runs while no other
worker runs a test: every test holds a shared lock on one file, an ``alone`` test an exclusive one.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.clock import FixedClock
from storage.db import Database
from storage.migrate import upgrade_sync
from tests.helpers import fixed_clock

POSTGRES_ENV = "TEND_TEST_POSTGRES_URL"
POSTGRES_SERVER_URL = os.environ.get(POSTGRES_ENV, "")

_needs_server = pytest.mark.skipif(not POSTGRES_SERVER_URL, reason=f"{POSTGRES_ENV} not set")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres, _needs_server]),
]


async def _on_server(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_SERVER_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def create_postgres_database() -> str:
    """A new, empty database on the test server; returns its URL."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # set by pytest-xdist in each worker
    name = f"tend_test_{worker}_{uuid.uuid4().hex[:12]}"
    await _on_server(f'CREATE DATABASE "{name}"')
    return make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    await _on_server(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _empty_all_script() -> str:
    # DELETE plus resetting the id sequences takes ~7 ms; TRUNCATE of the same tables takes ~60 ms.
    tables = list(reversed(SQLModel.metadata.sorted_tables))  # children first, for the foreign keys
    statements = [f'DELETE FROM "{table.name}";' for table in tables]
    for table in tables:
        if (id_column := table.autoincrement_column) is not None:
            sequence = f"pg_get_serial_sequence('{table.name}', '{id_column.name}')"
            statements.append(f"SELECT setval({sequence}, 1, false);")
    return "BEGIN;" + "".join(statements) + "COMMIT;"


async def empty_all(url: str) -> None:
    """Deletes every row and restarts ids at 1, as in a fresh database."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(_empty_all_script())  # one round trip (simple query protocol)
    finally:
        await connection.close()


@pytest.fixture(autouse=True)
def _machine_share(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Under xdist: a shared lock for each test, an exclusive one for an ``alone`` test (see above)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    alone = request.node.get_closest_marker("alone") is not None
    path = tmp_path_factory.getbasetemp().parent / "machine.lock"  # the workers' common folder
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        yield  # closing the file lets go of the lock


@pytest.fixture(scope="session", autouse=True)
def _own_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test process writes its temporary files (index charts among them) in a folder of its own:
    the charts' purge compares a test clock with the files' real times, so one worker's purge would
    delete a chart another worker has just drawn and is about to read (a flaky test_index)."""
    folder = tmp_path_factory.mktemp("tmp")
    before, before_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir, os.environ["TMPDIR"] = str(folder), str(folder)
    yield
    tempfile.tempdir = before
    if before_env is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before_env


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy (a file copy costs about a millisecond)."""
    path = tmp_path_factory.mktemp("template") / "tend.db"
    upgrade_sync(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """A throwaway database on the test server, migrated once and dropped at the end."""
    url = asyncio.run(create_postgres_database())
    try:
        upgrade_sync(url)
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))


@pytest.fixture(params=BACKENDS)
def _backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    # A sync fixture so the session fixtures above may run their own event loops.
    if request.param == "sqlite":
        path = tmp_path / "tend.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_session_url")


@pytest.fixture
async def database_url(_backend_url: str) -> str:
    """The URL of a migrated, empty database of this test's own (for tests that open it several times)."""
    if not _backend_url.startswith("sqlite"):
        await empty_all(_backend_url)
    return _backend_url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database handle, isolated from every other test."""
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture(params=BACKENDS)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database that was never migrated (the SQLite one does not exist yet, nor does its folder)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'tend.db'}"
        return
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


@pytest.fixture
def clock() -> FixedClock:
    """Monday 2025-03-03 09:00 UTC, moved only by the test."""
    return fixed_clock()
