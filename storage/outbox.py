"""The outbox: every message Tend sends waits here until a delivery worker has sent it.

Rows are written in the same transaction as the action that caused them, keyed by an idempotency
key, so a retry, a restart or a second replica can never write the same message twice. Workers
claim a batch of ready rows with a lease in one statement (``UPDATE … WHERE id IN (SELECT … FOR
UPDATE SKIP LOCKED) RETURNING …`` on PostgreSQL; the same single UPDATE on SQLite, which runs one
writer at a time); a worker renews the leases it still holds (``renew``), and one that dies leaves
leases that expire, after which another worker picks the rows up. Results are written back in small
batches as sends finish (one statement per kind of result). ``targetpace`` keeps, per channel or
private chat, when it may next get a message (pacing, a 429's Retry-After); a claim skips rows whose
target another worker has paced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Table, bindparam, case, delete, func, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database
from storage.models import Member, Outbox, TargetPace, Workspace

PENDING, SENDING, SENT, PARKED = "pending", "sending", "sent", "parked"
# A private message to someone whose time zone Tend has not learned yet: never claimed, so it is
# never sent on a guessed zone; ``release_held`` makes it pending once the zone is known.
HELD = "held"
SEALED = "sealed"  # target_kind of a row whose receiver and words are sealed (bot.delivery.sealed_row)
# What a row's payload becomes once it is sent or parked: the words (a relayed support message, a
# private note) are not kept after delivery; the row stays only as the idempotency record.
ERASED = ""
KEEP_DONE = timedelta(days=30)

# Plain Core: no ORM cost per row. SQLModel declares no __table__ for type checkers; the ORM sets it.
OUTBOX: Table = Outbox.__table__  # type: ignore[attr-defined]
MEMBER: Table = Member.__table__  # type: ignore[attr-defined]
PACE: Table = TargetPace.__table__  # type: ignore[attr-defined]

Target = tuple[int, str, str]  # (workspace id, target kind, target id): one channel or private chat


@dataclass(frozen=True)
class Claimed:
    """A row leased to one worker until ``lease_until``; nobody else sends it before then."""

    id: int
    workspace_id: int
    idempotency_key: str
    target_kind: str
    target_id: str
    payload: str
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime

    @property
    def target(self) -> Target:
        """One channel or one person's private chat: the unit of pacing and ordering."""
        return (self.workspace_id, self.target_kind, self.target_id)


async def enqueue_many(session: AsyncSession, rows: list[dict[str, object]]) -> int:
    """Adds messages in one statement, skipping keys that exist; returns how many were new.

    Each row has workspace_id, idempotency_key, target_kind, target_id, payload, next_attempt_at and
    created_at. ``ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL) makes a retry or a concurrent
    replica's copy a no-op without a savepoint per row.
    """
    if not rows:
        return 0
    result = await session.exec(_ENQUEUE[session.get_bind().dialect.name == "postgresql"], params=rows)
    return len(result.all())


# Built once (every event that sends runs it; building costs SQLAlchemy more CPU than running it),
# by dialect (key: is it PostgreSQL).
_ENQUEUE = {
    postgres: (
        insert(Outbox).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(col(Outbox.id))
    )
    for postgres, insert in ((True, pg_insert), (False, sqlite_insert))
}


CLAIMED_COLUMNS = [
    OUTBOX.c[name]
    for name in (
        "id",
        "workspace_id",
        "idempotency_key",
        "target_kind",
        "target_id",
        "payload",
        "attempts",
        "next_attempt_at",
    )
]


def _ready(now: Any) -> Any:
    return ((OUTBOX.c.state == PENDING) | ((OUTBOX.c.state == SENDING) & (OUTBOX.c.lease_until < now))) & (
        OUTBOX.c.next_attempt_at <= now
    )


def _not_paced_by_others(now: Any, owner: Any) -> Any:
    """The row's target has no wait running that another worker set (its own are in its memory).

    ``NOT IN``, not ``NOT EXISTS``: PostgreSQL runs it as one hashed subquery over the few waits
    running, where an anti-join planned on stale statistics of this churning table (empty when last
    analysed) scanned it once per ready row."""
    running = select(PACE.c.workspace_id, PACE.c.target_kind, PACE.c.target_id).where(
        PACE.c.not_before > now, PACE.c.owner != owner
    )
    return tuple_(OUTBOX.c.workspace_id, OUTBOX.c.target_kind, OUTBOX.c.target_id).not_in(running)


