"""Rituals and their occurrences: the queries the scheduler and the ritual commands need.

Claiming is what makes firing exactly-once across replicas: on PostgreSQL the due rows are locked
with ``FOR UPDATE SKIP LOCKED`` (a second replica skips them), on SQLite a compare-and-set on
``next_run_at`` lets only one writer move a ritual on. The occurrence row, unique on (ritual,
scheduled time), is the second guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Occurrence, Ritual


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


async def move_on(
    session: AsyncSession, ritual: Ritual, expected: datetime, next_run_at: datetime | None
) -> bool:
    """Compare-and-set: True when this caller moved the ritual on (and so owns this firing)."""
    result = await session.exec(
        update(Ritual)  # type: ignore[call-overload]
        .where(col(Ritual.id) == ritual.id, col(Ritual.next_run_at) == expected)
        .values(next_run_at=next_run_at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        ritual.next_run_at = next_run_at
        return True
    return False


async def add_occurrence(
    session: AsyncSession, ritual_id: int, scheduled_at: datetime, now: datetime, salt: str | None = None
) -> Occurrence | None:
    """The occurrence, or None when it was already fired (by a retry, a restart or another replica)."""
    occurrence = Occurrence(ritual_id=ritual_id, scheduled_at=scheduled_at, fired_at=now, answer_salt=salt)
    try:
        async with session.begin_nested():
            session.add(occurrence)
            await session.flush()
    except IntegrityError:
        return None
    return occurrence
