"""Inbound event ids already handled: the de-duplication store shared by every replica."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent


async def mark_processed(
    session: AsyncSession, platform: str, event_id: str, now: datetime, earlier: Sequence[str] = ()
) -> bool:
    """Records the id; False when it was already there (a platform retry or another replica's copy),
    also under one of ``earlier`` (the same event's ids under keys used before a key rotation).

    Kept to the hour only: the row exists to refuse retries for a day, and an exact time would pin
    whatever else was written at that moment (an anonymous report) to this event."""
    for known in (event_id, *earlier):
        if await session.get(ProcessedEvent, (platform, known[:200])) is not None:
            return False
    try:
        async with session.begin_nested():
            session.add(
                ProcessedEvent(
                    platform=platform,
                    event_id=event_id[:200],
                    received_at=now.replace(minute=0, second=0, microsecond=0),
                )
            )
            await session.flush()
    except IntegrityError:
        return False
    return True


async def forget_processed_before(session: AsyncSession, cutoff: datetime) -> int:
    """Drops old ids; platforms stop retrying within minutes, a day is ample."""
    result = await session.exec(delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < cutoff))
    return int(result.rowcount or 0)


RETENTION = timedelta(days=1)