def _claim_statement(postgres: bool) -> Any:
    now = bindparam("now", type_=OUTBOX.c.next_attempt_at.type)
    chosen = (
        select(OUTBOX.c.id)
        .where(_ready(now), _not_paced_by_others(now, bindparam("owner")))
        .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
        .limit(bindparam("limit"))
    )
    statement = (
        update(OUTBOX)
        .values(state=SENDING, lease_until=bindparam("until", type_=OUTBOX.c.lease_until.type))
        .returning(*CLAIMED_COLUMNS)
    )
    if postgres:
        # A CTE runs exactly once; the same SELECT in ``IN (…)`` may be re-run by the plan, and with
        # SKIP LOCKED every re-run locks another batch (the whole table, not ``limit`` rows). The
        # lock re-checks the CTE's WHERE on a row changed meanwhile, so the UPDATE joins on the
        # primary key alone (a second ready filter led the planner into a nested loop over it).
        batch = chosen.with_for_update(skip_locked=True, of=OUTBOX).cte("batch").prefix_with("MATERIALIZED")
        return statement.where(OUTBOX.c.id == batch.c.id)
    return statement.where(OUTBOX.c.id.in_(chosen), _ready(now))


# Built once, by dialect (key: is it PostgreSQL): every pass of the delivery worker claims.
_CLAIM = {True: _claim_statement(True), False: _claim_statement(False)}


async def claim(
    session: AsyncSession, now: datetime, lease: timedelta, limit: int = 50, owner: str = ""
) -> list[Claimed]:
    """Leases up to ``limit`` ready rows to this worker in one statement, oldest first.

    Expired leases are ready again; a row whose target another worker paced (``pace_many``) is not,
    until that time. On PostgreSQL, rows another worker is claiming at this moment are skipped (SKIP
    LOCKED) and the outer WHERE is re-checked on the locked row; on SQLite the statement holds the
    only write lock, so no other worker can claim in between. Either way it is one statement:
    ``UPDATE … RETURNING`` (SQLite 3.35 or later).
    """
    until = now + lease
    statement = _CLAIM[session.get_bind().dialect.name == "postgresql"]
    params = {"now": now, "owner": owner, "limit": limit, "until": until}
    result = await session.exec(statement, params=params)
    # A row holds exactly the CLAIMED_COLUMNS, lease_until not among them; mypy cannot count a Row.
    claimed = [Claimed(*row, lease_until=until) for row in result.all()]  # type: ignore[misc]
    claimed.sort(key=lambda row: (row.next_attempt_at, row.id))  # RETURNING has no order
    return claimed


async def renew(session: AsyncSession, ids: Sequence[int], held_until: datetime, until: datetime) -> set[int]:
    """Extends to ``until`` the leases of rows still held by the lease that ends at ``held_until``;
    returns the rows renewed (a row missing was written, or its lease ran out and was taken)."""
    if not ids:
        return set()
    result = await session.exec(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(list(ids)), OUTBOX.c.state == SENDING, OUTBOX.c.lease_until == held_until)
        .values(lease_until=until)
        .returning(OUTBOX.c.id)
    )
    return {row[0] for row in result.all()}


async def workspaces_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Workspace]:
    wanted = set(ids)
    if not wanted:
        return {}
    found = await session.exec(select(Workspace).where(col(Workspace.id).in_(wanted)))
    return {workspace.id or 0: workspace for workspace in found.all()}


@dataclass(frozen=True)
class Recipient:
    """What sending one private message needs to know about the person: plain columns, read
    without building an ORM object per message."""

    id: int
    platform_user_id: str
    time_zone: str
    work_days: str
    work_start: str
    work_end: str
    paused_until: date | None
    unreachable: bool
    profile_known: bool


RECIPIENT_COLUMNS = [MEMBER.c[column.name] for column in fields(Recipient)]


async def recipients_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Recipient]:
    wanted = set(ids)
    if not wanted:
        return {}
    found = await session.exec(select(*RECIPIENT_COLUMNS).where(MEMBER.c.id.in_(wanted)))
    return {row[0]: Recipient(*row) for row in found.all()}


# The rows a batch of results names, as one JSON parameter read back as a table by the database
# itself: one statement and one bound value per batch, instead of a parameter set per row (which
# cost about as much as the sends' own bookkeeping). Times are naive UTC, as ``UTCDateTime`` stores
# them (SQLite keeps SQLAlchemy's text form, so it is written in exactly that form).
_SENT_ROWS = {
    "postgresql": "SELECT id, ref, at FROM json_to_recordset(CAST(:rows AS json)) "
    "AS r(id integer, ref text, at timestamp)",
    "sqlite": "SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.ref') AS ref, "
    "json_extract(value, '$.at') AS at FROM json_each(:rows)",
}


