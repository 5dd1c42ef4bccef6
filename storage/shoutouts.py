"""Shout-out rows: written when given, read back for the weekly digest and the contagion rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, bindparam, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Shoutout

# Plain Core: the rows are written at once (what the transaction reads after sees them), no ORM objects kept.
SHOUTOUT: Table = Shoutout.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


async def add_all(session: AsyncSession, rows: Sequence[Shoutout]) -> None:
    """Stores a shout-out's rows (one per person thanked) in the caller's transaction: one INSERT,
    not the ORM's flush of new objects (about a millisecond of CPU per shout-out)."""
    if not rows:
        return
    columns = [column.name for column in SHOUTOUT.columns if column.name != "id"]
    await session.exec(
        insert(SHOUTOUT), params=[{name: getattr(row, name) for name in columns} for row in rows]
    )


# Built once: every shout-out asks (building costs SQLAlchemy more CPU than running it).
RECEIVED_SINCE = (
    select(Shoutout.id)
    .where(Shoutout.receiver_member_id == bindparam("member_id"), Shoutout.created_at >= bindparam("since"))
    .limit(1)
)


async def received_since(session: AsyncSession, member_id: int, since: datetime) -> bool:
    params = {"member_id": member_id, "since": since}
    return (await session.exec(RECEIVED_SINCE, params=params)).first() is not None


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


# --- a person's data rights (practices/shoutouts.py export_mine, forget_mine) ---------------------


async def given_by(session: AsyncSession, workspace_id: int, member_id: int) -> list[Shoutout]:
    query = select(Shoutout).where(
        Shoutout.workspace_id == workspace_id, Shoutout.giver_member_id == member_id
    )
    return list((await session.exec(query.order_by(col(Shoutout.created_at), col(Shoutout.id)))).all())


async def received_by(session: AsyncSession, workspace_id: int, member_id: int) -> list[Shoutout]:
    query = select(Shoutout).where(
        Shoutout.workspace_id == workspace_id, Shoutout.receiver_member_id == member_id
    )
    return list((await session.exec(query.order_by(col(Shoutout.created_at), col(Shoutout.id)))).all())


async def unname(session: AsyncSession, workspace_id: int, member_id: int) -> int:
    """Shout-outs keep their words and lose this person's name (giver or receiver becomes NULL)."""
    changed = 0
    for column in (Shoutout.giver_member_id, Shoutout.receiver_member_id):
        result = await session.exec(
            update(Shoutout)
            .where(col(Shoutout.workspace_id) == workspace_id, col(column) == member_id)
            .values({column: None})
            .execution_options(synchronize_session="fetch")
        )
        changed += int(result.rowcount or 0)
    return changed
