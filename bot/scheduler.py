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

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.cards import update_cards
from bot.clock import Clock
from bot.delivery import DeliveryWorker, enqueue_intents, outbox_rows
from bot.logs import log_event
from bot.metrics import Metrics
from bot.ports import Sender
from bot.practices_registry import Registry, default_registry
from bot.recurrence import next_run
from practices.charts import purge_old_charts
from practices.practice import SUPPORT_WINDOW, FireContext, SweepContext, SweepResult
from practices.privacy_policy import DEFAULT_MIN_GROUP_SIZE
from practices.rituals import anchor_of, lead_of, recurrence_of
from practices.sealing import PROCESS_KEY
from storage import rituals as store
from storage.db import Database, Session
from storage.events import RETENTION, forget_processed_before
from storage.models import Ritual, Workspace
from storage.outbox import KEEP_DONE, forget_done_before, pending_count
from storage.outbox import enqueue_many as enqueue

logger = logging.getLogger("tend.scheduler")

MAX_CATCH_UP = 1000  # occurrences walked to find the latest missed one after a long outage
MAX_BATCHES = 100  # per tick; anything left is claimed by the next tick
PURGE_EVERY = timedelta(hours=1)  # how often old inbound event ids and index charts are dropped


@dataclass
class TickReport:
    fired: list[int] = field(default_factory=list)  # occurrence ids
    skipped: int = 0
    claimed: int = 0
    swept: int = 0
    updated: int = 0  # cards a sweep replaced (a closed check-in's totals)


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
        min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
        batch: int = 1000,
        support_window: timedelta = SUPPORT_WINDOW,
        charts: Path | None = None,
        secret_key: bytes = PROCESS_KEY,
        senders: Mapping[str, Sender] | None = None,
        support_fallback: str = "",
        registry: Registry | None = None,
    ) -> None:
        self.database = database
        self.support_fallback = support_fallback
        # Ritual kinds (what fires, and each kind's grace) and sweeps, from the practices' declarations.
        self.registry = registry or default_registry()
        # Per platform, for the cards a sweep replaces; without one a sweep's card updates are skipped.
        self.senders = dict(senders or {})
        self.charts = charts  # /tend index's chart folder, purged hourly; None leaves it alone (tests)
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.min_group_size = min_group_size
        self.batch = batch
        self.support_window = support_window
        self.secret_key = secret_key
        self._last_purge: datetime | None = None

    async def tick(self) -> TickReport:
        """Fires everything due now, then runs the practices' periodic sweeps."""
        now = self.clock.now()
        report = TickReport()
        for _ in range(MAX_BATCHES):
            claimed = await self._fire_batch(now, report)
            if claimed < self.batch:
                break
        for sweep in self.registry.sweeps:
            async with self.database.session() as session:
                context = SweepContext(
                    session,
                    now,
                    self.min_group_size,
                    self.support_window,
                    self.secret_key,
                    self.support_fallback,
                )
                results = await sweep(context)
                for result in results:
                    report.swept += await enqueue_intents(
                        session,
                        result.workspace,
                        result.outcome.intents,
                        now,
                        result.scope,
                        secret_key=self.secret_key,
                        anonymous=result.anonymous,
                    )
            report.updated += await self._update_cards(results)  # only once what caused them is committed
        async with self.database.session() as session:  # once a tick, not on every event's delivery
            self.metrics.outbox_pending.set(await pending_count(session))
        if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
            async with self.database.session() as session:
                await forget_processed_before(session, now - RETENTION)
                await forget_done_before(session, now - KEEP_DONE)
            await self.database.erase_leftovers()
            if self.charts is not None:
                try:
                    await asyncio.to_thread(purge_old_charts, self.charts, now)  # file system: off the loop
                except OSError as error:  # an unreadable folder must not stop the ticks
                    logger.warning("old index charts not purged", extra={"error": type(error).__name__})
            self._last_purge = now
        return report

    async def _update_cards(self, results: list[SweepResult]) -> int:
        """Replaces the cards the sweeps asked for (a check-in's totals at close), once each."""
        updated = 0
        for result in results:
            intents = result.outcome.intents
            updated += await update_cards(self.senders, self.metrics, result.workspace, intents)
        return updated

    async def _fire_batch(self, now: datetime, report: TickReport) -> int:
        """Claims up to ``batch`` due rituals and fires them in one transaction.

        The fast path batches every write (move on, occurrences, outbox rows). If a practice raises,
        the batch rolls back and is redone one ritual per savepoint, so one broken ritual cannot
        hold the others back.
        """
        fired_before = len(report.fired)
        try:
            async with self.database.session() as session:
                claimed = await self._claim(session, now, report)
                await self._fire_claimed(session, claimed, now, report, isolate=False)
            return len(claimed)
        except _Contention:
            return self.batch  # another process moved a ritual first: claim again
        except _PracticeFailed:
            del report.fired[fired_before:]
        try:
            async with self.database.session() as session:
                claimed = await self._claim(session, now, report)
                await self._fire_claimed(session, claimed, now, report, isolate=True)
        except _Contention:
            return self.batch
        return len(claimed)

    async def _claim(self, session: Session, now: datetime, report: TickReport) -> list[_Firing]:
        due = await store.claim_due(session, now, self.batch)
        firings: list[_Firing] = []
        moves: list[tuple[int, datetime, datetime | None]] = []
        lag = 0.0
        for ritual in due:
            assert ritual.next_run_at is not None and ritual.id is not None
            lag = max(lag, (now - ritual.next_run_at).total_seconds())
            try:
                due_at, upcoming = latest_due(ritual, ritual.next_run_at, now)
            except ValueError:
                logger.warning("ritual has an unreadable schedule; pausing it", extra={"ritual": ritual.id})
                ritual.paused = True
                session.add(ritual)
                continue
            moves.append((ritual.id, ritual.next_run_at, upcoming))
            firings.append(_Firing(ritual, due_at))
        if not await store.move_on_many(session, moves):
            raise _Contention
        self.metrics.scheduler_lag_seconds.set(lag)
        report.claimed += len(due)
        return firings

    async def _fire_claimed(
        self, session: Session, firings: list[_Firing], now: datetime, report: TickReport, *, isolate: bool
    ) -> None:
        live: list[_Firing] = []
        for firing in firings:
            ritual = firing.ritual
            ids: dict[str, int | str] = {
                "workspace": ritual.workspace_id,
                "ritual": ritual.id or 0,
                "kind": ritual.kind,
            }
            kind = self.registry.rituals.get(ritual.kind)
            if kind is None:
                log_event(logger, "occurrence skipped", level=logging.WARNING, outcome="no-handler", **ids)
            elif now - firing.due_at > kind.grace:
                report.skipped += 1
                log_event(logger, "occurrence skipped", level=logging.WARNING, outcome="past-grace", **ids)
            else:
                live.append(firing)
        occurrences = await store.add_occurrences(session, [(f.ritual.id or 0, f.due_at) for f in live], now)
        rows: list[dict[str, object]] = []
        for firing in live:
            ritual = firing.ritual
            occurrence = occurrences.get(ritual.id or 0)
            workspace = await session.get(Workspace, ritual.workspace_id)
            if occurrence is None or workspace is None or not workspace.active:
                continue  # already fired (a retry or another replica), or the workspace is gone
            context = FireContext(
                session, workspace, ritual, occurrence, now, self.min_group_size, self.secret_key
            )
            ids = {"workspace": ritual.workspace_id, "ritual": ritual.id or 0, "kind": ritual.kind}
            try:
                if isolate:
                    async with session.begin_nested():
                        await enqueue(session, await self._run(context))
                else:
                    rows += await self._run(context)
            except Exception as error:
                if not isolate:
                    raise _PracticeFailed from error
                logger.exception("ritual failed", extra=ids)
                continue
            report.fired.append(occurrence.id or 0)
            log_event(logger, "ritual fired", level=logging.INFO, occurrence=occurrence.id or 0, **ids)
        await enqueue(session, rows)

    async def _run(self, context: FireContext) -> list[dict[str, object]]:
        """Runs the practice for one occurrence; returns the outbox rows for what it wants sent."""
        outcome = await self.registry.rituals[context.ritual.kind].fire(context)
        scope = f"occ:{context.occurrence.id}"
        return await outbox_rows(
            context.session, context.workspace, outcome.intents, context.now, scope, context.ritual.id
        )


