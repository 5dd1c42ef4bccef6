"""The databases a benchmark runs on: a temporary SQLite file, and a throwaway PostgreSQL database."""

from __future__ import annotations

import argparse
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url


def arguments(description: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throwaway database is created there")
    return parser.parse_args()


@asynccontextmanager
async def sqlite_url() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


@asynccontextmanager
async def postgres_url(server_url: str) -> AsyncIterator[str]:
    """A new database on the server for one measurement, dropped afterwards whatever happens."""
    name = f"tend_bench_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(server_url)
    await server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await server.close()