def _naive_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _mark_sent_statement(dialect: str) -> Any:
    source = text(_SENT_ROWS[dialect]).columns(id=Integer, ref=String, at=String).subquery("sent_rows")
    return (
        update(OUTBOX)
        .where(OUTBOX.c.id == source.c.id)
        .values(
            state=SENT,
            platform_message_id=source.c.ref,
            sent_at=source.c.at,
            lease_until=None,
            payload=ERASED,
            attempts=OUTBOX.c.attempts + 1,
        )
    )


# Built once: composing it took about as much of the loop's time as running it, per batch of results.
_MARK_SENT = {dialect: _mark_sent_statement(dialect) for dialect in _SENT_ROWS}


async def mark_sent_many(session: AsyncSession, sent: Sequence[tuple[int, str | None, datetime]]) -> None:
    """(row id, platform message id, sent at) each: sent, words erased, an attempt counted."""
    if not sent:
        return
    statement = _MARK_SENT[session.get_bind().dialect.name]
    await session.exec(statement, params={"rows": _sent_json(sent)})


def _sent_json(sent: Sequence[tuple[int, str | None, datetime]]) -> str:
    return json.dumps([{"id": row_id, "ref": ref, "at": _naive_utc(at)} for row_id, ref, at in sent])


def _latest(paces: Sequence[tuple[Target, datetime]]) -> dict[Target, datetime]:
    """The latest time per target (one statement may not change a row twice)."""
    latest: dict[Target, datetime] = {}
    for target, until in paces:
        latest[target] = max(until, latest.get(target, until))
    return latest


def _still_held(held: Mapping[int, datetime] | None) -> list[Any]:
    """The condition that the row is still under the lease its worker knows (``b_lease``): a result
    written late (after a database outage) must not undo what another worker did with the row since."""
    if held is None:
        return []
    return [OUTBOX.c.state == SENDING, OUTBOX.c.lease_until == bindparam("b_lease")]


def _with_lease(params: list[dict[str, Any]], held: Mapping[int, datetime] | None) -> list[dict[str, Any]]:
    if held is None:
        return params
    return [{**p, "b_lease": held[p["b_id"]]} for p in params if p["b_id"] in held]


# Sent rows and their targets' pacing in one statement (an UPDATE in a CTE), so a write of sends is
# one round trip; the pacing rows in target order, so two writers never lock them in turn. Run by
# the driver itself (its own prepared statement): this write comes several hundred times a second.
_SENT_AND_PACED = (
    "WITH sent_rows AS (SELECT id, ref, at FROM json_to_recordset($1::json) "
    "AS r(id integer, ref text, at timestamp)), "
    "marked AS (UPDATE outbox SET state = $4, platform_message_id = sent_rows.ref, "
    "sent_at = sent_rows.at, lease_until = NULL, payload = $5, attempts = outbox.attempts + 1 "
    "FROM sent_rows WHERE outbox.id = sent_rows.id) "
    "INSERT INTO targetpace (workspace_id, target_kind, target_id, not_before, owner) "
    "SELECT w, k, t, until, $3::varchar "
    "FROM json_to_recordset($2::json) AS p(w integer, k text, t text, until timestamp) "
    "ORDER BY w, k, t "
    "ON CONFLICT (workspace_id, target_kind, target_id) DO UPDATE "
    "SET not_before = GREATEST(targetpace.not_before, excluded.not_before), owner = excluded.owner"
)


class SentWriter:
    """Marks rows sent and paces their targets (``mark_sent_many`` and ``pace_many`` at once), the
    write a send waits for before its place among those in flight is free, so it is kept short.
    PostgreSQL: one statement that commits on its own, run by the driver over a connection kept
    while writes keep coming. SQLite: one short transaction on a plain connection (no ORM session);
    the file's only connection is never kept, as every other reader and writer needs it."""

    def __init__(self, database: Database) -> None:
        self._engine = database.engine
        self._postgres = not database.is_sqlite
        self._connection: AsyncConnection | None = None
        self._driver: Any = None

    async def write(
        self,
        sent: Sequence[tuple[int, str | None, datetime]],
        paces: Sequence[tuple[Target, datetime]],
        owner: str,
    ) -> None:
        if not self._postgres:
            async with self._engine.begin() as connection:
                if sent:
                    await connection.execute(_MARK_SENT["sqlite"], {"rows": _sent_json(sent)})
                if paces:
                    await connection.execute(_PACE["sqlite"], _pace_rows(paces, owner))
            return
        latest = _latest(paces)
        pacing = json.dumps(
            [{"w": w, "k": k, "t": t, "until": _naive_utc(until)} for (w, k, t), until in latest.items()]
        )
        try:
            if self._driver is None:
                connection = await self._engine.connect()
                self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                self._driver = (await self._connection.get_raw_connection()).driver_connection
            await self._driver.execute(_SENT_AND_PACED, _sent_json(sent), pacing, owner, SENT, ERASED)
        except BaseException:
            await self.close()  # a connection that failed is not used again
            raise

    async def close(self) -> None:
        """Hands the connection back (kept only while writes keep coming)."""
        connection, self._connection, self._driver = self._connection, None, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:  # the database went away: the pool discards the connection
                await connection.invalidate()


