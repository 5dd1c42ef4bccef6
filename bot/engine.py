"""The engine: one inbound event in, intents carried out.

The pipeline for every event is the same on every platform: ignore bots → de-duplicate → tenant
(workspace and member on first contact) → route to a practice → carry out its intents → log.
Practices decide; the engine does. Answers meant for the actor in context (a private reply, a form
to open) are handed back to the adapter, because only it can show them there (ephemeral message,
trigger id, console prompt). Nothing is sent to a platform while an event is handled: messages go to
the outbox and the delivery worker is woken to send them (``bot/delivery.py``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from bot.cards import update_cards
from bot.clock import Clock
from bot.delivery import DeliveryWorker, enqueue_intents
from bot.dispatch import is_anonymous, route
from bot.events import (
    ButtonClicked,
    CommandReceived,
    DirectText,
    FormSubmitted,
    HomeOpened,
    InboundEvent,
    MemberSeen,
    WorkspaceRemoved,
)
from bot.logs import log_event
from bot.metrics import Metrics
from bot.ports import Sender
from bot.practices_registry import Registry, default_registry
from bot.recurrence import next_run
from practices import leaving
from practices.compassion_index_maths import DEFAULT_WEIGHTS
from practices.messages import FieldErrors, OpenForm, Reply, text_card
from practices.practice import SUPPORT_WINDOW, PracticeContext
from practices.privacy_policy import DEFAULT_MIN_GROUP_SIZE
from practices.sealing import PROCESS_KEY, digests
from storage import identity
from storage.db import Conflict, Database, Session
from storage.events import mark_processed
from storage.identity import deactivate_workspace, ensure_member, ensure_workspace, find_member
from storage.models import Member, Workspace

logger = logging.getLogger("tend.engine")

Answer = Reply | OpenForm | FieldErrors
# Work that must commit or roll back with an event's own (the inbound queue deleting the event's row).
Finish = Callable[[Session], Awaitable[object]]

SORRY = (
    "Something went wrong on my side and nothing was changed. Please try again in a minute; "
    "if it keeps happening, tell your Tend admin."
)


def event_kind(event: InboundEvent) -> str:
    return {
        CommandReceived: "command",
        ButtonClicked: "click",
        FormSubmitted: "form",
        DirectText: "text",
        MemberSeen: "member",
        HomeOpened: "home",
        WorkspaceRemoved: "removed",
    }[type(event)]


class Engine:
    """Routes neutral events to practices and executes the intents they return."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        senders: Mapping[str, Sender],
        *,
        metrics: Metrics | None = None,
        min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
        delivery: DeliveryWorker | None = None,
        support_window: timedelta = SUPPORT_WINDOW,
        index_weights: Mapping[str, float] | None = None,
        secret_key: bytes = PROCESS_KEY,
        support_fallback: str = "",
        registry: Registry | None = None,
    ) -> None:
        self.database = database
        # The practices this engine knows (default: every one in the practices package).
        self.registry = registry or default_registry()
        self.support_fallback = support_fallback
        self.clock = clock
        self.senders = dict(senders)
        self.metrics = metrics or Metrics()
        self.min_group_size = min_group_size
        self.support_window = support_window
        self.index_weights = dict(index_weights or DEFAULT_WEIGHTS)
        self.secret_key = secret_key
        self.delivery = delivery or DeliveryWorker(
            database, clock, self.senders, metrics=self.metrics, secret_key=secret_key
        )

    async def handle(self, event: InboundEvent, *, finish: Finish | None = None) -> tuple[Answer, ...]:
        """Handles one event; never raises for a user's input, answers in plain words instead."""
        try:
            return await self.process(event, finish=finish)
        except Conflict:
            # A concurrent duplicate (same event id on another replica) lost the race: already handled.
            log_event(
                logger,
                "event ignored",
                platform=event.origin.platform,
                kind=event_kind(event),
                outcome="race",
            )
            return ()
        except Exception:
            return self.failed(event)

    def failed(self, event: InboundEvent) -> tuple[Answer, ...]:
        """The apology for an event whose handling raised (nothing of it was committed)."""
        kind = event_kind(event)
        logger.exception("event failed", extra={"platform": event.origin.platform, "kind": kind})
        self.metrics.events_handled.inc(platform=event.origin.platform, kind=kind, outcome="error")
        return (Reply(text_card(SORRY)),)

    async def process(self, event: InboundEvent, *, finish: Finish | None = None) -> tuple[Answer, ...]:
        """Handles one event and raises what went wrong (``handle`` turns that into an apology).

        ``finish`` runs inside the engine's transaction on every path that commits one (a duplicate
        and an inactive workspace included), so whatever it writes (the inbound queue deletes the
        event's row) commits or rolls back with the event's own work. An event from a bot commits
        nothing and does not call it. Platform sends never happen here: the delivery worker is woken.
        """
        origin = event.origin
        kind = event_kind(event)
        if origin.actor_is_bot and not isinstance(event, MemberSeen):
            return ()
        async with self.database.session() as session:
            now = self.clock.now()
            # Stored only as a keyed digest: a platform's event id can name its conversation
            # (Teams), which would tie an anonymous submission to the person's private chat.
            raw_event_id = getattr(event, "event_id", None)
            # Under every configured key: a retry of an event handled before a key rotation is known.
            event_id, *earlier = (
                digests(self.secret_key, "event", origin.platform, raw_event_id) if raw_event_id else (None,)
            )
            if finish is not None:
                await finish(session)
            if event_id and not await mark_processed(session, origin.platform, event_id, now, earlier):
                log_event(logger, "event ignored", platform=origin.platform, kind=kind, outcome="duplicate")
                return ()
            if isinstance(event, WorkspaceRemoved):
                removed = await deactivate_workspace(session, origin.platform, origin.workspace_id)
                log_event(logger, "workspace removed", platform=origin.platform, workspace=removed or 0)
                return ()
            workspace = await ensure_workspace(
                session, origin.platform, origin.workspace_id, origin.workspace_name, now
            )
            if not workspace.active and isinstance(event, MemberSeen) and origin.actor_is_installer:
                workspace.active = True  # installed again after an uninstall: its rituals resume
                session.add(workspace)
                log_event(logger, "workspace reinstalled", workspace=workspace.id or 0)
            if not workspace.active:
                log_event(logger, "event ignored", workspace=workspace.id or 0, outcome="inactive")
                return ()
            if origin.actor.user_id is None:
                return ()
            actor = (
                await self._anonymous_actor(session, workspace, origin.actor.user_id, now)
                if is_anonymous(event, self.registry)
                else await ensure_member(
                    session,
                    workspace,
                    origin.actor.user_id,
                    now,
                    display_name=(event.display_name if isinstance(event, MemberSeen) else "")
                    or origin.actor.name,
                    # The platform's zone on an ordinary event only fills in one never learned, so
                    # a zone the person chose is kept; MemberSeen says the platform's zone changed.
                    time_zone=event.time_zone if isinstance(event, MemberSeen) else None,
                    default_time_zone=origin.actor_time_zone,
                    is_installer=origin.actor_is_installer,
                    platform_admin=origin.actor_may_administer,
                    is_bot=origin.actor_is_bot or (isinstance(event, MemberSeen) and event.is_bot),
                    deactivated=event.deactivated if isinstance(event, MemberSeen) else None,
                )
            )
            context = PracticeContext(
                session=session,
                workspace=workspace,
                actor=actor,
                now=now,
                place_id=origin.place_id,
                is_direct=origin.is_direct,
                min_group_size=self.min_group_size,
                next_run=next_run,
                support_window=self.support_window,
                index_weights=self.index_weights,
                secret_key=self.secret_key,
                support_fallback=self.support_fallback,
                practices=self.registry.practices,
                named_zones=event.named_zones if isinstance(event, CommandReceived) else {},
            )
            outcome = await route(context, event, self.registry)
            scope = f"{origin.platform}:{event_id}" if event_id else f"event:{uuid.uuid4().hex}"
            await enqueue_intents(
                session,
                workspace,
                outcome.intents,
                now,
                scope,
                secret_key=self.secret_key,
                anonymous=is_anonymous(event, self.registry),
            )
        self.metrics.events_handled.inc(platform=origin.platform, kind=kind, outcome="ok")
        log_event(logger, "event handled", platform=origin.platform, workspace=workspace.id or 0, kind=kind)
        self.delivery.wake()  # what the event queued goes from the delivery loop, not from here
        await update_cards(self.senders, self.metrics, workspace, outcome.intents)
        return tuple(intent for intent in outcome.intents if isinstance(intent, Answer))

    async def left_places(
        self, platform: str, workspace_external_id: str, scope: str, place_ids: tuple[str, ...]
    ) -> int:
        """Tend was removed from part of a workspace (a Teams team or chat, named by ``scope``): the
        rituals posting into ``place_ids`` pause until ``rejoined`` with the same scope
        (practices/leaving.py says what stops and what does not). A redelivered removal changes
        nothing more. Returns how many rituals paused."""
        async with self.database.session() as session:
            workspace = await identity.find_workspace(session, platform, workspace_external_id)
            if workspace is None or workspace.id is None:
                return 0
            paused = await leaving.leave(session, workspace.id, scope, place_ids)
        log_event(logger, "places left", platform=platform, workspace=workspace.id, rituals=paused)
        return paused

    async def rejoined(self, platform: str, workspace_external_id: str, scope: str) -> int:
        """Tend was added (back) to a team or chat: its workspace is active again (a re-install after a
        whole uninstall) and the rituals that leaving ``scope`` paused resume. Returns how many."""
        async with self.database.session() as session:
            now = self.clock.now()
            workspace = await ensure_workspace(session, platform, workspace_external_id, "", now)
            assert workspace.id is not None
            if not workspace.active:
                workspace.active = True
                session.add(workspace)
                log_event(logger, "workspace reinstalled", workspace=workspace.id)
            resumed = await leaving.rejoin(session, workspace.id, scope, now, next_run)
        log_event(logger, "places rejoined", platform=platform, workspace=workspace.id, rituals=resumed)
        return resumed

    @staticmethod
    async def _anonymous_actor(session: Session, workspace: Workspace, user_id: str, now: datetime) -> Member:
        """The stored member, read and never written; someone Tend has not met yet acts as an unsaved
        member (id None), so an anonymous tap is not their first-contact row."""
        assert workspace.id is not None
        found = await find_member(session, workspace.id, user_id)
        if found is not None:
            return found
        return Member(workspace_id=workspace.id, platform_user_id=user_id, created_at=now)
