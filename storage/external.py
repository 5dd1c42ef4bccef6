"""The SQL Tend runs on tables a platform SDK's own store keeps in Tend's database.

slack_sdk keeps installations and OAuth states in its own SQLAlchemy tables
(``storage.migrate.EXTERNAL_TABLES``). Creating them, widening their credential columns, finding a
Grid workspace's enterprise, rewriting sealed credentials and the cross-replica advisory locks all
happen here, so the adapter that uses the SDK never holds a connection or writes a statement: it
reaches this through ``bot.ports.SdkTables``, wired in ``app.py``. Table and column names come from
the adapter's constants, never from a request; they are quoted by SQLAlchemy all the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, column, inspect, select, table, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Lock = tuple[int, int]  # a PostgreSQL advisory lock's two keys


class ExternalTables:
    """``bot.ports.SdkTables`` over Tend's engine. On SQLite (one process) the locks are no-ops."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def bind(self) -> AsyncEngine:
        """What the SDK's own store is built on (only the SDK runs statements on it)."""
        return self._engine

    @property
    def _postgres(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    async def _take(self, connection: AsyncConnection, lock: Lock) -> None:
        if self._postgres:
            statement = text("SELECT pg_advisory_xact_lock(:namespace, :key)")
            await connection.execute(statement, {"namespace": lock[0], "key": lock[1]})

    @asynccontextmanager
    async def lock(self, namespace: int, key: int) -> AsyncIterator[None]:
        """Held until the block ends, by one holder across every replica (a transaction-scoped
        advisory lock on PostgreSQL, in a transaction of its own)."""
        if not self._postgres:
            yield
            return
        async with self._engine.begin() as connection:
            await self._take(connection, (namespace, key))
            yield

    async def create(
        self, schemas: Iterable[MetaData], *, lock: Lock, text_columns: Mapping[str, Iterable[str]]
    ) -> None:
        """Creates the schemas' missing tables (replicas starting together take turns); on PostgreSQL
        ``text_columns`` still VARCHAR become TEXT (no rewrite), as a sealed value outgrows them."""
        async with self._engine.begin() as connection:
            await self._take(connection, lock)
            for schema in schemas:
                await connection.run_sync(schema.create_all)
            if self._postgres:
                await _widen(connection, text_columns)

    async def first(self, name: str, wanted: str, *, equal: Mapping[str, Any], present: str) -> Any:
        """``wanted`` of the first row of ``name`` whose columns match ``equal`` and whose ``present``
        column is set; None when there is none."""
        found = table(name, column(wanted), column(present), *(column(key) for key in equal))
        query = select(found.c[wanted]).where(found.c[present].is_not(None)).limit(1)
        query = query.where(*(found.c[key] == value for key, value in equal.items()))
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).scalar()

    async def rewrite(
        self,
        columns: Mapping[str, Iterable[str]],
        change: Callable[[str, Mapping[str, Any]], Mapping[str, Any]],
        *,
        read: Iterable[str],
        lock: Lock,
    ) -> None:
        """Every row of each table (``columns``: table -> the columns to rewrite) is handed to
        ``change`` (the table's name, the row's ``id``, ``read`` and those columns); what it returns
        is written only if the row still holds what was read (compare-and-set), so a value changed
        meanwhile is never overwritten. Missing tables are skipped; one transaction, one holder."""
        async with self._engine.begin() as connection:
            await self._take(connection, lock)
            present = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
            for name, rewritten in columns.items():
                if name not in present:
                    continue
                names = list(dict.fromkeys(["id", *read, *rewritten]))
                rows_of = table(name, *(column(key) for key in names))
                found = (await connection.execute(select(rows_of))).mappings().all()
                for row in (dict(item) for item in found):
                    changes = dict(change(name, row))
                    if not changes:
                        continue
                    same = [rows_of.c[key] == row[key] for key in changes]
                    statement = update(rows_of).where(rows_of.c.id == row["id"], *same).values(**changes)
                    await connection.execute(statement)


async def _widen(connection: AsyncConnection, text_columns: Mapping[str, Iterable[str]]) -> None:
    wanted = {name: set(columns) for name, columns in text_columns.items()}
    narrow = await connection.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = 'character varying'"
        )
    )
    quote = connection.dialect.identifier_preparer.quote
    for name, column_name in narrow.all():
        if column_name in wanted.get(name, ()):
            widen = f"ALTER TABLE {quote(name)} ALTER COLUMN {quote(column_name)} TYPE TEXT"
            await connection.execute(text(widen))
