"""Queries for 1:1 pairs: their own rows (``OneOnOnePair``), the ritual that schedules each, its
occurrences, the questions their nudges asked, moved meetings, and their queued nudges.

Every lookup takes the workspace id, so an id typed or clicked in one workspace can never reach a
pair of another. Marking an occurrence done and moving a meeting to a day are compare-and-sets, so two
taps (or two replicas handling the same tap) count once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Occurrence, OneOnOneMove, OneOnOnePair, OneOnOneQuestion, Outbox, Ritual

KIND = "one-on-one"


async def pairs_in_workspace(session: AsyncSession, workspace_id: int) -> list[tuple[Ritual, OneOnOnePair]]:
    """Every pair of the workspace with its ritual, oldest first."""
    query = (
        select(Ritual, OneOnOnePair)
        .join(OneOnOnePair, col(OneOnOnePair.ritual_id) == col(Ritual.id))
        .where(Ritual.workspace_id == workspace_id, Ritual.kind == KIND)
        .order_by(col(Ritual.id))
    )
    return [(ritual, pair) for ritual, pair in (await session.exec(query)).all()]


async def pair_in_workspace(
    session: AsyncSession, workspace_id: int, pair_id: int
) -> tuple[Ritual, OneOnOnePair] | None:
    query = (
        select(Ritual, OneOnOnePair)
        .join(OneOnOnePair, col(OneOnOnePair.ritual_id) == col(Ritual.id))
        .where(Ritual.id == pair_id, Ritual.workspace_id == workspace_id, Ritual.kind == KIND)
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row is not None else None


async def pair_of(session: AsyncSession, ritual: Ritual) -> OneOnOnePair | None:
    """The pair a firing ritual schedules (None if the ritual is not a pair's)."""
    return await session.get(OneOnOnePair, ritual.id) if ritual.id is not None else None


async def add_pair(session: AsyncSession, ritual: Ritual, manager_id: int, report_id: int) -> OneOnOnePair:
    """Stores a new pair and the ritual that schedules it; the ritual gets its id (the pair's number)."""
    session.add(ritual)
    await session.flush()
    assert ritual.id is not None
    pair = OneOnOnePair(
        ritual_id=ritual.id,
        workspace_id=ritual.workspace_id,
        manager_member_id=manager_id,
        report_member_id=report_id,
    )
    session.add(pair)
    await session.flush()
    return pair


async def occurrence_in_workspace(
    session: AsyncSession, workspace_id: int, occurrence_id: int
) -> tuple[Occurrence, OneOnOnePair] | None:
    """One firing of a pair, with the pair; None if it is gone or belongs to another workspace."""
    query = (
        select(Occurrence, OneOnOnePair)
        .join(OneOnOnePair, col(OneOnOnePair.ritual_id) == col(Occurrence.ritual_id))
        .where(Occurrence.id == occurrence_id, OneOnOnePair.workspace_id == workspace_id)
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row is not None else None


async def close_occurrence(session: AsyncSession, occurrence_id: int, now: datetime) -> bool:
    """True only for the caller that closed it; an already-closed occurrence stays as it was."""
    result = await session.exec(
        update(Occurrence)
        .where(col(Occurrence.id) == occurrence_id, col(Occurrence.closed_at).is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def questions_asked(session: AsyncSession, pair_id: int) -> list[str]:
    """The question ids the pair's nudges asked, oldest first."""
    query = (
        select(OneOnOneQuestion.question_id)
        .where(OneOnOneQuestion.ritual_id == pair_id)
        .order_by(col(OneOnOneQuestion.id))
    )
    return list((await session.exec(query)).all())


async def record_question(session: AsyncSession, pair_id: int, occurrence_id: int, question_id: str) -> None:
    session.add(OneOnOneQuestion(ritual_id=pair_id, occurrence_id=occurrence_id, question_id=question_id))
    await session.flush()


async def question_of(session: AsyncSession, occurrence_id: int) -> str | None:
    """The question the meeting's nudge asked, if it asked one."""
    query = select(OneOnOneQuestion.question_id).where(OneOnOneQuestion.occurrence_id == occurrence_id)
    return (await session.exec(query)).first()


async def record_move(session: AsyncSession, occurrence_id: int, day: date) -> bool:
    """True for the caller that moved the meeting to ``day`` first; False if it was moved there before."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(OneOnOneMove)
        .values(occurrence_id=occurrence_id, day=day)
        .on_conflict_do_nothing(index_elements=["occurrence_id", "day"])
    )
    result = await session.exec(statement)
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


async def save(session: AsyncSession, row: Ritual | OneOnOnePair) -> None:
    """Writes a changed pair or ritual (prep turned on or off, a pair paused) in the caller's transaction."""
    session.add(row)


async def delete_pair(session: AsyncSession, ritual: Ritual) -> None:
    """Deletes a pair's ritual; the pair, its questions and moves go with it (ON DELETE CASCADE)."""
    await session.delete(ritual)


async def ritual_of_pair(session: AsyncSession, pair: OneOnOnePair) -> Ritual | None:
    """The ritual that schedules the pair (its meetings' times)."""
    return await session.get(Ritual, pair.ritual_id)


async def flush(session: AsyncSession) -> None:
    await session.flush()
