"""Check-in answers: one row per (occurrence, voter key), tallied on tap and erased at close.

The rows hold only a keyed hash of the voter and a score. Taps and the closing sweep meet on the
occurrence row: a tap takes a shared lock on it (PostgreSQL), the sweep an exclusive one with
``SKIP LOCKED``, so an answer can never be written after its occurrence's answers were counted and
deleted. SQLite serialises writers anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Occurrence, OpenerAnswer, Ritual, Workspace


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def occurrence_for_answer(
    session: AsyncSession, workspace_id: int, occurrence_id: int, kind: str
) -> tuple[Occurrence, Ritual] | None:
    """The occurrence a tap names, only if it belongs to this workspace and to a ritual of ``kind``.

    On PostgreSQL the occurrence is share-locked until commit, so the closing sweep cannot count and
    erase its answers while this tap is still writing one.
    """
    query = (
        select(Occurrence, Ritual)
        .join(Ritual, col(Ritual.id) == col(Occurrence.ritual_id))
        .where(Occurrence.id == occurrence_id, Ritual.workspace_id == workspace_id, Ritual.kind == kind)
    )
    if _is_postgres(session):
        query = query.with_for_update(read=True, of=Occurrence)  # type: ignore[arg-type]
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row is not None else None


async def save_answer(session: AsyncSession, occurrence_id: int, voter_key: str, score: int) -> None:
    """Inserts the answer, or replaces the score when this voter already answered (one per voter)."""
    insert = pg_insert if _is_postgres(session) else sqlite_insert
    statement = insert(OpenerAnswer).values(occurrence_id=occurrence_id, voter_key=voter_key, score=score)
    statement = statement.on_conflict_do_update(
        index_elements=["occurrence_id", "voter_key"], set_={"score": score}
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def tally(session: AsyncSession, occurrence_id: int) -> dict[int, int]:
    """How many answers each score has (scores nobody chose are absent)."""
    query = (
        select(OpenerAnswer.score, func.count())
        .where(OpenerAnswer.occurrence_id == occurrence_id)
        .group_by(col(OpenerAnswer.score))
    )
    return {score: count for score, count in (await session.exec(query)).all()}


async def due_to_close(
    session: AsyncSession, kind: str, fired_before: datetime, limit: int
) -> list[tuple[Occurrence, Ritual, int]]:
    """Open occurrences of ``kind`` fired at or before ``fired_before``, with their organisation id.

    On PostgreSQL the rows are locked and rows another transaction holds are skipped (a tap in
    progress, or another replica's sweep): they are closed on a later tick.
    """
    query = (
        select(Occurrence, Ritual, Workspace.organization_id)
        .join(Ritual, col(Ritual.id) == col(Occurrence.ritual_id))
        .join(Workspace, col(Workspace.id) == col(Ritual.workspace_id))
        .where(
            Ritual.kind == kind,
            col(Occurrence.closed_at).is_(None),
            col(Occurrence.fired_at) <= fired_before,
        )
        .order_by(col(Occurrence.fired_at), col(Occurrence.id))
        .limit(limit)
    )
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=Occurrence)  # type: ignore[arg-type]
    return [(occurrence, ritual, org) for occurrence, ritual, org in (await session.exec(query)).all()]


async def close(session: AsyncSession, occurrence: Occurrence, now: datetime) -> tuple[int, int]:
    """Counts and sums the occurrence's answers, deletes them and erases its salt; returns (count, sum)."""
    totals = select(func.count(), func.coalesce(func.sum(OpenerAnswer.score), 0)).where(
        OpenerAnswer.occurrence_id == occurrence.id
    )
    count, score_sum = (await session.exec(totals)).one()
    await session.exec(
        delete(OpenerAnswer).where(col(OpenerAnswer.occurrence_id) == occurrence.id)  # type: ignore[call-overload]
    )
    occurrence.answer_salt = None
    occurrence.closed_at = now
    session.add(occurrence)
    await session.flush()
    return int(count), int(score_sum)
