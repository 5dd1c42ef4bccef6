"""Outbox in, platform out: the only path by which Tend posts or sends a private message.

Writing: ``enqueue_intents`` turns a practice's intents into outbox rows inside the practice's own
transaction; a personal message gets its send time from the person's working hours and pause.
Sending: ``DeliveryWorker.deliver_due`` claims ready rows, sends them through the platform's
``Sender``, and records the result. A 429 waits for Retry-After, other failures back off, a message
is parked after its last attempt with a notice to the workspace's admins, and sends to one channel
are paced. Because the row is claimed with a lease before sending, a crash between claim and send
delays a message; it never loses or doubles one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.errors import SendError, UnsupportedByPlatform
from bot.logs import log_event
from bot.metrics import Metrics
from bot.ports import Sender
from practices.hours import WorkingHours, is_within, next_send_time
from practices.messages import (
    Card,
    DirectMessage,
    Intent,
    PostToPlace,
    card_from_dict,
    card_to_dict,
    text_card,
)
from storage import addresses, outbox
from storage.db import Database, Session
from storage.identity import get_member, members_with_role
from storage.models import Member, Outbox, Workspace

logger = logging.getLogger("tend.delivery")

PARKED_NOTICE = (
    "A message from Tend could not be delivered after {attempts} attempts (to {target}) and has been "
    "set aside. The last error was: {error}. Check that Tend is still in that channel or conversation."
)


UNREACHABLE = "unreachable: the person blocked or removed Tend"

# The gap between two messages to one channel or person, per platform (published limits: Slack about
# one chat.postMessage per second per channel; Teams 7 per second per conversation).
PACING: dict[str, timedelta] = {"slack": timedelta(seconds=1), "teams": timedelta(milliseconds=150)}


def hours_of(member: Member) -> WorkingHours:
    return WorkingHours.of(
        member.time_zone, member.work_days, member.work_start, member.work_end, member.paused_until
    )


def personal_send_time(member: Member, wanted: datetime) -> datetime | None:
    """When a personal message may go: inside the person's hours, not while they are paused."""
    return next_send_time(hours_of(member), wanted)


async def enqueue_intents(
    session: Session,
    workspace: Workspace,
    intents: Sequence[Intent],
    now: datetime,
    scope: str,
    ritual_id: int | None = None,
) -> int:
    """Writes the sendable intents as outbox rows; returns how many were new.

    ``scope`` names the cause (an event id, an occurrence) so the same cause always yields the same
    keys: handling it again writes nothing new.
    """
    rows = await outbox_rows(session, workspace, intents, now, scope, ritual_id)
    return await outbox.enqueue_many(session, rows)


async def outbox_rows(
    session: Session,
    workspace: Workspace,
    intents: Sequence[Intent],
    now: datetime,
    scope: str,
    ritual_id: int | None = None,
) -> list[dict[str, object]]:
    """The outbox rows for the sendable intents (the scheduler writes many causes' rows at once)."""
    assert workspace.id is not None
    rows: list[dict[str, object]] = []
    for index, intent in enumerate(intents):
        if isinstance(intent, PostToPlace):
            target_kind, target_id, send_at = "place", intent.place_id, now
        elif isinstance(intent, DirectMessage):
            member = await get_member(session, intent.member_id)
            if member is None:
                continue
            wanted = max(now, intent.not_before) if intent.not_before else now
            send_at = personal_send_time(member, wanted) if intent.respect_hours else wanted
            if send_at is None:  # no working days at all: never reachable, so nothing to queue
                continue
            target_kind, target_id = "person", str(intent.member_id)
        else:
            continue
        rows.append(
            {
                "workspace_id": workspace.id,
                "idempotency_key": intent.key or f"{scope}:{index}",
                "target_kind": target_kind,
                "target_id": target_id,
                "payload": json.dumps({"card": card_to_dict(intent.card), "ritual": ritual_id}),
                "state": outbox.PENDING,
                "attempts": 0,
                "next_attempt_at": send_at,
                "created_at": now,
            }
        )
    return rows


@dataclass(frozen=True)
class Sent:
    row_id: int
    message_ref: str | None


