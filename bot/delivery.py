"""Outbox in, platform out: the only path by which Tend posts or sends a private message.

Writing: ``enqueue_intents`` turns a practice's intents into outbox rows inside the practice's own
transaction; a personal message gets its send time from the person's working hours and pause.
Sending: a pass (``DeliveryWorker.deliver_due``) claims a batch of ready rows in one statement,
loads their workspaces and people with two queries, sends to different channels and people
concurrently (``in_flight`` at a time) through the platform's ``Sender`` while each one target's
messages go in order and paced (``PACING``). ``run`` (started by ``bot.scheduler.start_background``)
runs passes back to back while rows are ready and otherwise sleeps until the next row's time.

What a crash can repeat: a send keeps its place among the ``in_flight`` until the platform's answer
is written to the outbox (the results of sends that finish within ``FLUSH_WITHIN`` of each other in
one short write), so at any instant at most ``in_flight`` messages have gone, or may have gone,
without a record: a kill can repeat those, and nothing else. When a write fails (the database is
away) the results stay in memory and are written again until it is back; the rows they name are
not sent again meanwhile. Claimed rows are leased (``LEASE``, renewed while held), so no other
replica sends them, and a killed worker's rows are sent by another once their lease has run out.

A 429 is not an attempt: the message waits for Retry-After, and so does every message to that
target, in every replica (``targetpace``); other failures back off, and a message is parked after
its last attempt with a notice to the workspace's admins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.errors import SendError, UnsupportedByPlatform
from bot.logs import log_event
from bot.metrics import Metrics
from bot.ports import Sender
from practices.hours import StoredHours, hours_of, is_within, next_send_time
from practices.messages import (
    Card,
    DirectMessage,
    Intent,
    OpenGroup,
    Place,
    PostToPlace,
    Said,
    card_from_dict,
    card_to_dict,
    compose,
    text_card,
)
from practices.sealing import PROCESS_KEY, seal, unseal
from storage import addresses, outbox
from storage.db import Database, Session
from storage.identity import UNSET_TIME_ZONE, get_member, members_with_role, zone_known
from storage.models import Workspace
from storage.outbox import Claimed, Recipient, Target

logger = logging.getLogger("tend.delivery")

PARKED_NOTICE = (
    "A message from Tend could not be delivered after {attempts} attempts (to {target}) and has been "
    "set aside. The last error was: {error}. Check that Tend is still in that channel or conversation."
)


UNREACHABLE = "unreachable: the person blocked or removed Tend"

# The gap between two messages to one channel or person, per platform (published limits: Slack about
# one chat.postMessage per second per channel; Teams 7 per second per conversation).
SEALED_PURPOSE = "outbox"

PACING: dict[str, timedelta] = {"slack": timedelta(seconds=1), "teams": timedelta(milliseconds=150)}


GROUP = "group"  # target_kind of an OpenGroup row: several people gathered in one conversation


def personal_send_time(person: StoredHours, wanted: datetime) -> datetime | None:
    """When a personal message may go: inside the person's hours, not while they are paused."""
    return next_send_time(hours_of(person), wanted)


async def enqueue_intents(
    session: Session,
    workspace: Workspace,
    intents: Sequence[Intent],
    now: datetime,
    scope: str,
    ritual_id: int | None = None,
    *,
    secret_key: bytes = PROCESS_KEY,
    anonymous: bool = False,
) -> int:
    """Writes the sendable intents as outbox rows; returns how many were new.

    ``scope`` names the cause (an event id, an occurrence) so the same cause always yields the same
    keys: handling it again writes nothing new. ``secret_key`` seals ``DirectMessage(sealed=True)``;
    ``anonymous`` (the cause was an anonymous submission) keeps the rows' written time to the hour.
    """
    rows = await outbox_rows(session, workspace, intents, now, scope, ritual_id, secret_key=secret_key)
    if anonymous:
        for row in rows:
            row["created_at"] = _hour_of(now)
    return await outbox.enqueue_many(session, rows)


