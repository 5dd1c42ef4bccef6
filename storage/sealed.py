"""Every column that holds a value sealed under ``TEND_SECRET_KEY``, for ``python app.py rotate-key``.

Storage never opens these values (it has no key); it lists them a page at a time and writes a
re-sealed value back only if the row still holds what was read (compare-and-set), so a rotation
running beside a live Tend never overwrites a newer answer or a relay that just changed. What each
value was sealed for (its purpose) is known above, in ``bot.key_rotation``.

A new sealed column is added to ``SEALED_COLUMNS``; keyed digests (voter keys, contributor keys,
processed-event ids) are not here: a digest cannot be re-keyed without what it was computed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, tuple_, update
from sqlalchemy import select as select_columns
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Inbound, OpenerAnswer, Outbox, StressRelay
from storage.outbox import SEALED

PAGE = 500


@dataclass(frozen=True)
class SealedColumn:
    """One column of sealed values: its model, primary key, and which rows hold a sealed value."""

    name: str
    model: Any
    keys: tuple[str, ...]
    column: str
    only: Any = None  # a condition naming the rows whose value is sealed (None: every non-null one)


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("relay.author", StressRelay, ("token",), "author_seal"),
    SealedColumn("relay.supporter", StressRelay, ("token",), "supporter_seal"),
    SealedColumn("opener.score", OpenerAnswer, ("occurrence_id", "voter_key"), "sealed_score"),
    SealedColumn("outbox.sealed", Outbox, ("id",), "payload", col(Outbox.target_kind) == SEALED),
    SealedColumn("inbound.sealed", Inbound, ("id",), "payload", col(Inbound.sealed).is_(True)),
)


def column_named(name: str) -> SealedColumn:
    return next(column for column in SEALED_COLUMNS if column.name == name)


async def sealed_page(
    session: AsyncSession, column: SealedColumn, after: tuple[Any, ...] | None, limit: int = PAGE
) -> list[tuple[tuple[Any, ...], str]]:
    """Up to ``limit`` (key, sealed value) pairs after ``after``, in key order (keyset paging)."""
    keys = [getattr(column.model, key) for key in column.keys]
    value = getattr(column.model, column.column)
    query = select_columns(*keys, value).where(col(value).is_not(None), col(value) != "")  # any width
    if column.only is not None:
        query = query.where(column.only)
    if after is not None:
        query = query.where(tuple_(*keys) > tuple_(*after))
    query = query.order_by(*keys).limit(limit)
    rows = (await (await session.connection()).execute(query)).all()
    return [(tuple(row[: len(keys)]), str(row[len(keys)])) for row in rows]


async def replace_sealed(
    session: AsyncSession, column: SealedColumn, key: tuple[Any, ...], old: str, new: str
) -> bool:
    """Writes ``new`` where the row still holds ``old``; False when it changed (or went) meanwhile."""
    value = getattr(column.model, column.column)
    same_row = [getattr(column.model, name) == part for name, part in zip(column.keys, key, strict=True)]
    statement = update(column.model).where(and_(*same_row, value == old)).values({column.column: new})
    result = await session.exec(statement)
    return bool(result.rowcount)
