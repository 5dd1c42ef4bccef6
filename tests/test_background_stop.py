"""Stopping the background work lets a scheduler tick under way finish.

Seen under load in tests/test_inbound_restart.py: a SIGTERM that came while a tick ran ended the
process with that tick cancelled mid-query, and APScheduler logged the CancelledError as an error
with a traceback. ``Background.stop`` now waits for the tick (bounded, as for the delivery loop).
"""

from __future__ import annotations

import asyncio

from bot.delivery import DeliveryWorker
from bot.scheduler import Scheduler, start_background
from tests.fakes import InMemorySender


async def test_stopping_waits_for_a_tick_under_way_which_finishes(database, clock):
    scheduler = Scheduler(database, clock)
    entered, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()
    real_tick = scheduler.tick

    async def held_tick() -> None:
        entered.set()
        await release.wait()  # the tick is under way when the stop comes
        await real_tick()
        finished.set()

    scheduler.tick = held_tick
    worker = DeliveryWorker(database, clock, {"slack": InMemorySender(clock=clock)})
    background = start_background(scheduler, worker, tick_seconds=0.01)
    await asyncio.wait_for(entered.wait(), timeout=10)  # a guard: the first tick comes at once
    stopping = asyncio.create_task(background.stop())
    await asyncio.wait({background.delivery}, timeout=10)  # the delivery loop has ended
    for _ in range(5):
        await asyncio.sleep(0)  # turns of the loop in which a stop that did not wait would return
    assert not stopping.done()  # still waiting for the tick
    release.set()
    await asyncio.wait_for(stopping, timeout=10)
    assert finished.is_set()  # the tick ran to its end, not cancelled