async def outbox_rows(
    session: Session,
    workspace: Workspace,
    intents: Sequence[Intent],
    now: datetime,
    scope: str,
    ritual_id: int | None = None,
    *,
    secret_key: bytes = PROCESS_KEY,
) -> list[dict[str, object]]:
    """The outbox rows for the sendable intents (the scheduler writes many causes' rows at once)."""
    assert workspace.id is not None
    rows: list[dict[str, object]] = []
    for index, intent in enumerate(intents):
        if isinstance(intent, DirectMessage) and intent.sealed:
            # Sent through the receiver's own workspace (a linked organisation spans platforms); the
            # row itself keeps the acting one, so it does not show where the receiver is.
            receiver = await get_member(session, intent.member_id)
            rows.append(
                sealed_row(
                    workspace.id,
                    intent,
                    intent.key or f"{scope}:{index}",
                    now,
                    secret_key,
                    receiver_workspace_id=receiver.workspace_id if receiver else None,
                )
            )
            continue
        state = outbox.PENDING
        extra: dict[str, object] = {}
        send_at: datetime | None
        # A private message goes through the receiver's own workspace and platform (in a linked
        # organisation a Slack event can message someone in Teams); everything else where it was caused.
        through = workspace.id
        if isinstance(intent, PostToPlace):
            target_kind, target_id, send_at = "place", intent.place_id, now
        elif isinstance(intent, OpenGroup):
            # One target per group (each is its own conversation); the people and the place a platform
            # without group chats posts in travel in the payload.
            people = [await get_member(session, member_id) for member_id in intent.member_ids]
            extra = {"people": [m.platform_user_id for m in people if m], "place": intent.place_id}
            target_kind, target_id = GROUP, ",".join(str(i) for i in intent.member_ids)[:128]
            send_at = max(now, intent.not_before) if intent.not_before else now
        elif isinstance(intent, DirectMessage):
            member = await get_member(session, intent.member_id)
            if member is None:
                continue
            wanted = max(now, intent.not_before) if intent.not_before else now
            if not intent.respect_hours:  # asked for just now (an export's copy): goes at once
                send_at = wanted
            elif zone_known(member):
                send_at = personal_send_time(member, wanted)
            else:  # never timed on a guessed zone: held until Tend learns theirs (ensure_member releases)
                state, send_at = outbox.HELD, wanted
            if send_at is None:  # no working days at all: never reachable, so nothing to queue
                continue
            target_kind, target_id, through = "person", str(intent.member_id), member.workspace_id
        else:
            continue
        rows.append(
            {
                "workspace_id": through,
                "idempotency_key": intent.key or f"{scope}:{index}",
                "target_kind": target_kind,
                "target_id": target_id,
                "payload": json.dumps({"card": card_to_dict(intent.card), "ritual": ritual_id, **extra}),
                "state": state,
                "attempts": 0,
                "next_attempt_at": send_at,
                "created_at": now,
            }
        )
    return rows


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def sealed_row(
    workspace_id: int,
    intent: DirectMessage,
    key: str,
    now: datetime,
    secret_key: bytes,
    *,
    receiver_workspace_id: int | None = None,
) -> dict[str, object]:
    """An outbox row whose receiver and words are sealed: the table shows only that something waits.

    Its times say nothing about the receiver either: written to the hour, ready at once, and (when
    the receiver is out of hours) tried again on the next hour, whoever and wherever they are.
    """
    inner = {"member": intent.member_id, "card": card_to_dict(intent.card), "hours": intent.respect_hours}
    if receiver_workspace_id not in (None, workspace_id):
        inner["workspace"] = receiver_workspace_id
    return {
        "workspace_id": workspace_id,
        "idempotency_key": key,
        "target_kind": outbox.SEALED,
        "target_id": "",
        "payload": seal(secret_key, SEALED_PURPOSE, json.dumps(inner)),
        "state": outbox.PENDING,
        "attempts": 0,
        "next_attempt_at": _hour_of(now),
        "created_at": _hour_of(now),
    }


def open_sealed(row: Claimed, secret_key: bytes) -> Claimed | None:
    """The row as the person message it hides (None if this key cannot open it)."""
    opened = unseal(secret_key, SEALED_PURPOSE, row.payload)
    if opened is None:
        return None
    inner = json.loads(opened)
    payload = json.dumps({"card": inner["card"], "ritual": None, "hours": inner.get("hours", True)})
    workspace_id = int(inner.get("workspace") or row.workspace_id)  # the receiver's, when linked elsewhere
    return replace(
        row, workspace_id=workspace_id, target_kind="person", target_id=str(inner["member"]), payload=payload
    )


@dataclass(frozen=True)
class Sent:
    row_id: int
    message_ref: str | None


FORGET_PACING_AFTER = 10_000  # targets remembered before times already past are dropped
LEASE = timedelta(seconds=20)  # how long a claimed row is this worker's alone; renewed while held
RENEW_SHARE = 0.25  # held leases are renewed every quarter of their length
# A send starts only while at least this share of its row's lease is left; otherwise the row goes back
# to the queue, so a send never runs on a lease another replica may already have taken over.
LEASE_SHARE_FOR_SENDING = 0.5
# Tuning, each with what benchmarks/fanout.py (--tune NAME=VALUE, 2,000 prompts, PostgreSQL, single runs
# on 2026-12-04 under a load average near 11) shows it buys. MAX_PASSES: --tune MAX_PASSES=2 was within
# that noise (kept: the loop needs at least 2, and nothing showed 2 better or worse).
MAX_PASSES = 4  # passes of one backlog alive at once (older ones finishing, or waiting out gaps)
# A backlog's first pass claims this many rows per send allowed in flight: the first prompt went at
# 0.15 s, at 0.41 s with a full first claim (FIRST_PASS_PER_SEND=1000); on SQLite no difference.
FIRST_PASS_PER_SEND = 2
WAIT_IN_PASS = timedelta(seconds=2)  # longest pacing gap or retry a running pass waits out itself
TIMER_SLACK = 0.005  # seconds added to an in-pass wait, so a timer firing early is not too soon
RECHECK_SECONDS = 0.1  # an idle loop's next look when the ready row went to another replica
# While sends are under way, a result write waits this long at most for them to finish, so their
# results share its transaction: with FLUSH_WITHIN=0 the 2,000 prompts took 13.6 s instead of 8.3 s
# (efficiency 42 % instead of 89 %; the same CPU, more round trips); on SQLite no difference.
FLUSH_WITHIN = 0.005
# Seconds between tries of a result write that failed, first and longest: short, so that after an
# outage this process writes what it sent before another replica's claim can take those rows.
WRITE_RETRY = (0.1, 1.0)
FORGET_PACE_EVERY = timedelta(seconds=30)  # how often the waits that are over leave ``targetpace``


