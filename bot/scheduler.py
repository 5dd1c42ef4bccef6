"""The scheduler: a short tick in every process that fires due rituals exactly once.

Each tick claims the rituals whose ``next_run_at`` has come (an index range scan, so its cost grows
with the number due, not the number stored), moves each one on to its next occurrence, records the
occurrence (unique per ritual and time) and writes what the practice wants sent to the outbox, all in
one transaction. A second replica, a retry or a restart finds nothing left to claim, or an
occurrence that already exists. After downtime, only the latest missed occurrence of a ritual may
fire, and only within its kind's grace window; older ones are skipped and logged.

APScheduler (3.x) only drives the ticks here, and its triggers compute recurrences
(``bot/recurrence.py``); its job store is never shared between processes, so it holds no rituals.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.delivery import DeliveryWorker, enqueue_intents
from bot.logs import log_event
from bot.metrics import Metrics
from bot.recurrence import next_run
from bot.routes import RITUALS, SWEEPS
from practices.context import FireContext, SweepContext
from practices.rituals import GRACE, anchor_of, lead_of, recurrence_of
from storage import rituals as store
from storage.db import Database, Session
from storage.events import RETENTION, forget_processed_before
from storage.models import Ritual, Workspace

logger = logging.getLogger("tend.scheduler")

MAX_CATCH_UP = 1000  # occurrences walked to find the latest missed one after a long outage


@dataclass
class TickReport:
    fired: list[int] = field(default_factory=list)  # occurrence ids
    skipped: int = 0
    claimed: int = 0
    swept: int = 0


def following(ritual: Ritual, after: datetime) -> datetime | None:
    """The ritual's next firing time strictly after ``after`` (its lead already taken off)."""
    lead = lead_of(ritual)
    instant = next_run(recurrence_of(ritual), ritual.time_zone, after + lead, anchor_of(ritual))
    return instant - lead if instant is not None else None


def latest_due(ritual: Ritual, first_due: datetime, now: datetime) -> tuple[datetime, datetime | None]:
    """The last firing time at or before ``now`` (from ``first_due`` on) and the one after it."""
    due, upcoming = first_due, following(ritual, first_due)
    for _ in range(MAX_CATCH_UP):
        if upcoming is None or upcoming > now:
            break
        due, upcoming = upcoming, following(ritual, upcoming)
    else:
        upcoming = following(ritual, now)
    return due, upcoming


class Scheduler:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        metrics: Metrics | None = None,
        min_group_size: int = 5,
        batch: int = 1000,
    ) -> None:
        self.database = database
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.min_group_size = min_group_size
        self.batch = batch

    async def tick(self) -> TickReport:
        """Fires everything due now, then runs the practices' periodic sweeps."""
        now = self.clock.now()
        report = TickReport()
        while True:
            claimed = await self._fire_batch(now, report)
            if claimed < self.batch:
                break
        for sweep in SWEEPS:
            async with self.database.session() as session:
                results = await sweep(SweepContext(session, now, self.min_group_size))
                for result in results:
                    report.swept += await enqueue_intents(
                        session, result.workspace, result.outcome.intents, now, result.scope
                    )
        async with self.database.session() as session:
            await forget_processed_before(session, now - RETENTION)
        return report

    async def _fire_batch(self, now: datetime, report: TickReport) -> int:
        async with self.database.session() as session:
            due = await store.claim_due(session, now, self.batch)
            lag = 0.0
            for ritual in due:
                assert ritual.next_run_at is not None
                lag = max(lag, (now - ritual.next_run_at).total_seconds())
                await self._fire_one(session, ritual, now, report)
            self.metrics.scheduler_lag_seconds.set(lag)
        report.claimed += len(due)
        return len(due)

    async def _fire_one(self, session: Session, ritual: Ritual, now: datetime, report: TickReport) -> None:
        first_due = ritual.next_run_at
        assert first_due is not None and ritual.id is not None
        try:
            due, upcoming = latest_due(ritual, first_due, now)
        except ValueError:
            logger.warning("ritual has an unreadable schedule; pausing it", extra={"ritual": ritual.id})
            ritual.paused = True
            session.add(ritual)
            return
        if not await store.move_on(session, ritual, first_due, upcoming):
            return  # another process moved it on first: that process fires it
        ids = {"workspace": ritual.workspace_id, "ritual": ritual.id, "kind": ritual.kind}
        if now - due > GRACE.get(ritual.kind, timedelta(hours=1)):
            report.skipped += 1
            log_event(logger, "occurrence skipped", level=logging.WARNING, outcome="past-grace", **ids)
            return
        handler = RITUALS.get(ritual.kind)
        workspace = await session.get(Workspace, ritual.workspace_id)
        if handler is None or workspace is None or not workspace.active:
            log_event(logger, "occurrence skipped", outcome="no-handler-or-inactive", **ids)
            return
        occurrence = await store.add_occurrence(session, ritual.id, due, now, secrets.token_hex(16))
        if occurrence is None:
            return
        try:
            async with session.begin_nested():
                outcome = await handler(
                    FireContext(session, workspace, ritual, occurrence, now, self.min_group_size)
                )
                await enqueue_intents(
                    session, workspace, outcome.intents, now, f"occ:{occurrence.id}", ritual.id
                )
        except Exception:
            # One broken ritual must not hold the others back; it is moved on and logged.
            logger.exception("ritual failed", extra=ids)
            return
        assert occurrence.id is not None
        report.fired.append(occurrence.id)
        log_event(logger, "ritual fired", occurrence=occurrence.id, **ids)


def start_background(
    scheduler: Scheduler, delivery: DeliveryWorker, *, tick_seconds: float = 15, deliver_seconds: float = 2
) -> AsyncIOScheduler:
    """Runs the tick and the delivery worker on APScheduler in this process's event loop.

    The first tick comes after ``tick_seconds``; callers that want one at start-up await ``tick()``.
    """
    background = AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
    )
    background.add_job(scheduler.tick, "interval", seconds=tick_seconds, id="tick")
    background.add_job(delivery.deliver_due, "interval", seconds=deliver_seconds, id="deliver")
    background.start()
    return background
