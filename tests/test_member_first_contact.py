"""Two events meet the same new person at once (two replicas, or two workers of one): one row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import select

from storage.db import Database
from storage.identity import ensure_member, ensure_workspace
from storage.models import Member

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def _until_an_insert_waits(database: Database) -> None:
    """Until a transaction waits for another's lock (the second insert of bo, on the first's row)."""
    async with database.engine.connect() as connection:
        for _ in range(2000):
            waiting = await connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            if waiting:
                return
            await asyncio.sleep(0.005)
    raise AssertionError("the second transaction never waited for the first")


async def test_a_person_met_by_two_transactions_at_once_is_one_member_with_what_both_learned(
    database: Database,
) -> None:
    async with database.session() as session:
        workspace = await ensure_workspace(session, "slack", "T1", "Acme", NOW)
    first_inserted = asyncio.Event()
    go_on = asyncio.Event()

    async def first() -> int:
        async with database.session() as session:
            member = await ensure_member(session, workspace, "U9", NOW, display_name="bo")
            first_inserted.set()
            await go_on.wait()  # the row is written, not committed, while the second meets bo
            assert member.id is not None
            return member.id

    async def second() -> int:
        await first_inserted.wait()
        async with database.session() as session:
            member = await ensure_member(
                session, workspace, "U9", NOW, display_name="bo", default_time_zone="Europe/Paris"
            )
            assert member.id is not None
            return member.id

    one = asyncio.create_task(first())
    two = asyncio.create_task(second())
    await first_inserted.wait()
    if not database.is_sqlite:  # PostgreSQL: let the second insert reach the first's row and wait on it
        await _until_an_insert_waits(database)
    go_on.set()  # (SQLite has one writer: the second transaction starts once the first is over)
    ids = await asyncio.gather(one, two)

    async with database.session() as session:
        rows = (await session.exec(select(Member).where(Member.platform_user_id == "U9"))).all()
    assert [row.id for row in rows] == [ids[0]] and ids[0] == ids[1]
    assert rows[0].time_zone == "Europe/Paris" and rows[0].profile_known  # the loser's news kept