async def mark_failed_many(
    session: AsyncSession,
    failed: Sequence[tuple[int, str, datetime | None]],
    held: Mapping[int, datetime] | None = None,
) -> None:
    """(row id, error, retry at) each: another attempt at ``retry at``, or parked when that is None.

    With ``held`` (row id → the end of the lease the writer holds) only rows still under that lease
    change; rows missing from it are left alone."""
    if not failed:
        return
    retry = [{"b_id": i, "b_error": e[:500], "b_at": at} for i, e, at in failed if at is not None]
    parked = [{"b_id": i, "b_error": e[:500]} for i, e, at in failed if at is None]
    retry, parked = _with_lease(retry, held), _with_lease(parked, held)
    counted = {"attempts": OUTBOX.c.attempts + 1, "last_error": bindparam("b_error"), "lease_until": None}
    if retry:
        statement = (
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"), *_still_held(held))
            .values(state=PENDING, next_attempt_at=bindparam("b_at"), **counted)
        )
        await session.exec(statement, params=retry)
    if parked:
        statement = (
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"), *_still_held(held))
            .values(state=PARKED, payload=ERASED, **counted)
        )
        await session.exec(statement, params=parked)


async def reschedule_many(
    session: AsyncSession, moves: Sequence[tuple[int, datetime]], held: Mapping[int, datetime] | None = None
) -> None:
    """(row id, send at) each: moved without counting an attempt (pacing, hours, a released lease, a
    429). ``held`` as for ``mark_failed_many``."""
    params = _with_lease([{"b_id": i, "b_at": at} for i, at in moves], held)
    if not params:
        return
    statement = (
        update(OUTBOX)
        .where(OUTBOX.c.id == bindparam("b_id"), *_still_held(held))
        .values(state=PENDING, lease_until=None, next_attempt_at=bindparam("b_at"))
    )
    await session.exec(statement, params=params)