class _Contention(Exception):
    """SQLite only: a concurrent writer moved one of the claimed rituals; the batch rolls back."""


class _PracticeFailed(Exception):
    """A practice raised on the fast path; the batch is redone ritual by ritual."""


@dataclass(frozen=True)
class _Firing:
    ritual: Ritual
    due_at: datetime


STOP_SECONDS = 10.0  # how long stopping waits for a cancelled delivery pass to write its results


@dataclass
class Background:
    """The tick on APScheduler and the delivery loop, as started by ``start_background``."""

    scheduler: AsyncIOScheduler
    delivery: asyncio.Task[None]
    ticking: set[asyncio.Task[object]] = field(default_factory=set)  # ticks under way

    async def stop(self) -> None:
        """Stops both and waits (up to ``STOP_SECONDS``) for the delivery loop to end: a pass cancelled
        mid-way writes down what it already sent, which must happen before the database is closed,
        or those messages would go again once their lease expired. A tick under way finishes first:
        APScheduler's shutdown cancels a running job mid-query and logs that as an error with a
        traceback, so the scheduler is paused (no new tick) and shut down only after."""
        if self.scheduler.running:
            self.scheduler.pause()
        self.delivery.cancel()
        await asyncio.wait({self.delivery, *self.ticking}, timeout=STOP_SECONDS)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


def start_background(
    scheduler: Scheduler, delivery: DeliveryWorker, *, tick_seconds: float = 15, deliver_seconds: float = 2
) -> Background:
    """Runs the tick on APScheduler, and the delivery worker's loop, in this process's event loop.

    Delivery is one loop, so passes never overlap: back to back while rows are ready, otherwise it
    sleeps until the next row's time, a tick's wake-up, or ``deliver_seconds`` at most. Await
    ``stop()`` on the result before closing the database. The first tick comes after
    ``tick_seconds``; callers that want one at start-up await ``tick()``.
    """
    background = AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
    )

    ticking: set[asyncio.Task[object]] = set()

    async def tick() -> None:
        task = asyncio.current_task()
        assert task is not None  # APScheduler runs each job as a task of the loop
        ticking.add(task)
        try:
            await scheduler.tick()
            delivery.wake()  # what the tick queued goes now, not at the next idle look
        finally:
            ticking.discard(task)

    background.add_job(tick, "interval", seconds=tick_seconds, id="tick")
    loop = asyncio.create_task(delivery.run(idle_seconds=deliver_seconds), name="tend-delivery")
    background.start()
    return Background(background, loop, ticking)
