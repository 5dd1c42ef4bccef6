"""The outbox: every message Tend sends waits here until a delivery worker has sent it.

Rows are written in the same transaction as the action that caused them, keyed by an idempotency
key, so a retry, a restart or a second replica can never write the same message twice. Workers
claim ready rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; a compare-and-set on
SQLite, which has one writer at a time); a worker that dies mid-send leaves a lease that expires and
another worker picks the row up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Outbox

PENDING, SENDING, SENT, PARKED = "pending", "sending", "sent", "parked"
# What a row's payload becomes once it is sent or parked: the words (a relayed support message, a
# private note) are not kept after delivery; the row stays only as the idempotency record.
ERASED = ""
KEEP_DONE = timedelta(days=30)


async def enqueue_many(session: AsyncSession, rows: list[dict[str, object]]) -> int:
    """Adds messages in one statement, skipping keys that exist; returns how many were new.

    Each row has workspace_id, idempotency_key, target_kind, target_id, payload, next_attempt_at and
    created_at. ``ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL) makes a retry or a concurrent
    replica's copy a no-op without a savepoint per row.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Outbox).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(Outbox.id)
    result = await session.exec(statement, params=rows)  # type: ignore[call-overload]
    return len(result.all())


async def claim(session: AsyncSession, now: datetime, lease: timedelta, limit: int = 50) -> list[Outbox]:
    """Leases up to ``limit`` ready rows to this worker; expired leases are ready again."""
    ready = (col(Outbox.state) == PENDING) | (
        (col(Outbox.state) == SENDING) & (col(Outbox.lease_until) < now)
    )
    query = (
        select(Outbox)
        .where(ready, col(Outbox.next_attempt_at) <= now)
        .order_by(col(Outbox.next_attempt_at), col(Outbox.id))
        .limit(limit)
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.exec(query)).all())
    claimed: list[Outbox] = []
    for row in rows:
        if postgres:
            row.state, row.lease_until = SENDING, now + lease
            session.add(row)
            claimed.append(row)
            continue
        # SQLite: only the worker whose update still sees the row as it read it wins it.
        result = await session.exec(
            update(Outbox)  # type: ignore[call-overload]
            .where(
                col(Outbox.id) == row.id, col(Outbox.state) == row.state, col(Outbox.attempts) == row.attempts
            )
            .values(state=SENDING, lease_until=now + lease)
        )
        if result.rowcount == 1:
            await session.refresh(row)
            claimed.append(row)
    await session.flush()
    return claimed


async def mark_sent(session: AsyncSession, row_id: int, message_ref: str | None, now: datetime) -> None:
    await session.exec(
        update(Outbox)  # type: ignore[call-overload]
        .where(col(Outbox.id) == row_id)
        .values(
            state=SENT,
            platform_message_id=message_ref,
            sent_at=now,
            lease_until=None,
            payload=ERASED,
            attempts=Outbox.attempts + 1,
        )  # type: ignore[operator]
    )


async def mark_failed(session: AsyncSession, row_id: int, error: str, retry_at: datetime | None) -> None:
    """Schedules another attempt at ``retry_at``, or parks the row when that is None."""
    values: dict[str, object] = {
        "attempts": Outbox.attempts + 1,  # type: ignore[operator]
        "last_error": error[:500],
        "lease_until": None,
        "state": PARKED if retry_at is None else PENDING,
    }
    if retry_at is None:
        values["payload"] = ERASED
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    await session.exec(update(Outbox).where(col(Outbox.id) == row_id).values(**values))  # type: ignore[call-overload]


async def reschedule(session: AsyncSession, row_id: int, send_at: datetime) -> None:
    """Moves a row without counting an attempt (pacing, or holding for working hours)."""
    await session.exec(
        update(Outbox)  # type: ignore[call-overload]
        .where(col(Outbox.id) == row_id)
        .values(state=PENDING, lease_until=None, next_attempt_at=send_at)
    )


async def forget_done_before(session: AsyncSession, cutoff: datetime) -> int:
    """Drops sent and parked rows older than ``cutoff``; their causes can no longer recur by then."""
    result = await session.exec(
        delete(Outbox).where(col(Outbox.state).in_((SENT, PARKED)), col(Outbox.created_at) < cutoff)  # type: ignore[call-overload]
    )
    return int(result.rowcount or 0)


async def pending_count(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Outbox).where(col(Outbox.state).in_((PENDING, SENDING)))
    return int((await session.exec(query)).one())


async def by_key(session: AsyncSession, key: str) -> Outbox | None:
    return (await session.exec(select(Outbox).where(Outbox.idempotency_key == key))).first()