async def hold_behind(session: AsyncSession, row: Claimed, until: datetime) -> int:
    """Keeps the waiting messages queued behind ``row`` for the same target from going before it."""
    result = await session.exec(
        update(OUTBOX)
        .where(
            OUTBOX.c.workspace_id == row.workspace_id,
            OUTBOX.c.target_kind == row.target_kind,
            OUTBOX.c.target_id == row.target_id,
            OUTBOX.c.state == PENDING,
            OUTBOX.c.id > row.id,
            OUTBOX.c.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
    )
    return int(result.rowcount or 0)


def _pace_statement(dialect: str) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(PACE)
    later = statement.excluded.not_before > PACE.c.not_before
    return statement.on_conflict_do_update(
        index_elements=["workspace_id", "target_kind", "target_id"],
        set_={
            "not_before": case((later, statement.excluded.not_before), else_=PACE.c.not_before),
            "owner": statement.excluded.owner,
        },
    )


_PACE = {dialect: _pace_statement(dialect) for dialect in _SENT_ROWS}  # built once: every paced send


def _pace_rows(paces: Sequence[tuple[Target, datetime]], owner: str) -> list[dict[str, Any]]:
    return [
        {"workspace_id": w, "target_kind": kind, "target_id": target_id, "not_before": until, "owner": owner}
        for (w, kind, target_id), until in sorted(_latest(paces).items())  # in target order, as SentWriter
    ]


async def pace_many(session: AsyncSession, paces: Sequence[tuple[Target, datetime]], owner: str) -> None:
    """(target, not before) each: no worker but ``owner`` claims a message to that target before
    then. A later time already stored (a longer Retry-After) is kept."""
    if paces:
        statement = _PACE[session.get_bind().dialect.name]
        await session.exec(statement, params=_pace_rows(paces, owner))


async def paced_until(
    session: AsyncSession, targets: Iterable[Target], now: datetime
) -> dict[Target, datetime]:
    """The waits still running for these targets, whoever set them."""
    wanted = set(targets)
    if not wanted:
        return {}
    kinds = {kind for _, kind, _ in wanted}
    found = await session.exec(
        select(PACE.c.workspace_id, PACE.c.target_kind, PACE.c.target_id, PACE.c.not_before).where(
            PACE.c.target_kind.in_(sorted(kinds)),
            PACE.c.target_id.in_(sorted({target_id for _, _, target_id in wanted})),
            PACE.c.not_before > now,
        )
    )
    return {(w, kind, t): until for w, kind, t, until in found.all() if (w, kind, t) in wanted}


async def forget_pace(session: AsyncSession, now: datetime) -> None:
    """Drops the waits that are over: the table holds only what still holds a target back."""
    await session.exec(delete(PACE).where(PACE.c.not_before <= now))


async def delete_many(session: AsyncSession, row_ids: Sequence[int]) -> None:
    """Sealed rows once sent: nothing of them is kept (their keys cannot recur: one per event)."""
    if row_ids:
        await session.exec(delete(Outbox).where(col(Outbox.id).in_(list(row_ids))))


async def mark_failed(session: AsyncSession, row_id: int, error: str, retry_at: datetime | None) -> None:
    """Schedules another attempt at ``retry_at``, or parks the row when that is None."""
    await mark_failed_many(session, [(row_id, error, retry_at)])


# Built once: an idle delivery loop asks every round.
_NEXT_READY = select(
    select(func.min(OUTBOX.c.next_attempt_at)).where(OUTBOX.c.state == PENDING).scalar_subquery(),
    select(func.min(OUTBOX.c.lease_until)).where(OUTBOX.c.state == SENDING).scalar_subquery(),
)


async def next_ready_at(session: AsyncSession) -> datetime | None:
    """When the next row becomes ready (its send time, or an expired lease); None when none waits.

    Two index-backed MIN lookups, so an idle worker can sleep until then instead of polling.
    """
    first, expiry = (await session.exec(_NEXT_READY)).one()
    times = [when for when in (first, expiry) if when is not None]
    return min(times) if times else None


async def forget_done_before(session: AsyncSession, cutoff: datetime) -> int:
    """Drops sent and parked rows older than ``cutoff``; their causes can no longer recur by then.

    Held rows that old go too: a note still waiting for someone Tend never got to know is stale, and
    its words should not stay in the database for good; so do sealed rows still waiting (their
    conversation has expired by then).
    """
    result = await session.exec(
        delete(Outbox).where(
            col(Outbox.state).in_((SENT, PARKED, HELD)) | (col(Outbox.target_kind) == SEALED),
            col(Outbox.created_at) < cutoff,
        )
    )
    return int(result.rowcount or 0)


async def pending_count(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Outbox).where(col(Outbox.state).in_((PENDING, SENDING)))
    return int((await session.exec(query)).one())


async def by_key(session: AsyncSession, key: str) -> Outbox | None:
    return (await session.exec(select(Outbox).where(Outbox.idempotency_key == key))).first()


async def drop_pending_for_member(
    session: AsyncSession, workspace_id: int, member_id: int, reason: str
) -> int:
    """Parks every message still waiting for one person (no retries, no payload kept)."""
    result = await session.exec(
        update(Outbox)
        .where(
            col(Outbox.workspace_id) == workspace_id,
            col(Outbox.target_kind) == "person",
            col(Outbox.target_id) == str(member_id),
            col(Outbox.state).in_([HELD, PENDING, SENDING]),
        )
        .values(state=PARKED, last_error=reason[:500], payload=ERASED, lease_until=None)
    )
    return int(result.rowcount or 0)


async def release_held(session: AsyncSession, workspace_id: int, member_id: int, now: datetime) -> int:
    """Makes one person's held messages pending, now that their time zone is known.

    Each goes at the time it was wanted (kept in ``next_attempt_at`` while held), or now if that has
    passed. Working hours are not worked out here (they belong to ``practices.hours``): the delivery
    worker checks them on every claim and moves a row that is out of hours to the person's next
    working moment, the same check that keeps a row queued before a change of hours or a pause.
    """
    wanted = OUTBOX.c.next_attempt_at
    moment = bindparam("now", now, type_=wanted.type)  # stored as naive UTC, like the column
    result = await session.exec(
        update(OUTBOX)
        .where(
            OUTBOX.c.workspace_id == workspace_id,
            OUTBOX.c.target_kind == "person",
            OUTBOX.c.target_id == str(member_id),
            OUTBOX.c.state == HELD,
        )
        .values(state=PENDING, next_attempt_at=case((wanted < moment, moment), else_=wanted))
    )
    return int(result.rowcount or 0)
