"""Rituals and their occurrences: the queries the scheduler and the ritual commands need.

Claiming is what makes firing exactly-once across replicas: on PostgreSQL the due rows are locked
with ``FOR UPDATE SKIP LOCKED`` (a second replica skips them), on SQLite a compare-and-set on
``next_run_at`` lets only one writer move a ritual on. The occurrence row, unique on (ritual,
scheduled time), is the second guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Occurrence, OneOnOnePair, Ritual


async def add(session: AsyncSession, ritual: Ritual) -> Ritual:
    """Stores a new ritual and gives it its id (the reply names it)."""
    session.add(ritual)
    await session.flush()
    return ritual


def save(session: AsyncSession, ritual: Ritual) -> None:
    session.add(ritual)


async def delete(session: AsyncSession, ritual: Ritual) -> None:
    await session.delete(ritual)


async def get_in_workspace(session: AsyncSession, workspace_id: int, ritual_id: int) -> Ritual | None:
    query = select(Ritual).where(Ritual.id == ritual_id, Ritual.workspace_id == workspace_id)
    return (await session.exec(query)).first()


async def list_for_workspace(
    session: AsyncSession, workspace_id: int, exclude_kinds: Sequence[str] = ()
) -> list[Ritual]:
    query = select(Ritual).where(Ritual.workspace_id == workspace_id)
    if exclude_kinds:
        query = query.where(col(Ritual.kind).not_in(list(exclude_kinds)))
    return list((await session.exec(query.order_by(col(Ritual.id)))).all())


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[Ritual]:
    """Due rituals this process may fire; the caller must move ``next_run_at`` on before commit."""
    query = (
        select(Ritual)
        .where(col(Ritual.paused).is_(False), col(Ritual.next_run_at) <= now)
        .order_by(col(Ritual.next_run_at), col(Ritual.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        return list((await session.exec(query.with_for_update(skip_locked=True))).all())
    return list((await session.exec(query)).all())


async def move_on_many(session: AsyncSession, moves: list[tuple[int, datetime, datetime | None]]) -> bool:
    """Moves claimed rituals on in one statement; False when another process moved one first.

    On PostgreSQL the rows are locked by ``claim_due``, so this cannot lose. On SQLite the
    compare-and-set on the old ``next_run_at`` detects a concurrent writer; the caller then rolls
    the whole batch back and claims again.
    """
    if not moves:
        return True
    statement = (
        update(Ritual)
        .where(col(Ritual.id) == bindparam("ritual_id"), col(Ritual.next_run_at) == bindparam("expected"))
        .values(next_run_at=bindparam("upcoming"))
    )
    params = [{"ritual_id": rid, "expected": old, "upcoming": new} for rid, old, new in moves]
    connection = await session.connection()
    result = await connection.execute(statement, params)
    return session.get_bind().dialect.name == "postgresql" or result.rowcount == len(moves)


async def add_occurrences(
    session: AsyncSession, firings: list[tuple[int, datetime]], now: datetime
) -> dict[int, Occurrence]:
    """Records firings in one statement; returns the new occurrences by ritual id.

    A firing that already exists (unique on ritual and time) is left out, so it is not fired again.
    """
    if not firings:
        return {}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Occurrence)
        .on_conflict_do_nothing(index_elements=["ritual_id", "scheduled_at"])
        .returning(Occurrence)
    )
    rows = [{"ritual_id": rid, "scheduled_at": at, "fired_at": now} for rid, at in firings]
    result = await session.exec(statement, params=rows)
    return {occurrence.ritual_id: occurrence for occurrence in result.scalars().all()}


async def running_in_places(
    session: AsyncSession, workspace_id: int, place_ids: Sequence[str]
) -> list[Ritual]:
    """The workspace's rituals that are not paused and post into one of ``place_ids``."""
    query = select(Ritual).where(
        Ritual.workspace_id == workspace_id,
        col(Ritual.place_id).in_(list(place_ids)),
        col(Ritual.paused).is_(False),
    )
    return list((await session.exec(query.order_by(col(Ritual.id)))).all())


async def paused_in_workspace(session: AsyncSession, workspace_id: int) -> list[Ritual]:
    query = select(Ritual).where(Ritual.workspace_id == workspace_id, col(Ritual.paused).is_(True))
    return list((await session.exec(query.order_by(col(Ritual.id)))).all())


# --- a person's data rights (practices/rituals.py export_mine, forget_mine) ----------------------


def _created_by(workspace_id: int, member_id: int) -> tuple[ColumnElement[bool], ...]:
    """Rituals the member created, except 1:1s they are in: those are theirs as a 1:1, and the 1:1s'
    part of the export lists (and forget-me erases) them."""
    theirs = select(OneOnOnePair.ritual_id).where(
        or_(
            col(OneOnOnePair.manager_member_id) == member_id,
            col(OneOnOnePair.report_member_id) == member_id,
        )
    )
    return (
        col(Ritual.workspace_id) == workspace_id,
        col(Ritual.created_by_member_id) == member_id,
        col(Ritual.id).not_in(theirs),
    )


async def created_by(session: AsyncSession, workspace_id: int, member_id: int) -> list[Ritual]:
    query = select(Ritual).where(*_created_by(workspace_id, member_id)).order_by(col(Ritual.id))
    return list((await session.exec(query)).all())


async def uncredit(session: AsyncSession, workspace_id: int, member_id: int) -> int:
    """Rituals the member created keep running; they just no longer say who created them."""
    result = await session.exec(
        update(Ritual)
        .where(*_created_by(workspace_id, member_id))
        .values(created_by_member_id=None)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)
