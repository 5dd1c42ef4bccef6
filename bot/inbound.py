"""Durable inbound work: an acked event is stored before its ack and handled by any replica.

An adapter calls ``InboundQueue.put`` with the neutral event (and what answering it needs: Slack's
response URL, a trigger id) and acks only once that returns, so "acked" means "stored". The row is
leased to this process, which starts on it at once (no polling delay); its lease is renewed while it
waits or runs. The engine deletes the row in the same transaction as the event's own work
(``Engine.process(finish=...)``), so a crash repeats nothing already committed; the answers
(ephemeral replies, a form to open) go to the adapter's callback after that commit.

Rows whose lease ran out (their process died) or that a stopping process handed back are claimed by
whichever replica polls next (every ``POLL_SECONDS``). When the database is away the work is let go
and claimed again once it is back; a row tried ``MAX_ATTEMPTS`` times is dropped with an apology.

Back-pressure (issue 18): one process holds at most ``hold`` rows (``HOLD_FACTOR``); past that,
``put`` stores the row with no lease, so any replica's poll takes it (a burst spreads over replicas),
and this process claims such rows again as soon as its own work runs low (``_refill``), without
waiting for the next poll. Past ``max_queued`` rows in the table (``TEND_INBOUND_MAX_QUEUED``),
``put`` refuses before storing anything (``InboundFull``): the adapter tells the person Tend is busy,
or has the platform send the event again later. The depth it compares is the one the last poll read
plus what this process stored and handled since, so the check costs no query.

An anonymous event (``bot.dispatch.is_anonymous``) is stored sealed under ``TEND_SECRET_KEY`` with no
time of its own, and its row is gone once handled. It meets the same bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.dispatch import is_anonymous
from bot.engine import Answer, Engine
from bot.events import (
    ButtonClicked,
    CommandReceived,
    DirectText,
    FormSubmitted,
    HomeOpened,
    InboundEvent,
    MemberSeen,
    Origin,
    PersonRef,
    WorkspaceRemoved,
)
from bot.logs import log_event
from practices.sealing import seal, unseal
from storage import inbound
from storage.db import Conflict, Session

logger = logging.getLogger("tend.inbound")

LEASE = timedelta(seconds=10)  # a dead process's rows wait this long at most before another takes them
RENEW_SHARE = 0.25  # held leases are renewed every quarter of their length
POLL_SECONDS = 1.0  # how often a replica looks for rows nobody holds
CONCURRENCY = 4  # events handled at once by one process (the rest wait in order, leased)
CLAIM_AHEAD = 2  # a poll claims up to this many rows per place free among ``CONCURRENCY``
# Rows one process may hold (waiting or under way) = concurrency x CLAIM_AHEAD x HOLD_FACTOR (32 by
# default): enough that its workers never wait on a refill's round trip, few enough that a burst
# spills into the table where every replica shares it, and that a process that dies strands at most
# that many rows until their lease runs out.
HOLD_FACTOR = 4
MAX_QUEUED = 10_000  # default bound on rows in the table (TEND_INBOUND_MAX_QUEUED; see docs/operations.md)
# Acks first: while requests are being stored, a worker waits this long at most before starting its
# next event (benchmarks/kudos_cpu.py: see docs/architecture.md for the ack p99 with and without).
ACKS_FIRST_WITHIN = 0.25
MAX_ATTEMPTS = 5  # claims of one row before it is given up (an event that keeps failing)
STOP_SECONDS = 10.0  # how long a stopping process lets work under way finish
SEALED_PURPOSE = "inbound"

_EVENTS: dict[str, type[Any]] = {
    kind.__name__: kind
    for kind in (
        CommandReceived,
        ButtonClicked,
        FormSubmitted,
        DirectText,
        MemberSeen,
        HomeOpened,
        WorkspaceRemoved,
    )
}


@dataclass(frozen=True)
class Work:
    """One acked event and what the adapter needs to answer it (opaque to the core)."""

    event: InboundEvent
    context: Mapping[str, str] = field(default_factory=dict)


Answerer = Callable[[Work, tuple[Answer, ...]], Awaitable[None]]
Preparer = Callable[[Work], Awaitable[Work]]


class _LeaseLost(Exception):
    """Another replica holds the row now: this handling must not commit."""


class InboundFull(Exception):
    """The queue holds ``max_queued`` rows or more: nothing was stored, the adapter must not ack the
    event as taken (the person is told Tend is busy, or the platform sends it again later)."""

    def __init__(self, queued: int, limit: int) -> None:
        super().__init__(f"inbound queue full ({queued} queued, limit {limit})")
        self.queued = queued
        self.limit = limit


def _known(kind: type[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields ``kind`` has: a row written by a newer release still reads in an older one."""
    names = {item.name for item in dataclasses.fields(kind)}
    return {name: value for name, value in values.items() if name in names}


