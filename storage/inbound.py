"""The inbound queue: platform events acked and not handled yet, drained by any replica.

An adapter writes a row before it acks (so "acked" means "stored"), leased at once to the process
that took the request, which handles it without waiting for a poll. Handling deletes the row in the
same transaction as the engine's work (``finish``), so a crash repeats nothing already committed. A
process renews the leases of the rows it holds (``renew``); one that dies leaves leases that run
out, and any replica's poll then claims the rows (``claim``: the outbox's pattern, one ``UPDATE …
RETURNING`` over ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL). One that stops cleanly hands
back what it had not started (``release``), ready for the next process at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Inbound

# Plain Core: no ORM cost per row. SQLModel declares no __table__ for type checkers; the ORM sets it.
INBOUND: Table = Inbound.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Queued:
    """A row leased to one worker until ``lease_until`` (None: stored for whichever replica claims it)."""

    id: int
    payload: str
    sealed: bool
    attempts: int
    lease_until: datetime | None


# The two statements every acked event runs, built once: building one costs SQLAlchemy more CPU
# than running it (docs/architecture.md, issue 18).
ENQUEUE = (
    insert(INBOUND)
    .values(
        {
            name: bindparam(name)
            for name in ("platform", "payload", "sealed", "owner", "lease_until", "attempts", "created_at")
        }
    )
    .returning(INBOUND.c.id)
)
FINISH = delete(INBOUND).where(INBOUND.c.id == bindparam("row_id"), INBOUND.c.owner == bindparam("owner"))


async def enqueue(
    session: AsyncSession,
    platform: str,
    payload: str,
    *,
    sealed: bool,
    now: datetime,
    owner: str,
    until: datetime | None,
) -> Queued:
    """Stores one acked event, leased to ``owner`` until ``until`` (the process that took it handles
    it at once), or with no lease (``owner`` "", ``until`` None) when that process already holds its
    share: any replica's next claim takes it, and counts the first attempt. A sealed row keeps no
    time of its own (``created_at`` NULL): the moment an anonymous event was written would date the
    act; its caller gives it a coarse lease for the same reason."""
    attempts = 0 if until is None else 1
    params = {
        "platform": platform,
        "payload": payload,
        "sealed": sealed,
        "owner": owner,
        "lease_until": until,
        "attempts": attempts,
        "created_at": None if sealed else now,
    }
    result = await session.exec(ENQUEUE, params=params)
    return Queued(int(result.scalar_one()), payload, sealed, attempts, until)


def _ready(platform: str, now: datetime) -> Any:
    return (INBOUND.c.platform == platform) & (
        INBOUND.c.lease_until.is_(None) | (INBOUND.c.lease_until < now)
    )


async def claim(
    session: AsyncSession,
    platform: str,
    now: datetime,
    owner: str,
    limit: int,
    *,
    until: datetime,
    sealed_until: datetime,
) -> list[Queued]:
    """Leases up to ``limit`` rows nobody holds (released, or whose lease ran out), oldest first:
    until ``until``, or ``sealed_until`` (coarser) for a sealed row.

    PostgreSQL: rows another replica is claiming at this moment are skipped (SKIP LOCKED) in a CTE
    that runs once; SQLite: the statement holds the only write lock. Each claim counts an attempt."""
    if limit <= 0:
        return []
    chosen = select(INBOUND.c.id).where(_ready(platform, now)).order_by(INBOUND.c.id).limit(limit)
    lease_until = case(
        (INBOUND.c.sealed, bindparam("sealed_until", sealed_until, type_=INBOUND.c.lease_until.type)),
        else_=bindparam("until", until, type_=INBOUND.c.lease_until.type),
    )
    statement = (
        update(INBOUND)
        .values(owner=owner, lease_until=lease_until, attempts=INBOUND.c.attempts + 1)
        .returning(INBOUND.c.id, INBOUND.c.payload, INBOUND.c.sealed, INBOUND.c.attempts)
    )
    if session.get_bind().dialect.name == "postgresql":
        batch = chosen.with_for_update(skip_locked=True).cte("batch").prefix_with("MATERIALIZED")
        statement = statement.where(INBOUND.c.id == batch.c.id)
    else:
        statement = statement.where(INBOUND.c.id.in_(chosen), _ready(platform, now))
    result = await session.exec(statement)
    found = [
        Queued(int(row_id), payload, bool(sealed), int(attempts), sealed_until if sealed else until)
        for row_id, payload, sealed, attempts in result.all()
    ]
    return sorted(found, key=lambda row: row.id)


async def renew(session: AsyncSession, ids: Sequence[int], owner: str, until: datetime) -> set[int]:
    """Extends the leases ``owner`` still holds; returns the rows renewed (a missing one was handled,
    or its lease ran out and another replica took it)."""
    if not ids:
        return set()
    result = await session.exec(
        update(INBOUND)
        .where(INBOUND.c.id.in_(list(ids)), INBOUND.c.owner == owner)
        .values(lease_until=until)
        .returning(INBOUND.c.id)
    )
    return {int(row[0]) for row in result.all()}


async def finish(session: AsyncSession, row_id: int, owner: str) -> bool:
    """Deletes a handled row, in the transaction that handled it; False when ``owner`` no longer holds
    it (another replica took it over: that transaction must not commit)."""
    result = await session.exec(FINISH, params={"row_id": row_id, "owner": owner})
    return bool(result.rowcount)


async def release(
    session: AsyncSession, ids: Sequence[int], owner: str, ready_at: datetime | None = None
) -> int:
    """Hands rows back (ready for any replica at ``ready_at``, at once when None)."""
    if not ids:
        return 0
    result = await session.exec(
        update(INBOUND)
        .where(INBOUND.c.id.in_(list(ids)), INBOUND.c.owner == owner)
        .values(owner="", lease_until=ready_at)
    )
    return int(result.rowcount or 0)


async def drop(session: AsyncSession, row_id: int) -> None:
    """Deletes a row that can never be handled (unreadable, or tried too often)."""
    await session.exec(delete(INBOUND).where(INBOUND.c.id == row_id))


async def depth(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many rows wait (every platform), and the oldest time among those that keep one (sealed
    rows keep none)."""
    result = await (await session.connection()).execute(select(func.count(), func.min(INBOUND.c.created_at)))
    count, oldest = result.one()
    if isinstance(oldest, datetime) and oldest.tzinfo is None:  # in case the aggregate lost the type
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), oldest


def unavailable(error: BaseException) -> bool:
    """The database is away (connection refused or cut, a lock held past its timeout): work that met
    this is retried later rather than answered with an apology."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (OSError, ConnectionError, TimeoutError))
