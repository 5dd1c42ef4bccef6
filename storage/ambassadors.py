"""Queries for compassion ambassadors, their shared space and the monthly digests sent to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Ambassador, AmbassadorDigest, AmbassadorSpace, Member, Workspace


async def ambassadors_in(session: AsyncSession, workspace_id: int) -> list[Member]:
    query = (
        select(Member)
        .join(Ambassador, col(Ambassador.member_id) == col(Member.id))
        .where(Ambassador.workspace_id == workspace_id)
        .order_by(col(Member.display_name), col(Member.id))
    )
    return list((await session.exec(query)).all())


async def is_ambassador(session: AsyncSession, workspace_id: int, member_id: int) -> bool:
    query = select(Ambassador.id).where(
        Ambassador.workspace_id == workspace_id, Ambassador.member_id == member_id
    )
    return (await session.exec(query)).first() is not None


async def add(session: AsyncSession, workspace_id: int, member_id: int, now: datetime) -> bool:
    """True when the person became an ambassador now (False: they already were)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(Ambassador)
        .values(workspace_id=workspace_id, member_id=member_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["workspace_id", "member_id"])
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def remove(session: AsyncSession, workspace_id: int, member_id: int) -> bool:
    result = await session.exec(
        delete(Ambassador).where(
            col(Ambassador.workspace_id) == workspace_id, col(Ambassador.member_id) == member_id
        )
    )
    return bool(result.rowcount)


async def space_of(session: AsyncSession, workspace_id: int) -> AmbassadorSpace | None:
    return await session.get(AmbassadorSpace, workspace_id)


async def set_space(session: AsyncSession, workspace_id: int, place_id: str, now: datetime) -> None:
    space = await session.get(AmbassadorSpace, workspace_id)
    if space is None:
        space = AmbassadorSpace(workspace_id=workspace_id, place_id=place_id, created_at=now)
    space.place_id, space.created_at = place_id, now
    session.add(space)


async def without_digest(session: AsyncSession, month: str) -> list[tuple[Workspace, Member]]:
    """Ambassadors of active workspaces not sent ``month``'s digest yet."""
    sent = select(AmbassadorDigest.member_id).where(AmbassadorDigest.month == month)
    query = (
        select(Workspace, Member)
        .join(Ambassador, col(Ambassador.workspace_id) == col(Workspace.id))
        .join(Member, col(Member.id) == col(Ambassador.member_id))
        .where(col(Workspace.active).is_(True), col(Ambassador.member_id).not_in(sent))
        .order_by(col(Workspace.id), col(Member.id))
    )
    return [(workspace, member) for workspace, member in (await session.exec(query)).all()]


async def mark_digest(session: AsyncSession, member_id: int, month: str, now: datetime) -> bool:
    """True for the one caller that records ``month``'s digest for the person (the others send nothing)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(AmbassadorDigest)
        .values(member_id=member_id, month=month, sent_at=now)
        .on_conflict_do_nothing(index_elements=["member_id", "month"])
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def digests_of(session: AsyncSession, member_id: int) -> list[str]:
    query = select(AmbassadorDigest.month).where(AmbassadorDigest.member_id == member_id)
    return sorted((await session.exec(query)).all())


async def forget(session: AsyncSession, member_id: int) -> bool:
    """Forget-me: the ambassador role and the record of digests sent go. True if they were one."""
    await session.exec(delete(AmbassadorDigest).where(col(AmbassadorDigest.member_id) == member_id))
    result = await session.exec(delete(Ambassador).where(col(Ambassador.member_id) == member_id))
    return bool(result.rowcount)
