"""Inbound event ids already handled: the de-duplication store shared by every replica."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Table, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent

# Plain Core: SQLModel declares no __table__ for type checkers; the ORM sets it.
PROCESSED: Table = ProcessedEvent.__table__  # type: ignore[attr-defined]


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
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(PROCESSED)
        .values(
            platform=platform,
            event_id=event_id[:200],
            received_at=now.replace(minute=0, second=0, microsecond=0),
        )
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def forget_processed_before(session: AsyncSession, cutoff: datetime) -> int:
    """Drops old ids; platforms stop retrying within minutes, a day is ample."""
    result = await session.exec(delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < cutoff))
    return int(result.rowcount or 0)


RETENTION = timedelta(days=1)
