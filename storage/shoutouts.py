"""Shout-out rows: written when given, read back for the weekly digest and the contagion rule."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Shoutout


async def received_since(session: AsyncSession, member_id: int, since: datetime) -> bool:
    query = select(Shoutout.id).where(Shoutout.receiver_member_id == member_id, Shoutout.created_at >= since)
    return (await session.exec(query.limit(1))).first() is not None


async def given_between(
    session: AsyncSession, workspace_id: int, start: datetime, end: datetime, channel_id: str | None = None
) -> list[Shoutout]:
    query = select(Shoutout).where(
        Shoutout.workspace_id == workspace_id, Shoutout.created_at >= start, Shoutout.created_at < end
    )
    if channel_id is not None:
        query = query.where(Shoutout.channel_id == channel_id)
    return list((await session.exec(query.order_by(col(Shoutout.created_at), col(Shoutout.id)))).all())


async def received_recently(
    session: AsyncSession, member_id: int, since: datetime, limit: int
) -> list[Shoutout]:
    """The newest shout-outs a person received since ``since`` (their own home page reads them back)."""
    query = (
        select(Shoutout)
        .where(Shoutout.receiver_member_id == member_id, Shoutout.created_at >= since)
        .order_by(col(Shoutout.created_at).desc(), col(Shoutout.id).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())