@dataclass
class _Results:
    """What sends and checks learned about rows, written back together in one transaction."""

    sent: list[tuple[int, str | None, datetime]] = field(default_factory=list)
    failed: list[tuple[int, str, datetime | None]] = field(default_factory=list)
    moved: list[tuple[int, datetime]] = field(default_factory=list)
    holds: list[tuple[Claimed, datetime]] = field(default_factory=list)
    delivered_sealed: list[int] = field(default_factory=list)  # deleted, not kept as sent
    notices: list[tuple[Workspace, Claimed, int, str]] = field(default_factory=list)
    unreachable: list[tuple[Workspace, Claimed]] = field(default_factory=list)
    paced: list[tuple[Target, datetime]] = field(default_factory=list)  # shared with other replicas

    def __len__(self) -> int:
        found = len(self.sent) + len(self.failed) + len(self.moved) + len(self.unreachable)
        return found + len(self.delivered_sealed)

    def empty(self) -> bool:
        return not (
            self.sent or self.failed or self.moved or self.holds or self.delivered_sealed
            or self.notices or self.unreachable or self.paced
        )  # fmt: skip

    def take(self) -> _Results:
        """Hands over what was noted so far and starts empty again."""
        taken = replace(self)
        for name in vars(self):
            setattr(self, name, [])
        return taken

    def add(self, other: _Results) -> None:
        for name in vars(self):
            getattr(self, name).extend(getattr(other, name))

    def sends_only(self) -> bool:
        """Only sent rows and their targets' pacing (no other kind of result)."""
        return not any(getattr(self, name) for name in vars(self) if name not in ("sent", "paced"))

    def row_ids(self) -> set[int]:
        """The rows these results settle (written, they are no longer leased to anyone)."""
        ids = {row_id for row_id, *_ in self.sent} | {row_id for row_id, *_ in self.failed}
        ids |= {row_id for row_id, _ in self.moved} | set(self.delivered_sealed)
        return ids | {row.id for _, row in self.unreachable}


class _Journal:
    """Results noted and not written yet. A write starts once the one before it has ended, after at
    most ``FLUSH_WITHIN`` more for sends still under way, and takes everything noted by then, so the
    results of sends that finish together share one write. A write that fails keeps them here and is
    tried again until the database takes it: a process that stays up loses no result and,
    meanwhile, sends none of those rows again (their sends keep their places among those in flight,
    so sending pauses after at most ``in_flight`` of them)."""

    def __init__(
        self, write: Callable[[_Results], Awaitable[None]], idle: Callable[[], Awaitable[None]]
    ) -> None:
        self._write = write
        self._idle = idle  # called once nothing is left to write (lets go of the writer's connection)
        self.pending = _Results()
        self.rows: set[int] = set()  # rows whose result waits here (or is being written)
        self._waiters: list[asyncio.Future[None]] = []  # told when ``pending`` is written
        self._writing: list[asyncio.Future[None]] | None = None  # told when the write under way ends
        self._task: asyncio.Task[None] | None = None
        self.failing_since: float | None = None  # loop time of the first failed write of an outage
        self.sending = 0  # sends under way: a write waits briefly for their results (``FLUSH_WITHIN``)
        self._gathering: asyncio.Event | None = None

    def add(self, results: _Results) -> None:
        if results.empty():
            return
        self.pending.add(results)
        self.rows |= results.row_ids()
        if self._task is None:
            self._task = asyncio.create_task(self._flush(), name="tend-delivery-results")

    def sent(
        self, row_id: int, message_ref: str | None, at: datetime, paced: tuple[Target, datetime] | None
    ) -> None:
        """``add`` for the one result every send has (the hot path: no batch of its own)."""
        self.pending.sent.append((row_id, message_ref, at))
        if paced is not None:
            self.pending.paced.append(paced)
        self.rows.add(row_id)
        if self._task is None:
            self._task = asyncio.create_task(self._flush(), name="tend-delivery-results")

    def written(self) -> asyncio.Future[None]:
        """Done once everything noted so far is written."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.pending.empty():
            self._waiters.append(future)
        elif self._writing is not None:
            self._writing.append(future)
        else:
            future.set_result(None)
        return future

    def nudge(self) -> None:
        """Ends a write's short wait for more results once no send is under way."""
        if self._gathering is not None and not self.sending:
            self._gathering.set()

    async def _gather(self) -> None:
        self._gathering = gathering = asyncio.Event()
        timer = asyncio.get_running_loop().call_later(FLUSH_WITHIN, gathering.set)
        try:
            await gathering.wait()
        finally:
            timer.cancel()
            self._gathering = None

    async def _flush(self) -> None:
        delay = WRITE_RETRY[0]
        try:
            while not self.pending.empty():
                if self.sending:
                    await self._gather()
                taken, self.pending = self.pending, _Results()
                self._writing, self._waiters = self._waiters, []
                try:
                    await self._write(taken)
                except BaseException as error:
                    taken.add(self.pending)  # kept, in the order noted, for the next try
                    self.pending = taken
                    self._waiters = self._writing + self._waiters
                    self._writing = None
                    if not isinstance(error, Exception):
                        raise
                    self._failed(error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, WRITE_RETRY[1])
                    continue
                if self.failing_since is not None:
                    log_event(logger, "delivery results written again", kept=len(taken))
                    self.failing_since = None
                delay = WRITE_RETRY[0]
                self.rows = self.pending.row_ids()
                for waiter in self._writing:
                    if not waiter.done():
                        waiter.set_result(None)
                self._writing = None
        finally:
            self._task = None
            await self._idle()

    def _failed(self, error: Exception) -> None:
        if self.failing_since is None:
            self.failing_since = asyncio.get_running_loop().time()
            log_event(
                logger,
                "delivery results not written",
                level=logging.WARNING,
                error=type(error).__name__,
                kept=len(self.pending),
                outcome="retrying",
            )


