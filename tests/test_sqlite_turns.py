"""SQLite has one connection: a request waiting for its ack gets it before queued background work."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from storage.db import Database


async def until_waiting(database: Database, count: int) -> None:
    """Until ``count`` transactions wait for the connection (each task needs a few loop turns)."""
    turns = database._turns
    assert turns is not None
    while len(turns._urgent) + len(turns._others) != count:  # noqa: ASYNC110  # no event says a task queued
        await asyncio.sleep(0)  # one loop turn


async def test_an_urgent_transaction_goes_before_those_already_waiting_and_cancelled_waits_leave_the_line(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite:///{tmp_path}/turns.db")
    order: list[str] = []
    holding = asyncio.Event()
    let_go = asyncio.Event()

    async def hold() -> None:
        async with database.session() as session:
            await (await session.connection()).execute(text("SELECT 1"))
            holding.set()
            await let_go.wait()
        order.append("holder")

    async def transaction(name: str, urgent: bool) -> None:
        async with database.session(urgent=urgent) as session:
            await (await session.connection()).execute(text("SELECT 1"))
            order.append(name)

    try:
        holder = asyncio.create_task(hold())
        await holding.wait()
        work = [asyncio.create_task(transaction(f"work {n}", urgent=False)) for n in range(3)]
        gone = asyncio.create_task(transaction("cancelled", urgent=True))
        await until_waiting(database, 4)
        gone.cancel()
        ack = asyncio.create_task(transaction("ack", urgent=True))
        await until_waiting(database, 4)  # three of the work, and the ack (the cancelled one left)
        let_go.set()
        await asyncio.gather(holder, ack, *work)
        assert gone.cancelled()
        assert order == ["holder", "ack", "work 0", "work 1", "work 2"]
    finally:
        await database.dispose()
