"""Queries for 1:1 pairs: rituals of kind ``one-on-one``, their occurrences, and their queued nudges.

Every lookup takes the workspace id, so an id typed or clicked in one workspace can never reach a
pair of another. Marking an occurrence done is a compare-and-set, so two taps (or two replicas
handling the same tap) count once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Occurrence, Outbox, Ritual

KIND = "one-on-one"


async def pairs_in_workspace(session: AsyncSession, workspace_id: int) -> list[Ritual]:
    query = (
        select(Ritual)
        .where(Ritual.workspace_id == workspace_id, Ritual.kind == KIND)
        .order_by(col(Ritual.id))
    )
    return list((await session.exec(query)).all())


async def pair_in_workspace(session: AsyncSession, workspace_id: int, pair_id: int) -> Ritual | None:
    query = select(Ritual).where(
        Ritual.id == pair_id, Ritual.workspace_id == workspace_id, Ritual.kind == KIND
    )
    return (await session.exec(query)).first()


async def occurrence_in_workspace(
    session: AsyncSession, workspace_id: int, occurrence_id: int
) -> tuple[Occurrence, Ritual] | None:
    """One firing of a pair, with the pair; None if it is gone or belongs to another workspace."""
    query = (
        select(Occurrence, Ritual)
        .join(Ritual, col(Ritual.id) == col(Occurrence.ritual_id))
        .where(Occurrence.id == occurrence_id, Ritual.workspace_id == workspace_id, Ritual.kind == KIND)
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row is not None else None


async def close_occurrence(session: AsyncSession, occurrence_id: int, now: datetime) -> bool:
    """True only for the caller that closed it; an already-closed occurrence stays as it was."""
    result = await session.exec(
        update(Occurrence)  # type: ignore[call-overload]
        .where(col(Occurrence.id) == occurrence_id, col(Occurrence.closed_at).is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def occurrence_ids(session: AsyncSession, ritual_id: int) -> list[int]:
    query = select(Occurrence.id).where(Occurrence.ritual_id == ritual_id)
    return [found for found in (await session.exec(query)).all() if found is not None]


async def drop_messages(
    session: AsyncSession, workspace_id: int, family: str, key_prefixes: list[str]
) -> int:
    """Deletes outbox rows whose key starts with one of ``key_prefixes``, sent or not.

    Unsent ones must not go out any more; sent ones are dropped too because SQLite may hand a deleted
    row's id to the next row, and a stale key built from the old id would silence the new message.
    ``family`` is the prefix they all share, so the database narrows the rows before they are read.
    """
    if not key_prefixes:
        return 0
    query = select(Outbox).where(
        Outbox.workspace_id == workspace_id,
        col(Outbox.idempotency_key).startswith(family, autoescape=True),
    )
    dropped = 0
    for row in (await session.exec(query)).all():
        if row.idempotency_key.startswith(tuple(key_prefixes)):
            await session.delete(row)
            dropped += 1
    return dropped
