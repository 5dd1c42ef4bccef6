"""Where Tend can write later: stored conversation references, and members it may no longer DM.

A reference is the platform's own serialized JSON, kept opaque here. Saving is an upsert on
(workspace, kind, key), so the same activity seen on two replicas writes one row.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationRef, Member, Workspace

KINDS = ("place", "person")


async def save_reference(
    session: AsyncSession, workspace_id: int, kind: str, key: str, reference: str, now: datetime
) -> None:
    """Inserts the reference for (workspace, kind, key), or replaces it when it changed.

    An unchanged reference is not written again, and the time kept is the day: rewriting a person's
    chat reference on every activity would stamp the moment of each thing they did, anonymous
    submissions included, on a row that names them.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown reference kind {kind!r}")
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = {
        "workspace_id": workspace_id,
        "kind": kind,
        "key": key,
        "reference": reference,
        "updated_at": now.replace(hour=0, minute=0, second=0, microsecond=0),
    }
    statement = insert(ConversationRef).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "kind", "key"],
        set_={"reference": statement.excluded.reference, "updated_at": statement.excluded.updated_at},
        where=col(ConversationRef.reference) != statement.excluded.reference,
    )
    await session.exec(statement)


async def get_reference(session: AsyncSession, workspace_id: int, kind: str, key: str) -> str | None:
    query = select(ConversationRef.reference).where(
        ConversationRef.workspace_id == workspace_id, ConversationRef.kind == kind, ConversationRef.key == key
    )
    return (await session.exec(query)).first()


async def reference_in(
    session: AsyncSession, platform: str, external_id: str, kind: str, key: str
) -> str | None:
    """The reference for (kind, key) in the platform's workspace, in one statement (a send's lookup)."""
    query = (
        select(ConversationRef.reference)
        .join(Workspace, col(Workspace.id) == col(ConversationRef.workspace_id))
        .where(Workspace.platform == platform, Workspace.external_id == external_id)
        .where(ConversationRef.kind == kind, ConversationRef.key == key)
    )
    return (await session.exec(query)).first()


async def latest_reference(session: AsyncSession, workspace_id: int) -> str | None:
    """The most recently refreshed reference of a workspace (its service URL starts new chats)."""
    query = (
        select(ConversationRef.reference)
        .where(ConversationRef.workspace_id == workspace_id)
        .order_by(col(ConversationRef.updated_at).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def forget_reference(session: AsyncSession, workspace_id: int, kind: str, key: str) -> None:
    """Drops one reference (forget-me: a person's personal chat reference carries their ids)."""
    reference = (
        await session.exec(
            select(ConversationRef).where(
                ConversationRef.workspace_id == workspace_id,
                ConversationRef.kind == kind,
                ConversationRef.key == key,
            )
        )
    ).first()
    if reference is not None:
        await session.delete(reference)


async def references(session: AsyncSession, workspace_id: int, kind: str) -> list[tuple[str, str]]:
    """Every (key, reference) of one kind in a workspace (the places Tend is in, when it leaves one)."""
    query = select(ConversationRef.key, ConversationRef.reference).where(
        ConversationRef.workspace_id == workspace_id, ConversationRef.kind == kind
    )
    return [(key, reference) for key, reference in (await session.exec(query)).all()]


async def forget_person(session: AsyncSession, workspace_id: int, user_id: str) -> None:
    """Forget-me: drops the person's 1:1 chat reference, and that chat's own place reference."""
    raw = await get_reference(session, workspace_id, "person", user_id)
    chat = ((json.loads(raw) if raw else {}).get("conversation") or {}).get("id")
    await forget_reference(session, workspace_id, "person", user_id)
    if chat:
        await forget_reference(session, workspace_id, "place", str(chat))


async def set_unreachable(session: AsyncSession, member_id: int, unreachable: bool) -> None:
    await session.exec(update(Member).where(col(Member.id) == member_id).values(unreachable=unreachable))


async def unreachable_members(session: AsyncSession, workspace_id: int) -> list[Member]:
    """The people whose platform refuses Tend's private messages, by name (the admin's ritual list)."""
    query = (
        select(Member)
        .where(
            col(Member.workspace_id) == workspace_id,
            col(Member.unreachable).is_(True),
            col(Member.is_bot).is_(False),
        )
        .order_by(col(Member.display_name), col(Member.id))
    )
    return list((await session.exec(query)).all())


async def set_unreachable_by_user(
    session: AsyncSession, workspace_id: int, platform_user_id: str, unreachable: bool
) -> bool:
    """Sets the flag for a platform user; True when a member's flag actually changed."""
    result = await session.exec(
        update(Member)
        .where(
            col(Member.workspace_id) == workspace_id,
            col(Member.platform_user_id) == platform_user_id,
            col(Member.unreachable) != unreachable,
        )
        .values(unreachable=unreachable)
    )
    return bool(result.rowcount)
