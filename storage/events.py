"""Inbound event ids already handled: the de-duplication store shared by every replica."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent

# Plain Core: SQLModel declares no __table__ for type checkers; the ORM sets it.
PROCESSED: Table = ProcessedEvent.__table__  # type: ignore[attr-defined]


def _record(insert: Callable[[Table], Any]) -> Any:
    return (
        insert(PROCESSED)
        .values(
            platform=bindparam("platform"),
            event_id=bindparam("event_id"),
            received_at=bindparam("received_at"),
        )
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
    )


# Built once (every event runs it; building costs SQLAlchemy more CPU than running), by dialect.
RECORD = {True: _record(pg_insert), False: _record(sqlite_insert)}  # key: is it PostgreSQL


async def mark_processed(
    session: AsyncSession, platform: str, event_id: str, now: datetime, earlier: Sequence[str] = ()
) -> bool:
    """Records the id; False when it was already there (a platform retry or another replica's copy),
    also under one of ``earlier`` (the same event's ids under keys used before a key rotation).

    One ``INSERT ... ON CONFLICT DO NOTHING`` (no read first, no savepoint, no ORM object): every
    event pays this, and of two transactions recording the same id at once exactly one inserts.
    Kept to the hour only: the row exists to refuse retries for a day, and an exact time would pin
    whatever else was written at that moment (an anonymous report) to this event."""
    if earlier:
        known = select(ProcessedEvent.event_id).where(
            ProcessedEvent.platform == platform,
            col(ProcessedEvent.event_id).in_([key[:200] for key in earlier]),
        )
        if (await session.exec(known.limit(1))).first() is not None:
            return False
    statement = RECORD[session.get_bind().dialect.name == "postgresql"]
    params = {
        "platform": platform,
        "event_id": event_id[:200],
        "received_at": now.replace(minute=0, second=0, microsecond=0),
    }
    result = await session.exec(statement, params=params)
    return bool(result.rowcount)


async def forget_processed_before(session: AsyncSession, cutoff: datetime) -> int:
    """Drops old ids; platforms stop retrying within minutes, a day is ample."""
    result = await session.exec(delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < cutoff))
    return int(result.rowcount or 0)


RETENTION = timedelta(days=1)