@dataclass
class _Lease:
    """This worker's hold on one claimed row: until when, renewed while the row is held."""

    until: datetime


@dataclass
class _Pass:
    claimed: list[Claimed]
    workspaces: dict[int, Workspace]
    members: dict[int, Recipient]
    results: _Results = field(default_factory=_Results)
    delivered: list[Sent] = field(default_factory=list)
    done: set[int] = field(default_factory=set)  # rows with a result (or whose send was started)
    waiting: set[int] = field(default_factory=set)  # rows held in this pass for their target's turn
    started: asyncio.Event | None = None  # set once every claimed row is done or waiting
    patient: bool = False  # may wait in memory for a short pacing gap instead of requeueing the row
    sealed: set[int] = field(default_factory=set)  # rows that were sealed in the outbox
    leases: dict[int, _Lease] = field(default_factory=dict)  # this pass's holds, by row id

    def start(self, ids: Iterable[int]) -> None:
        ids = set(ids)
        self.done |= ids
        self.waiting -= ids
        self._check()

    def wait(self, ids: Iterable[int]) -> None:
        self.waiting |= set(ids) - self.done
        self._check()

    def _check(self) -> None:
        if self.started is not None and len(self.done) + len(self.waiting) >= len(self.claimed):
            self.started.set()


class DeliveryWorker:
    """Sends what the outbox holds; safe to run in every replica at once.

    A pass claims a batch of ready rows, sends to different targets concurrently (at most
    ``in_flight`` at a time, over all of this worker's passes) and one target's rows one after
    another, in order and paced. A send keeps its place among the ``in_flight`` until its result is
    written, so however the process ends, at most ``in_flight`` messages were sent without a record.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        senders: Mapping[str, Sender],
        *,
        metrics: Metrics | None = None,
        max_attempts: int = 6,
        lease: timedelta = LEASE,
        pacing: Mapping[str, timedelta] | None = None,
        in_flight: int = 32,
        secret_key: bytes = PROCESS_KEY,
    ) -> None:
        self.database = database
        self.clock = clock
        self.senders = senders
        self.metrics = metrics or Metrics()
        self.max_attempts = max_attempts
        self.lease = lease
        self.pacing = dict(PACING if pacing is None else pacing)
        self.in_flight = in_flight
        self.secret_key = secret_key  # opens sealed rows (anonymous relays) just before sending
        self.owner = uuid.uuid4().hex  # names this worker's rows in ``targetpace``
        # When a target may next get a message from this worker (pacing, or a retry it waits for).
        self._not_before: dict[tuple[int, str, str], datetime] = {}
        # Targets one of this worker's passes is sending to; set when that pass's turn there ends.
        self._busy: dict[tuple[int, str, str], asyncio.Event] = {}
        self._after_retry: set[tuple[int, str, str]] = set()  # targets whose last send failed
        self._wake: asyncio.Event | None = None
        self._stopping = False  # ``stop_soon``: ``run`` ends after its round
        self._write_lock: asyncio.Lock | None = None
        self._gate: asyncio.Semaphore | None = None
        self._sent_writer = outbox.SentWriter(database)  # the short write of sends alone
        self._journal = _Journal(self._record, self._sent_writer.close)
        self._held: dict[int, _Lease] = {}  # rows claimed by this worker whose result is not written
        self._renewing: asyncio.Task[None] | None = None
        self._none_held: asyncio.Event | None = None
        self._pace_forgotten_at: datetime | None = None
        # Replicas share the gap after each send through the database; SQLite serves one process,
        # which keeps it in memory (a 429's Retry-After is written on both, so a restart keeps it).
        self._share_pacing = not database.is_sqlite

    def _writes(self) -> contextlib.AbstractAsyncContextManager[object]:
        """On SQLite, this worker's claims, lease renewals and result writes one at a time: they
        queue here instead of in SQLite's busy handler, which sleeps in steps of up to 100 ms. On
        PostgreSQL they run side by side: a result write never waits for a claim of 500 rows."""
        if not self.database.is_sqlite:
            return contextlib.nullcontext()
        return self._leases()

    def _leases(self) -> asyncio.Lock:
        """Result writes and lease renewals one at a time: a write reads the leases it checks rows
        against (``_held``), which a renewal changes once it has committed."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    def _sends(self) -> asyncio.Semaphore:
        """The ``in_flight`` places every pass of this worker shares: one is held from the start of a
        send until its result is written."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.in_flight)
        return self._gate

    def backoff(self, attempts: int) -> timedelta:
        return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), timedelta(hours=1))

    async def deliver_due(self, limit: int = 50) -> list[Sent]:
        """One pass: claim up to ``limit`` ready rows, send them, record the results."""
        return (await self._pass(limit, self._sends())).delivered

    async def deliver_backlog(self, limit: int = 500) -> int:
        """Passes back to back until one finds nothing ready; returns how many rows were claimed.

        The next pass claims as soon as every row of the current one is under way or waiting out
        its target's pacing gap in memory, so sends still finishing overlap the next claim; at most
        ``MAX_PASSES`` passes and ``in_flight`` sends at once. The first pass is small, so the first
        messages go out while the next, full claim is read.
        """
        gate = self._sends()
        passes: list[asyncio.Task[_Pass]] = []
        claimed = 0
        size = min(limit, FIRST_PASS_PER_SEND * self.in_flight)
        try:
            while True:
                started = asyncio.Event()
                passes.append(asyncio.create_task(self._pass(size, gate, started)))
                size = limit
                await started.wait()
                if self._stopping:  # a shutdown: the passes under way finish, no new one starts
                    while passes:
                        claimed += len((await passes.pop(0)).claimed)
                    return claimed
                if len(passes) == MAX_PASSES:
                    claimed += len((await passes.pop(0)).claimed)
                if passes[-1].done() and not passes[-1].result().claimed:  # nothing left ready
                    while passes:
                        claimed += len((await passes.pop(0)).claimed)
                    return claimed
        finally:
            for running in passes:
                running.cancel()  # only on an error or cancellation: a pass normally ends first
            await asyncio.gather(*passes, return_exceptions=True)

    def stop_soon(self) -> None:
        """Ends ``run`` after its current round (a pass under way finishes and writes its results), so
        a shutdown need not cancel it in the middle of a query."""
        self._stopping = True
        self.wake()

    def wake(self) -> None:
        """Tells a running ``run`` loop that rows may be ready now (the scheduler or an event just
        wrote some): the engine sends nothing itself, it wakes this loop."""
        if self._wake is not None:
            self._wake.set()

    async def run(self, *, idle_seconds: float = 2.0, limit: int = 500) -> None:
        """Delivers until cancelled: passes back to back while rows are ready, then sleeps until the
        next row's time (at most ``idle_seconds``, or until ``wake``). An idle round is one small
        read (two index-backed MIN lookups), not a claim."""
        self._wake = asyncio.Event()
        while not self._stopping:
            claimed = 0
            # Cleared before looking, not before sleeping: a wake that comes while this round reads
            # or sends (an event committed just after the read) ends the sleep at once, not 2 s on.
            self._wake.clear()
            try:
                async with self.database.session() as session:
                    ready_at = await outbox.next_ready_at(session)
                if ready_at is not None and ready_at <= self.clock.now():
                    claimed = await self.deliver_backlog(limit)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database restarting must not end delivery for good
                logger.exception("delivery pass failed")
                ready_at = None
            if claimed or self._stopping:
                continue
            now = self.clock.now()
            if ready_at is None:
                wait = idle_seconds
            elif ready_at <= now:  # ready, yet another replica claimed it first
                wait = min(idle_seconds, RECHECK_SECONDS)
            else:
                wait = min(idle_seconds, (ready_at - now).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _pass(self, limit: int, gate: asyncio.Semaphore, started: asyncio.Event | None = None) -> _Pass:
        """Claims, sends to different targets concurrently, records; sets ``started`` once every
        claimed row is under way (or the pass is over)."""
        work = _Pass([], {}, {}, started=started, patient=started is not None)
        try:
            async with self._writes(), self.database.session() as session:
                now = self.clock.now()
                claimed = await outbox.claim(session, now, self.lease, limit, self.owner)
                if not claimed:
                    return work
                self._hold(work, claimed)
                # A row whose last result still waits in memory (the database was away long enough
                # for its lease to run out) is not sent again: that result is written instead.
                work.claimed = [row for row in claimed if row.id not in self._journal.rows]
                if any(row.target_kind == outbox.SEALED for row in work.claimed):
                    work.claimed = self._open_sealed(work)
                    await self._sealed_waits(session, work, now)
                workspaces = {row.workspace_id for row in work.claimed}
                people = {int(row.target_id) for row in work.claimed if row.target_kind == "person"}
                work.workspaces = await outbox.workspaces_by_id(session, workspaces)
                work.members = await outbox.recipients_by_id(session, people)
            await self._send_claimed(work, gate)
            return work
        finally:
            if started is not None:
                started.set()

    def _open_sealed(self, work: _Pass) -> list[Claimed]:
        """Claimed rows with every sealed one opened; one this key cannot open is parked (it was
        sealed under a key Tend no longer has, so it can never be sent)."""
        opened: list[Claimed] = []
        for row in work.claimed:
            if row.target_kind != outbox.SEALED:
                opened.append(row)
                continue
            found = open_sealed(row, self.secret_key)
            if found is None:
                work.results.failed.append((row.id, "sealed under another TEND_SECRET_KEY", None))
                continue
            work.sealed.add(row.id)
            opened.append(found)
        return opened

    async def _sealed_waits(self, session: Session, work: _Pass, now: datetime) -> None:
        """A sealed row's target is known only once opened, so the claim could not check whether
        another replica is pacing it: that is read here (only read; nothing is written for it)."""
        targets = {row.target for row in work.claimed if row.id in work.sealed}
        for target, until in (await outbox.paced_until(session, targets, now)).items():
            self._not_before[target] = max(until, self._not_before.get(target, until))

    async def _send_claimed(self, work: _Pass, gate: asyncio.Semaphore) -> None:
        targets: dict[tuple[int, str, str], list[Claimed]] = {}
        for row in work.claimed:
            targets.setdefault(row.target, []).append(row)
        try:
            sending = (self._target(work, rows, gate) for rows in targets.values())
            outcomes = await asyncio.gather(*sending, return_exceptions=True)
        finally:
            # Also on cancellation: what was sent is written, and rows not yet tried go back to the
            # queue at once. A row whose send was under way keeps its lease (it may have arrived):
            # this worker lets go of it, so the lease runs out and another claim sends it.
            moment = self.clock.now()
            work.results.moved += [(row.id, moment) for row in work.claimed if row.id not in work.done]
            self._journal.add(work.results.take())
            for row_id, lease in work.leases.items():
                if self._held.get(row_id) is lease and row_id not in self._journal.rows:
                    self._release(row_id)
            await self._journal.written()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _target(self, work: _Pass, rows: list[Claimed], gate: asyncio.Semaphore) -> None:
        """One target's rows, in order: after each one that reaches the platform the rest wait for
        the pacing gap (or a retry), in this pass when the gap is short and the pass may wait,
        otherwise back in the outbox; so the target sees them in order and never too fast."""
        target = rows[0].target
        if target in self._busy:
            work.wait(row.id for row in rows)
            while (busy := self._busy.get(target)) is not None:  # another of this worker's passes
                await busy.wait()  # is sending there: its outcome (pacing, a retry) decides
        turn = self._busy[target] = asyncio.Event()
        try:
            not_before = self._not_before.get(target)
            patient = target not in self._after_retry  # a retry waits in the outbox, so must those
            if not_before is not None and not await self._wait_until(work, rows, not_before, patient):
                self._requeue(work, rows, not_before)
                return
            workspace = work.workspaces.get(rows[0].workspace_id)
            for index, row in enumerate(rows):
                async with gate:  # held until the result of a send is written
                    until, sent = await self._one(work, row, workspace)
                    if not work.results.empty():
                        self._journal.add(work.results.take())
                    if sent:
                        await self._journal.written()
                if until is not None:
                    self._not_before[target] = until
                    rest = rows[index + 1 :]
                    patient = target not in self._after_retry
                    if rest and not await self._wait_until(work, rest, until, patient):
                        self._requeue(work, rest, until)
                        return
        finally:
            del self._busy[target]
            turn.set()
            if len(self._not_before) > FORGET_PACING_AFTER:
                now = self.clock.now()
                self._not_before = {key: when for key, when in self._not_before.items() if when > now}
                self._after_retry &= set(self._not_before)

    def _lease_left(self, row: Claimed, at: datetime) -> timedelta | None:
        """How much of this worker's lease on ``row`` is left at ``at`` (None: it is not held)."""
        lease = self._held.get(row.id)
        return None if lease is None else lease.until - at

    def _may_send_at(self, row: Claimed, at: datetime) -> bool:
        left = self._lease_left(row, at)
        return left is not None and left >= self.lease * LEASE_SHARE_FOR_SENDING

    async def _wait_until(self, work: _Pass, rows: Sequence[Claimed], until: datetime, patient: bool) -> bool:
        """Waits in this pass for a short gap; False when the rows should go back to the outbox.

        Never after a failed send: the failed row waits in the outbox for its retry, and the rows
        behind it must not overtake it, so they wait there too (behind it in claim order)."""
        gap = (until - self.clock.now()).total_seconds()
        if gap <= 0:
            return True
        if (
            not (work.patient and patient)
            or gap > WAIT_IN_PASS.total_seconds()
            or not self._may_send_at(rows[0], until)
        ):
            return False
        work.wait(row.id for row in rows)
        await asyncio.sleep(gap + TIMER_SLACK)
        return self.clock.now() >= until  # a clock that does not follow real time: requeue instead

    def _requeue(self, work: _Pass, rows: Sequence[Claimed], until: datetime) -> None:
        work.results.moved += [(row.id, until) for row in rows if row.id not in work.done]
        work.start(row.id for row in rows)

    async def _one(
        self, work: _Pass, row: Claimed, workspace: Workspace | None
    ) -> tuple[datetime | None, bool]:
        """Checks, sends and notes the result of one row; returns when the target's next row may go
        (None: at once, nothing reached the platform or pacing is off) and whether it was sent."""
        results = work.results
        now = self.clock.now()
        if row.id in work.done:  # a person made unreachable earlier in this pass
            return None, False
        work.start([row.id])
        if row.id not in self._held:  # its lease could not be renewed: the row may be another's now
            return None, False
        if workspace is None or not workspace.active:
            results.failed.append((row.id, "workspace inactive", None))
            return None, False
        member = work.members.get(int(row.target_id)) if row.target_kind == "person" else None
        if row.target_kind == "person" and member is None:
            results.failed.append((row.id, "member not found", None))
            return None, False
        if member is not None and member.unreachable:
            # They blocked or removed Tend; nothing goes to them until they write to Tend again.
            results.failed.append((row.id, UNREACHABLE, None))
            return None, False
        sealed = row.id in work.sealed
        data = json.loads(row.payload)
        hours = hours_of(member) if member is not None and data.get("hours", True) else None
        if sealed and member is not None and not member.profile_known and member.time_zone == UNSET_TIME_ZONE:
            # A sealed row cannot be held by receiver like others (nobody may read whose it is): it
            # waits for the person's own zone by trying again on the next whole hour.
            results.moved.append((row.id, _hour_of(now) + timedelta(hours=1)))
            return None, False
        if hours is not None and not is_within(hours, now):
            # Hours or a pause changed since the row was written: hold it for the next window. A
            # sealed row just tries again next hour: its next time must not show whose hours they are.
            later = next_send_time(hours, now)
            if later is None:
                results.failed.append((row.id, "no working hours", None))
            else:
                results.moved.append((row.id, _hour_of(now) + timedelta(hours=1) if sealed else later))
            return None, False
        if not self._may_send_at(row, now):
            results.moved.append((row.id, now))  # the pass took too long: let a fresh claim send it
            return None, False
        card = card_from_dict(data["card"])
        interval = self.pacing.get(workspace.platform, timedelta())
        self._journal.sending += 1
        try:
            message_ref = await self._send(workspace, row, member, card)
        except (SendError, UnsupportedByPlatform) as error:
            return self._after_failure(work, workspace, row, error, interval, sealed), False
        finally:
            self._journal.sending -= 1
            self._journal.nudge()
        sent_at = self.clock.now()
        self._after_retry.discard(row.target)
        work.delivered.append(Sent(row.id, message_ref))
        self.metrics.messages_sent.inc(platform=workspace.platform)
        until = sent_at + interval if interval else None
        if sealed:  # no row, and no log line that names the row or its receiver, once it is sent
            results.delivered_sealed.append(row.id)
            log_event(logger, "message sent", platform=workspace.platform, target=outbox.SEALED)
            return until, True
        paced = (row.target, until) if until is not None and self._share_pacing else None
        self._journal.sent(row.id, message_ref, sent_at, paced)
        log_event(
            logger,
            "message sent",
            platform=workspace.platform,
            workspace=workspace.id or 0,
            ritual=data.get("ritual") or 0,
            target=row.target_kind,
            outbox=row.id,
        )
        return until, True

    def _after_failure(
        self,
        work: _Pass,
        workspace: Workspace,
        row: Claimed,
        error: Exception,
        interval: timedelta,
        sealed: bool,
    ) -> datetime | None:
        """Notes a failed send; returns when the target may get its next message (None: at once)."""
        retry_at = self._failed(work, workspace, row, error)
        now = self.clock.now()
        next_at = now + interval
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            # The platform's wait holds for the target, whatever becomes of this message, and for
            # every replica (not for a sealed one's receiver: the database must not learn who that is).
            waited = now + timedelta(seconds=float(retry_after))
            next_at = max(next_at, waited)
            if not sealed:
                work.results.paced.append((row.target, waited))
        if retry_at is not None:
            self._after_retry.add(row.target)
            work.results.holds.append((row, retry_at))
            next_at = max(next_at, retry_at)
        return next_at if next_at > now else None

    async def _send(
        self, workspace: Workspace, row: Claimed, member: Recipient | None, card: Card
    ) -> str | None:
        sender = self.senders.get(workspace.platform)
        if sender is None:
            raise UnsupportedByPlatform(f"no sender for {workspace.platform}")
        if member is not None:
            return await sender.direct(workspace.external_id, member.platform_user_id, card)
        if row.target_kind == GROUP:
            data = json.loads(row.payload)
            people = [str(p) for p in data.get("people", [])]
            return await sender.open_group(workspace.external_id, people, str(data.get("place", "")), card)
        return await sender.post(workspace.external_id, row.target_id, card)

    def _failed(self, work: _Pass, workspace: Workspace, row: Claimed, error: Exception) -> datetime | None:
        """Notes a failed send; returns when it is tried again (None: parked).

        A 429 (``retry_after``) is not an attempt: the platform asks Tend to wait, nothing is wrong
        with the message, so throttling alone never parks one."""
        now = self.clock.now()
        permanent = isinstance(error, UnsupportedByPlatform) or getattr(error, "permanent", False)
        retry_after = getattr(error, "retry_after", None)
        self.metrics.messages_failed.inc(platform=workspace.platform)
        retry_at: datetime | None
        if retry_after is not None and not permanent:
            retry_at = now + timedelta(seconds=float(retry_after))
            work.results.moved.append((row.id, retry_at))
            log_event(
                logger,
                "message failed",
                level=logging.WARNING,
                platform=workspace.platform,
                workspace=workspace.id or 0,
                outbox=row.id,
                attempts=row.attempts,
                outcome="throttled",
            )
            return retry_at
        attempts = row.attempts + 1
        retry_at = None if permanent or attempts >= self.max_attempts else now + self.backoff(attempts)
        if getattr(error, "unreachable", False) and row.target_kind == "person":
            # The platform refused private messages to this person: stop, and drop what waits for them.
            work.results.unreachable.append((workspace, row))
            work.start(other.id for other in work.claimed if other.target == row.target)
            return None
        log_event(
            logger,
            "message failed",
            level=logging.WARNING,
            platform=workspace.platform,
            workspace=workspace.id or 0,
            outbox=row.id,
            attempts=attempts,
            outcome="parked" if retry_at is None else "retry",
        )
        work.results.failed.append((row.id, f"{type(error).__name__}: {error}", retry_at))
        if retry_at is None and not row.idempotency_key.startswith("parked:"):
            work.results.notices.append((workspace, row, attempts, str(error)))
        return retry_at

    # --- leases: held while a row is this worker's, renewed, let go of once its result is written ----

    def _hold(self, work: _Pass, rows: Sequence[Claimed]) -> None:
        for row in rows:
            work.leases[row.id] = self._held[row.id] = _Lease(row.lease_until)
        if self._none_held is not None:
            self._none_held.clear()
        if self._renewing is None:
            self._renewing = asyncio.create_task(self._renew(), name="tend-delivery-leases")

    def _release(self, row_id: int) -> None:
        self._held.pop(row_id, None)
        if not self._held and self._none_held is not None:
            self._none_held.set()

    async def _renew(self) -> None:
        """While this worker holds rows (a long pass, a slow send, results waiting for the
        database), renews their leases every quarter of a lease, so no other worker takes them."""
        self._none_held = asyncio.Event()
        try:
            while self._held:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._none_held.wait(), self.lease.total_seconds() * RENEW_SHARE)
                try:
                    await self._renew_due()
                except Exception as error:  # the database is away: the next round tries again
                    log_event(logger, "leases not renewed", level=logging.WARNING, error=type(error).__name__)
        finally:
            self._renewing = None

    async def _renew_due(self) -> None:
        now = self.clock.now()
        due: dict[datetime, list[int]] = {}  # by the lease's current end, as the database has it
        for row_id, lease in self._held.items():
            if lease.until - now <= self.lease * (1 - RENEW_SHARE):
                due.setdefault(lease.until, []).append(row_id)
        if not due:
            return
        until = now + self.lease
        async with self._leases():
            async with self.database.session() as session:
                renewed = {old: await outbox.renew(session, ids, old, until) for old, ids in due.items()}
            for old, ids in due.items():
                for row_id in ids:
                    held = self._held.get(row_id)
                    if held is None or held.until != old:
                        continue
                    if row_id in renewed[old]:
                        held.until = until
                    elif old <= now:  # it ran out and another worker took it: no longer this one's
                        self._release(row_id)

    async def _record(self, results: _Results) -> None:
        """Writes a batch of results (the journal calls this): sends alone, the usual case, in one
        statement where the database allows it; anything else in one transaction."""
        now = self.clock.now()
        forget = self._pace_forgotten_at is None or now - self._pace_forgotten_at >= FORGET_PACE_EVERY
        if results.sends_only() and not forget:
            await self._sent_writer.write(results.sent, results.paced, self.owner)
            for row_id, _, _ in results.sent:
                self._release(row_id)
            return
        async with self._leases():
            held = {row_id: lease.until for row_id in results.row_ids() if (lease := self._held.get(row_id))}
            async with self.database.session() as session:
                await outbox.reschedule_many(session, results.moved, held)
                await outbox.mark_failed_many(session, results.failed, held)
                for row, until in results.holds:
                    await outbox.hold_behind(session, row, until)
                await outbox.mark_sent_many(session, results.sent)
                await outbox.delete_many(session, results.delivered_sealed)
                await outbox.pace_many(session, results.paced, self.owner)
                if forget:
                    await outbox.forget_pace(session, now)
                for workspace, row, attempts, error in results.notices:
                    await self._notify_admins(session, workspace, row, attempts, error, now)
                for workspace, row in results.unreachable:
                    await self._unreachable(session, workspace, row)
            if forget:
                self._pace_forgotten_at = now
            for row_id in results.row_ids():
                self._release(row_id)

    async def _unreachable(self, session: Session, workspace: Workspace, row: Claimed) -> None:
        assert workspace.id is not None
        member_id = int(row.target_id)
        await outbox.mark_failed(session, row.id, UNREACHABLE, None)
        await addresses.set_unreachable(session, member_id, True)
        dropped = await outbox.drop_pending_for_member(session, workspace.id, member_id, UNREACHABLE)
        log_event(
            logger,
            "member unreachable",
            level=logging.WARNING,
            platform=workspace.platform,
            workspace=workspace.id,
            outbox=row.id,
            dropped=dropped,
        )

    async def _notify_admins(
        self, session: Session, workspace: Workspace, row: Claimed, attempts: int, error: str, now: datetime
    ) -> None:
        # A Place part: Teams shows "a channel", never its raw 19: id; the error is the platform's words.
        target = Place(row.target_id) if row.target_kind == "place" else "a person's private chat"
        card = text_card(
            compose(PARKED_NOTICE, attempts=attempts, target=target, error=Said(error[:200])),
            "A message could not be delivered",
        )
        admins = await members_with_role(session, workspace.id or 0, "admin")
        notices = [DirectMessage(admin.id or 0, card, key=f"parked:{row.id}:{admin.id}") for admin in admins]
        await enqueue_intents(session, workspace, notices, now, f"parked:{row.id}")
