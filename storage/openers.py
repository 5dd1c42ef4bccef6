"""Check-in answers: one row per (occurrence, voter key), counted on tap, read and erased at close.

The rows hold only what the practice hands in: a keyed digest of the voter and the score sealed under
the server secret (``practices.meeting_openers``); storage never sees who answered or what they chose.
The ``sealed_score`` column holds that sealed text, so no sum or grouping over it means anything here.

Taps and the closing sweep meet on the occurrence row: a tap takes a shared lock on it (PostgreSQL),
the sweep an exclusive one with ``SKIP LOCKED``, so an answer can never be written after its
occurrence's answers were read and deleted. SQLite serialises writers anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Occurrence, OpenerAnswer, Ritual, Workspace


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class TapTarget:
    """What a tap needs before writing its answer, read in one statement."""

    occurrence: Occurrence
    ritual: Ritual
    answers: int  # rows of the occurrence before this tap
    answered_as: str | None  # which of the person's voter keys already has a row, if any


def _tap_target(postgres: bool) -> Any:
    count = (
        select(func.count())
        .select_from(OpenerAnswer)
        .where(OpenerAnswer.occurrence_id == bindparam("occurrence_id"))
        .scalar_subquery()
    )
    answered = (
        select(OpenerAnswer.voter_key)
        .where(
            OpenerAnswer.occurrence_id == bindparam("occurrence_id"),
            col(OpenerAnswer.voter_key).in_(bindparam("voter_keys", expanding=True)),
        )
        .order_by(col(OpenerAnswer.voter_key) == bindparam("current_key"))  # False (an earlier key) first
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(Occurrence, Ritual, count, answered)
        .join(Ritual, col(Ritual.id) == col(Occurrence.ritual_id))
        .where(
            Occurrence.id == bindparam("occurrence_id"),
            Ritual.workspace_id == bindparam("workspace_id"),
            Ritual.kind == bindparam("kind"),
        )
    )
    return query.with_for_update(read=True, of=Occurrence) if postgres else query


# A tap's statements are built once (by _is_postgres): building one costs more CPU than running it.
TAP_TARGET = {True: _tap_target(True), False: _tap_target(False)}


async def tap_target(
    session: AsyncSession, workspace_id: int, occurrence_id: int, kind: str, voter_keys: Sequence[str]
) -> TapTarget | None:
    """The occurrence a tap names, only if it belongs to this workspace and to a ritual of ``kind``, with
    how many answered so far and which of ``voter_keys`` (the person's keys, current first) already
    answered, an earlier key before the current one (as ``voter_for``): one statement, where a tap read
    the occurrence, then (after a key rotation) ``existing_voter``, and ``answer_count`` after writing.

    On PostgreSQL the occurrence is share-locked until commit, so the closing sweep cannot count and
    erase its answers while this tap is still writing one. Taps of different people at the same moment
    each count the rows committed before their read (on SQLite a write transaction sees them all).
    """
    query = TAP_TARGET[_is_postgres(session)]
    keys = list(voter_keys)
    params = {"occurrence_id": occurrence_id, "workspace_id": workspace_id, "kind": kind}
    found = await session.exec(query, params={**params, "voter_keys": keys, "current_key": keys[0]})
    row = found.first()
    return TapTarget(row[0], row[1], int(row[2]), row[3]) if row is not None else None


def _save_answer(insert: Callable[[type[OpenerAnswer]], Any]) -> Any:
    statement = insert(OpenerAnswer).values(
        occurrence_id=bindparam("occurrence_id"),
        voter_key=bindparam("voter_key"),
        sealed_score=bindparam("sealed_score"),
    )
    return statement.on_conflict_do_update(
        index_elements=["occurrence_id", "voter_key"], set_={"sealed_score": statement.excluded.sealed_score}
    )


SAVE_ANSWER = {True: _save_answer(pg_insert), False: _save_answer(sqlite_insert)}  # by _is_postgres


async def save_answer(session: AsyncSession, occurrence_id: int, voter_key: str, sealed_score: str) -> None:
    """Inserts the answer, or replaces it when this voter already answered (one per voter)."""
    params = {"occurrence_id": occurrence_id, "voter_key": voter_key, "sealed_score": sealed_score}
    await session.exec(SAVE_ANSWER[_is_postgres(session)], params=params)


async def existing_voter(session: AsyncSession, occurrence_id: int, voter_keys: list[str]) -> str | None:
    """Which of ``voter_keys`` (one person's keys under earlier server keys) already answered."""
    if not voter_keys:
        return None
    query = select(OpenerAnswer.voter_key).where(
        OpenerAnswer.occurrence_id == occurrence_id, col(OpenerAnswer.voter_key).in_(voter_keys)
    )
    return (await session.exec(query.limit(1))).first()


async def answer_count(session: AsyncSession, occurrence_id: int) -> int:
    """How many people answered (the one figure an open check-in shows)."""
    query = select(func.count()).select_from(OpenerAnswer).where(OpenerAnswer.occurrence_id == occurrence_id)
    return int((await session.exec(query)).one())


async def due_to_close(
    session: AsyncSession, kind: str, fired_before: datetime, limit: int
) -> list[tuple[Occurrence, Ritual, Workspace]]:
    """Open occurrences of ``kind`` fired at or before ``fired_before``, with their ritual and workspace.

    On PostgreSQL the rows are locked and rows another transaction holds are skipped (a tap in
    progress, or another replica's sweep): they are closed on a later tick.
    """
    query = (
        select(Occurrence, Ritual, Workspace)
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
        query = query.with_for_update(skip_locked=True, of=Occurrence)
    return [(occurrence, ritual, space) for occurrence, ritual, space in (await session.exec(query)).all()]


async def close(session: AsyncSession, occurrence: Occurrence, now: datetime) -> list[tuple[str, str]]:
    """Marks the occurrence closed and deletes its answers; returns them as (voter key, sealed score).

    With SQLite's ``secure_delete`` the deleted rows are zeroed in the file; what other copies keep
    (WAL frames, PostgreSQL's dead tuples) is only keyed digests and sealed scores.
    """
    answers = select(OpenerAnswer.voter_key, OpenerAnswer.sealed_score).where(
        OpenerAnswer.occurrence_id == occurrence.id
    )
    found = [(voter, sealed) for voter, sealed in (await session.exec(answers)).all()]
    await session.exec(delete(OpenerAnswer).where(col(OpenerAnswer.occurrence_id) == occurrence.id))
    occurrence.closed_at = now
    session.add(occurrence)
    await session.flush()
    return found