class DeliveryWorker:
    """Sends what the outbox holds; safe to run in every replica at once."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        senders: Mapping[str, Sender],
        *,
        metrics: Metrics | None = None,
        max_attempts: int = 6,
        lease: timedelta = timedelta(seconds=60),
        pacing: Mapping[str, timedelta] | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.senders = senders
        self.metrics = metrics or Metrics()
        self.max_attempts = max_attempts
        self.lease = lease
        self.pacing = dict(PACING if pacing is None else pacing)
        self._last_send: dict[tuple[int, str], datetime] = {}

    def backoff(self, attempts: int) -> timedelta:
        return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), timedelta(hours=1))

    async def deliver_due(self, limit: int = 50) -> list[Sent]:
        """One pass: claim what is ready, send it, record each result in its own transaction."""
        now = self.clock.now()
        async with self.database.session() as session:
            rows = await outbox.claim(session, now, self.lease, limit)
            for row in rows:
                session.expunge(row)
        delivered: list[Sent] = []
        for row in rows:
            result = await self._deliver(row)
            if result is not None:
                delivered.append(result)
        return delivered

    async def _deliver(self, row: Outbox) -> Sent | None:
        assert row.id is not None
        now = self.clock.now()
        async with self.database.session() as session:
            workspace = await session.get(Workspace, row.workspace_id)
            member = await get_member(session, int(row.target_id)) if row.target_kind == "person" else None
        if workspace is None or not workspace.active:
            async with self.database.session() as session:
                await outbox.mark_failed(session, row.id, "workspace inactive", None)
            return None
        if member is not None and member.unreachable:
            # They blocked or removed Tend; nothing goes to them until they write to Tend again.
            async with self.database.session() as session:
                await outbox.mark_failed(session, row.id, UNREACHABLE, None)
            return None
        if member is not None and not is_within(hours_of(member), now):
            # Hours or a pause changed since the row was written: hold it for the next window.
            later = personal_send_time(member, now)
            async with self.database.session() as session:
                if later is None:
                    await outbox.mark_failed(session, row.id, "no working hours", None)
                else:
                    await outbox.reschedule(session, row.id, later)
            return None
        pace_key = (row.workspace_id, f"{row.target_kind}:{row.target_id}")
        interval = self.pacing.get(workspace.platform, timedelta())
        last = self._last_send.get(pace_key)
        if last is not None and now - last < interval:
            async with self.database.session() as session:
                await outbox.reschedule(session, row.id, last + interval)
            return None
        data = json.loads(row.payload)
        card = card_from_dict(data["card"])
        ritual = data.get("ritual") or 0
        try:
            message_ref = await self._send(workspace, row, member, card)
        except (SendError, UnsupportedByPlatform) as error:
            await self._failed(workspace, row, error)
            return None
        self._last_send[pace_key] = self.clock.now()
        async with self.database.session() as session:
            await outbox.mark_sent(session, row.id, message_ref, self.clock.now())
        self.metrics.messages_sent.inc(platform=workspace.platform)
        log_event(
            logger,
            "message sent",
            platform=workspace.platform,
            workspace=workspace.id or 0,
            ritual=ritual,
            target=row.target_kind,
            outbox=row.id,
        )
        return Sent(row.id, message_ref)

    async def _send(self, workspace: Workspace, row: Outbox, member: Member | None, card: Card) -> str | None:
        sender = self.senders.get(workspace.platform)
        if sender is None:
            raise UnsupportedByPlatform(f"no sender for {workspace.platform}")
        if member is not None:
            return await sender.direct(workspace.external_id, member.platform_user_id, card)
        return await sender.post(workspace.external_id, row.target_id, card)

    async def _failed(self, workspace: Workspace, row: Outbox, error: Exception) -> None:
        assert row.id is not None
        now = self.clock.now()
        attempts = row.attempts + 1
        permanent = isinstance(error, UnsupportedByPlatform) or getattr(error, "permanent", False)
        retry_after = getattr(error, "retry_after", None)
        if permanent or attempts >= self.max_attempts:
            retry_at = None
        elif retry_after is not None:
            retry_at = now + timedelta(seconds=float(retry_after))
        else:
            retry_at = now + self.backoff(attempts)
        self.metrics.messages_failed.inc(platform=workspace.platform)
        if getattr(error, "unreachable", False) and row.target_kind == "person":
            await self._unreachable(workspace, row)
            return
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
        async with self.database.session() as session:
            await outbox.mark_failed(session, row.id, f"{type(error).__name__}: {error}", retry_at)
            if retry_at is None and not row.idempotency_key.startswith("parked:"):
                await self._notify_admins(session, workspace, row, attempts, str(error), now)

    async def _unreachable(self, workspace: Workspace, row: Outbox) -> None:
        """The platform refused private messages to this person: stop, and drop what waits for them."""
        assert row.id is not None and workspace.id is not None
        member_id = int(row.target_id)
        async with self.database.session() as session:
            await outbox.mark_failed(session, row.id, UNREACHABLE, None)
            await addresses.set_unreachable(session, member_id, True)
            dropped = await addresses.drop_pending_for_member(session, workspace.id, member_id, UNREACHABLE)
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
        self, session: Session, workspace: Workspace, row: Outbox, attempts: int, error: str, now: datetime
    ) -> None:
        target = f"#{row.target_id}" if row.target_kind == "place" else "a person's private chat"
        card = text_card(
            PARKED_NOTICE.format(attempts=attempts, target=target, error=error[:200]),
            "A message could not be delivered",
        )
        admins = await members_with_role(session, workspace.id or 0, "admin")
        notices = [DirectMessage(admin.id or 0, card, key=f"parked:{row.id}:{admin.id}") for admin in admins]
        await enqueue_intents(session, workspace, notices, now, f"parked:{row.id}")