def event_to_dict(event: InboundEvent) -> dict[str, Any]:
    return {"type": type(event).__name__, **dataclasses.asdict(event)}


def event_from_dict(data: Mapping[str, Any]) -> InboundEvent:
    """The event ``event_to_dict`` wrote (KeyError or TypeError for anything else)."""
    kind = _EVENTS[str(data["type"])]
    values = _known(kind, data)
    origin = dict(values["origin"])
    origin["actor"] = PersonRef(**_known(PersonRef, origin["actor"]))
    values["origin"] = Origin(**_known(Origin, origin))
    if "mentions" in values:
        values["mentions"] = tuple(PersonRef(**_known(PersonRef, person)) for person in values["mentions"])
    if "values" in values:
        values["values"] = {str(key): str(value) for key, value in values["values"].items()}
    return kind(**values)


@dataclass
class _Item:
    row_id: int
    work: Work
    attempts: int
    sealed: bool = False


class InboundQueue:
    """One platform's inbound queue in this process: stores, handles, hands answers to the adapter.

    ``answer`` shows the engine's answers (after the commit); ``prepare`` may complete an event
    before the engine sees it (a person's name and time zone from the platform), and fall back to
    the event as stored when the platform does not answer.
    """

    def __init__(
        self,
        engine: Engine,
        platform: str,
        answer: Answerer,
        *,
        prepare: Preparer | None = None,
        lease: timedelta = LEASE,
        concurrency: int = CONCURRENCY,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self.engine = engine
        self.database = engine.database
        self.clock = engine.clock
        self.metrics = engine.metrics
        self.platform = platform
        self.answer = answer
        self.prepare = prepare
        self.lease = lease
        self.concurrency = concurrency
        self.hold = concurrency * CLAIM_AHEAD * HOLD_FACTOR  # rows held before ``put`` passes them on
        self.max_queued = max_queued
        self.owner = uuid.uuid4().hex
        self._waiting: deque[_Item] = deque()  # held, not started, in order
        self._held: dict[int, _Item] = {}  # every row this process holds (waiting or under way)
        self._workers: set[asyncio.Task[None]] = set()
        self._renewing: asyncio.Task[None] | None = None
        self._none_held = asyncio.Event()
        self._stopping = False
        self._polling: asyncio.Task[Any] | None = None  # ``run``, while it polls
        self._poll_ends = asyncio.Event()
        # The table's depth as the last poll read it, and what this process added and removed since:
        # ``put``'s bound is checked against their sum, with no query of its own.
        self._depth = 0
        self._added = 0
        self._removed = 0
        self._refusing = False  # refusing now (logged once when it starts and once when it ends)
        self._backlog = False  # rows nobody holds are likely waiting: claim them once there is room
        self._refilling = False  # one refill at a time
        # Requests waiting for their ack now (puts writing their row, forms answered before their ack).
        self._acking: set[asyncio.Future[None]] = set()
        self._keeping = 0  # puts being written that this process will hold
        self.metrics.inbound_max_queued.set(max_queued)
        self._show_held()

    # --- storing (before the ack) ---------------------------------------------------------------------

    async def put(self, event: InboundEvent, context: Mapping[str, str] | None = None) -> None:
        """Stores the event and, while this process holds fewer than ``hold`` rows, leases it here and
        starts on it; past that, the row is stored with no lease for any replica (nothing acked is
        lost either way). The adapter acks after this.

        Raises ``InboundFull`` (nothing stored) when the queue is at ``max_queued``, and whatever the
        database raises when it does not take the row: either way the adapter must not ack the
        event as taken."""
        self._check_room()
        context = {key: value for key, value in (context or {}).items() if value}
        text = json.dumps({"event": event_to_dict(event), "context": context})
        anonymous = is_anonymous(event, self.engine.registry)
        payload = seal(self.engine.secret_key, SEALED_PURPOSE, text) if anonymous else text
        now = self.clock.now()
        # Past ``hold`` (counting the puts still being written), or while older rows wait unleased (so
        # they are not overtaken), the row is passed on.
        keep = len(self._held) + self._keeping < self.hold and not self._backlog and not self._stopping
        self._keeping += keep
        try:
            with self.acking():
                async with self.database.session(urgent=True) as session:
                    row = await inbound.enqueue(
                        session,
                        self.platform,
                        payload,
                        sealed=anonymous,
                        now=now,
                        owner=self.owner if keep else "",
                        until=self._lease_end(now, anonymous) if keep else None,
                    )
        finally:
            self._keeping -= keep
        self._added += 1
        if not keep:  # any replica's poll takes it; this one as soon as its own work runs low
            self._backlog = True
            self.metrics.inbound_passed.inc(platform=self.platform)
            self._start_workers()
            return
        self._take(_Item(row.id, Work(event, context), row.attempts, anonymous))

    def queued_estimate(self) -> int:
        """Rows in the table as far as this process knows: the last poll's count, plus the rows it
        stored since, less those it handled (other replicas' since then are not seen until the next
        poll, a second later)."""
        return max(self._depth + self._added - self._removed, 0)

    def _check_room(self) -> None:
        """Refuses (``InboundFull``) while the queue is at ``max_queued``; logs when refusing starts
        and ends, not for each event refused (the counter has those)."""
        queued = self.queued_estimate()
        if queued < self.max_queued:
            if self._refusing:
                self._refusing = False
                log_event(logger, "inbound queue taking work again", queued=queued, limit=self.max_queued)
            return
        self.metrics.inbound_refused.inc(platform=self.platform)
        if not self._refusing:
            self._refusing = True
            log_event(
                logger, "inbound queue full", level=logging.WARNING, queued=queued, limit=self.max_queued
            )
        raise InboundFull(queued, self.max_queued)

    def _lease_end(self, now: datetime, sealed: bool) -> datetime:
        """When a lease taken or renewed ``now`` runs out. An anonymous event's row keeps it only to
        the minute (rounded up), so neither its lease nor the dead versions a renewal leaves behind
        date the act more closely than that; a dead process's anonymous rows wait at most a minute
        longer for another replica."""
        until = now + self.lease
        if not sealed or (until.second, until.microsecond) == (0, 0):
            return until
        return until.replace(second=0, microsecond=0) + timedelta(minutes=1)

    def _take(self, item: _Item) -> None:
        self._held[item.row_id] = item
        self._none_held.clear()
        self._show_held()
        self._waiting.append(item)
        self._start_workers()
        if self._renewing is None:
            self._renewing = asyncio.get_running_loop().create_task(self._renew(), name="tend-inbound-leases")

    # --- handling ----------------------------------------------------------------------------------------

    def _start_workers(self) -> None:
        if self._stopping:
            return
        wanted = len(self._waiting) + (1 if self._backlog else 0)  # one worker to claim the backlog
        limit = min(self.concurrency, wanted + len(self._workers))
        while len(self._workers) < limit:
            task = asyncio.get_running_loop().create_task(self._work(), name="tend-inbound")
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        while not self._stopping:
            if self._backlog and not self._refilling and len(self._waiting) < self.concurrency:
                await self._refill()
            if not self._waiting:
                break
            await self._acks_first()
            if not self._waiting:
                break
            item = self._waiting.popleft()
            try:
                await self._handle(item)
            except Exception as error:  # one failed event must not stop the queue behind it
                self._let_go(item.row_id)  # not renewed any more: tried again once its lease is over
                logger.exception("inbound work failed", extra={"outcome": type(error).__name__})

    async def _acks_first(self) -> None:
        """Requests waiting for their ack when a worker is about to start an event go first: acked work
        is durable and can wait a moment, the person behind each request waits for its ack (Slack
        gives up after 3 s). Only those already waiting are waited for (and
        ``ACKS_FIRST_WITHIN`` at most), so a steady stream of requests never stalls the work; work
        already under way goes on."""
        if self._acking:
            await asyncio.wait(set(self._acking), timeout=ACKS_FIRST_WITHIN)

    @contextlib.contextmanager
    def acking(self) -> Iterator[None]:
        """A request waiting for its ack while this runs (a put; a form the engine answers before its
        ack): workers about to start an event let it finish first (``_acks_first``)."""
        done = asyncio.get_running_loop().create_future()
        self._acking.add(done)
        try:
            yield
        finally:
            self._acking.discard(done)
            done.set_result(None)

    async def _handle(self, item: _Item) -> None:
        if item.row_id not in self._held:  # its lease could not be renewed: another replica has it
            return
        work = item.work
        if self.prepare is not None:
            try:
                work = await self.prepare(work)
            except Exception as error:  # what the platform would add (a profile) is missing: go without
                log_event(
                    logger, "inbound event not completed", level=logging.WARNING, error=type(error).__name__
                )
        finished = False

        async def finish(session: Session) -> None:
            nonlocal finished
            if not await inbound.finish(session, item.row_id, self.owner):
                raise _LeaseLost
            finished = True

        outcome = "ok"
        try:
            answers = await self.engine.process(work.event, finish=finish)
        except _LeaseLost:
            self._let_go(item.row_id)
            self._count("taken_over")
            return
        except Conflict:  # the same event handled at this moment elsewhere: nothing more to do
            answers, finished, outcome = (), False, "duplicate"
        except Exception as error:
            if inbound.unavailable(error) and item.attempts < MAX_ATTEMPTS:
                # The database is away: the row stays, its lease runs out, and a poll (this
                # replica's or another's) takes it again once the database answers.
                self._let_go(item.row_id)
                self._count("retry")
                log_event(logger, "inbound work postponed", level=logging.WARNING, error=type(error).__name__)
                return
            answers, finished, outcome = self.engine.failed(work.event), False, "error"
        if not finished and not await self._settle(item.row_id):
            return
        self._removed += 1
        self._let_go(item.row_id)
        self._count(outcome)
        await self._answer(work, answers)

    async def _settle(self, row_id: int) -> bool:
        """Deletes a row the engine's transaction did not (nothing committed, or nothing to commit)."""
        try:
            async with self.database.session() as session:
                await inbound.finish(session, row_id, self.owner)
        except Exception as error:
            self._let_go(row_id)  # tried again once its lease is over
            log_event(logger, "inbound work postponed", level=logging.WARNING, error=type(error).__name__)
            return False
        return True

    async def _answer(self, work: Work, answers: tuple[Answer, ...]) -> None:
        try:
            await self.answer(work, answers)
        except Exception as error:  # the work is done and committed; only the answer is missing
            logger.exception("inbound answer failed", extra={"outcome": type(error).__name__})

    def _count(self, outcome: str) -> None:
        self.metrics.inbound_handled.inc(platform=self.platform, outcome=outcome)

    def _let_go(self, row_id: int) -> None:
        self._held.pop(row_id, None)
        self._show_held()
        if not self._held:
            self._none_held.set()

    def _show_held(self) -> None:
        self.metrics.inbound_held.set(len(self._held), platform=self.platform)

    # --- leases ------------------------------------------------------------------------------------------

    async def _renew(self) -> None:
        """While this process holds rows, renews their leases every quarter of a lease (and ends as
        soon as it holds none)."""
        try:
            while self._held:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._none_held.wait(), self.lease.total_seconds() * RENEW_SHARE)
                ids = list(self._held)
                if not ids:
                    break
                now = self.clock.now()
                sealed = [row_id for row_id in ids if self._held[row_id].sealed]
                plain = [row_id for row_id in ids if not self._held[row_id].sealed]
                try:
                    async with self.database.session() as session:
                        renewed = await inbound.renew(session, plain, self.owner, self._lease_end(now, False))
                        renewed |= await inbound.renew(
                            session, sealed, self.owner, self._lease_end(now, True)
                        )
                except Exception as error:  # the database is away: the next round tries again
                    log_event(
                        logger,
                        "inbound leases not renewed",
                        level=logging.WARNING,
                        error=type(error).__name__,
                    )
                    continue
                for row_id in ids:
                    if row_id not in renewed:
                        self._let_go(row_id)  # handled meanwhile, or taken over
        finally:
            self._renewing = None

    # --- polling for rows nobody holds -------------------------------------------------------------------

    async def poll(self) -> int:
        """Claims rows nobody holds and starts on them; refreshes the queue's gauges and the depth
        ``put``'s bound is checked against. Returns how many rows were claimed."""
        room = self._room()
        async with self.database.session() as session:
            claimed = await self._claim(session, room)
            added, removed = self._added, self._removed
            queued, oldest = await inbound.depth(session)
        self._depth, self._added, self._removed = queued, self._added - added, self._removed - removed
        self.metrics.inbound_queued.set(queued)
        age = (self.clock.now() - oldest).total_seconds() if oldest is not None else 0.0
        self.metrics.inbound_oldest_seconds.set(max(age, 0.0))
        if room > 0 and len(claimed) == room:  # a full batch: more may wait, claim again once there is room
            self._backlog = True
        for row in claimed:
            await self._claimed(row)
        return len(claimed)

    def _room(self) -> int:
        """How many rows a claim may take now: up to ``CLAIM_AHEAD`` per worker, less those waiting,
        and never past ``hold`` (puts still being written count: a row passed on can be stored and
        claimed back before rows kept here are, and the share must hold either way)."""
        if self._stopping:
            return 0
        ahead = self.concurrency * CLAIM_AHEAD - len(self._waiting)
        return max(0, min(ahead, self.hold - len(self._held) - self._keeping))

    async def _claim(self, session: Session, room: int) -> list[inbound.Queued]:
        now = self.clock.now()
        return await inbound.claim(
            session,
            self.platform,
            now,
            self.owner,
            room,
            until=self._lease_end(now, False),
            sealed_until=self._lease_end(now, True),
        )

    async def _refill(self) -> None:
        """A worker found its process's own work running low while rows nobody holds wait (this
        process passed them on, or a poll came back full): claims the next batch at once rather than
        at the next poll, so a burst past ``hold`` is handled at full speed. Stops once a claim comes
        back short; the database being away leaves it to the polls."""
        self._refilling = True
        room = self._room()
        try:
            async with self.database.session() as session:
                claimed = await self._claim(session, room)
            if len(claimed) < room:
                self._backlog = False
            for row in claimed:
                await self._claimed(row)
        except Exception as error:  # rows claimed and not taken wait for their lease, then any poll
            self._backlog = False
            log_event(logger, "inbound refill failed", level=logging.WARNING, error=type(error).__name__)
        finally:
            self._refilling = False

    async def _claimed(self, row: inbound.Queued) -> None:
        text = unseal(self.engine.secret_key, SEALED_PURPOSE, row.payload) if row.sealed else row.payload
        work: Work | None = None
        if text is not None:
            try:
                data = json.loads(text)
                work = Work(
                    event_from_dict(data["event"]), {str(k): str(v) for k, v in data["context"].items()}
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                work = None
        if work is None or row.attempts > MAX_ATTEMPTS:
            async with self.database.session() as session:
                await inbound.drop(session, row.id)
            self._removed += 1
            self._count("dropped")
            reason = "unreadable" if work is None else "too many attempts"
            log_event(
                logger, "inbound work dropped", level=logging.WARNING, outcome=reason, attempts=row.attempts
            )
            if work is not None:
                await self._answer(work, self.engine.failed(work.event))
            return
        self._take(_Item(row.id, work, row.attempts, row.sealed))

    async def run(self, *, poll_seconds: float = POLL_SECONDS) -> None:
        """Polls until ``stop`` (the first look at once, for what a stopped process handed back)."""
        self._polling = asyncio.current_task()
        try:
            while not self._stopping:
                try:
                    await self.poll()
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # the database restarting must not end the polling for good
                    log_event(
                        logger, "inbound poll failed", level=logging.WARNING, error=type(error).__name__
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poll_ends.wait(), poll_seconds)
        finally:
            self._polling = None

    # --- waiting and stopping ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Work this process holds that is not finished (waiting or under way)."""
        return bool(self._workers or self._waiting)

    async def drain(self) -> None:
        """Waits until every event this process holds is handled and answered (tests; a clean stop)."""
        while self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)

    async def stop(self, within: float = STOP_SECONDS) -> None:
        """Stops taking work: events not started go back to the queue at once (for the next process or
        another replica), those under way get ``within`` seconds to finish; any still running then is
        cancelled (its transaction rolls back) and handed back too. Nothing acked is lost."""
        self._stopping = True
        self._poll_ends.set()
        if self._polling is not None:  # a poll under way ends first: what it claims is handed back below
            await asyncio.wait({self._polling}, timeout=within)
        waiting = [item.row_id for item in self._waiting]
        self._waiting.clear()
        await self._hand_back(waiting)
        if self._workers:
            _, late = await asyncio.wait(set(self._workers), timeout=within)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
                log_event(logger, "inbound work cut short", level=logging.WARNING, count=len(late))
        await self._hand_back(list(self._held))
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing

    async def _hand_back(self, ids: list[int]) -> None:
        if not ids:
            return
        try:
            async with self.database.session() as session:
                await inbound.release(session, ids, self.owner)
        except Exception as error:  # their leases run out instead: another replica takes them then
            log_event(
                logger, "inbound work not handed back", level=logging.WARNING, error=type(error).__name__
            )
        for row_id in ids:
            self._let_go(row_id)
