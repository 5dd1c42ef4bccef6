"""Bolt on Tend's aiohttp server: verify, store, ack, then translate → engine → answer.

``adapters/slack/guard.py`` checks every request's signature and age over the raw bytes (401) and
its shape (400) before Bolt parses anything; Bolt's own middleware verifies it again. A command or
a tap is translated and written to the inbound queue (``bot/inbound.py``) and only then acked
(Slack gives 3 seconds): "acked" means "stored", and a crash or a deploy loses nothing acked. The
queue's workers (this replica's at once, any replica's once a lease runs out) run the engine and
hand the answers back here: ephemeral messages (through the response URL when Slack gave one) or a
modal opened with the request's trigger id. Events API callbacks (App Home, people's profiles,
uninstalls), which Bolt acks itself before their listener runs, are stored by a global middleware
before that. A modal submission runs the engine before its ack, within ``SUBMISSION_BUDGET``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest, AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.authorize import StoredAuthorize, WarmedAuthorize
from adapters.slack.blocks import card_blocks, fallback_text, modal_view, redrawn
from adapters.slack.guard import Refusal, SlackGuard, signing_secret_of
from adapters.slack.members import MemberProfiles, Profile, profile_of
from adapters.slack.oauth import REDIRECT_PATH, SlackOAuth, removed_event, slack_oauth
from adapters.slack.sender import SlackSender, make_client, sdk_logger, web_session
from adapters.slack.translate import (
    COMMANDS,
    HANDLED_EVENTS,
    PLATFORM,
    SHORTCUTS,
    action_event,
    chosen_people,
    command_event,
    event_user,
    form_values,
    home_event,
    home_view,
    mentioned_people,
    notice_view,
    shortcut_event,
    submission_event,
    view_errors,
)
from bot.engine import Answer, Engine
from bot.errors import SendError
from bot.events import (
    CommandReceived,
    HomeOpened,
    InboundEvent,
    MemberSeen,
    Origin,
    PersonRef,
    WorkspaceRemoved,
)
from bot.inbound import CONCURRENCY, MAX_QUEUED, InboundFull, InboundQueue, Work
from bot.logs import log_event
from bot.ports import SdkTables
from practices.messages import FieldErrors, Image, OpenForm, Reply, text_card

logger = logging.getLogger("tend.slack")

EVENTS_PATH = "/slack/events"
ANY = re.compile(".+")  # every action id / modal callback id: the engine routes by prefix
SLACK_APP_KEY = web.AppKey("tend_slack_app", AsyncApp)
REDRAWS_KEPT = 1_000  # open modals whose newest change this process remembers (``_redraw``)
SUBMISSION_BUDGET = 2.0  # seconds the engine may take before a modal's ack (Slack allows 3; storing follows)
# The ack of a command the database would not store: nothing was taken, so the person is told so.
NOT_TAKEN = (
    "Tend could not take this just now, and nothing was changed. Please try again in a minute; "
    "if it keeps happening, tell your Tend admin."
)
# The ack of a command refused because the inbound queue is full (``InboundFull``): nothing was saved.
BUSY = "Tend is busy just now, and nothing was saved. Please try again in a minute."


async def _unhandled_event(body: dict[str, Any]) -> bool:
    """Bolt matcher for the catch-all: an event type none of Tend's listeners takes."""
    return str((body.get("event") or {}).get("type", "")) not in HANDLED_EVENTS


def _kept(body: dict[str, Any]) -> dict[str, str]:
    """What answering a request needs from its body, stored with the event (a trigger id for a form,
    the response URL for ephemeral replies)."""
    return {key: str(body[key]) for key in ("trigger_id", "response_url") if body.get(key)}


def _with(event: InboundEvent, profile: Profile | None) -> InboundEvent:
    """The event with the person's Slack name, time zone and role on its origin (unchanged without one)."""
    if profile is None:
        return event
    origin = event.origin
    actor = PersonRef(origin.actor.user_id, profile.name or origin.actor.name)
    zone = profile.time_zone or origin.actor_time_zone
    administers = profile.may_administer
    return replace(
        event, origin=replace(origin, actor=actor, actor_time_zone=zone, actor_may_administer=administers)
    )


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and warns that the client Tend gives it
    wins; the client carries that very token, so the warning only misleads whoever reads the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def bolt_logger() -> logging.Logger:
    logger = sdk_logger("bolt")
    if not any(isinstance(f, _SameTokenNotice) for f in logger.filters):
        logger.addFilter(_SameTokenNotice())
    return logger


class SlackAdapter:
    """The Bolt app and its listeners; ``sender`` is the same one the outbox uses.

    One workspace: the sender's fixed client carries the bot token, checked with auth.test once in
    the background (``WarmedAuthorize``), never before an ack. Many workspaces (``oauth``): each
    request is authorized from the stored installation (``StoredAuthorize``) and Bolt serves the
    install pages. ``signing_secret`` None turns Bolt's request verification off, for
    Socket Mode only, where the app token authenticates the connection instead.
    """

    def __init__(
        self,
        engine: Engine,
        sender: SlackSender,
        signing_secret: str | None,
        oauth: SlackOAuth | None = None,
        concurrency: int = CONCURRENCY,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.oauth = oauth
        self._in_flight: set[asyncio.Task[Any]] = set()  # listeners still running (before or after acks)
        self._follow_ups: set[asyncio.Task[Any]] = set()  # a submission's answers, after its ack
        self._redrawn: dict[str, str] = {}  # modal id -> action_ts of its newest change drawn (_redraw)
        # Acked work: stored before the ack, handled by this replica's workers or, if it dies, another's.
        self.inbound = InboundQueue(
            engine,
            PLATFORM,
            self._answer_work,
            prepare=self._prepare,
            concurrency=concurrency,
            max_queued=max_queued,
        )
        common: dict[str, Any] = {
            "signing_secret": signing_secret or "",  # "" rather than None: Bolt would read the env
            "request_verification_enabled": signing_secret is not None,
            "process_before_response": False,  # ack first, work after: the 3-second rule
            "logger": bolt_logger(),  # Bolt's own loggers take this level: no bodies in logs
        }
        if oauth is None:
            if sender.fixed_client is None:
                raise ValueError("one workspace needs SlackSender.single(client)")
            warmed = WarmedAuthorize(sender.fixed_client)  # auth.test once, never before an ack
            self.bolt = AsyncApp(client=warmed.bolt_client(), authorize=warmed, **common)
        else:
            client = make_client(None, oauth.api_url, oauth.session)  # Bolt copies it per request
            self.bolt = AsyncApp(
                client=client,
                oauth_settings=oauth.settings(self.on_installed),
                # From the stored installation, before the ack. Bolt's type says an authorize never returns
                # None, but Bolt's own store-backed one does, and Bolt then answers "not installed".
                authorize=StoredAuthorize(oauth.tokens),  # type: ignore[arg-type]
                **common,
            )
        self.bolt.event("app_uninstalled")(self.on_removed)
        self.bolt.event("tokens_revoked")(self.on_removed)
        for command in COMMANDS:
            self.bolt.command(command)(self.on_command)
        self.bolt.block_action(ANY)(self.on_action)
        self.bolt.view_submission(ANY)(self.on_submission)
        for callback_id in SHORTCUTS:
            self.bolt.global_shortcut(callback_id)(self.on_shortcut)
        self._listen_to_events()

    async def on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Stored, then acked; if the queue is full or the database would not take it, the ack says so
        instead."""
        self._track()
        event = command_event(body)
        refusal = None if event is None else await self._store(event, _kept(body))
        if refusal is not None:
            await ack(text=refusal)
            return
        await ack()

    async def on_action(
        self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        """Stored, then acked (a tap's ack shows no text: a refusal goes through the response URL).
        A change inside an open modal is no tap: it only redraws the modal (``_redraw``)."""
        self._track()
        if (body.get("view") or {}).get("type") == "modal":
            await ack()
            await self._redraw(body, client)
            return
        event = action_event(body)
        refusal = None if event is None else await self._store(event, _kept(body))
        await ack()
        if refusal is not None and body.get("response_url"):
            with contextlib.suppress(SlackClientError, aiohttp.ClientError, OSError, ValueError):
                await respond(text=refusal, response_type="ephemeral", replace_original=False)

    async def _redraw(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A choice another field depends on changed in an open modal (a ``dispatch_action`` input): the
        modal shows or hides that field (``views.update``). Nothing reaches the engine and nothing is
        stored, so an anonymous form stays anonymous.

        Two quick changes race: each payload carries the view as it was when the person changed it.
        The update carries that view's ``hash``, so Slack refuses one built on a view replaced since;
        a refused update is sent again without the hash only if its change is the newest this process
        has seen for the modal (by ``action_ts``), so the modal ends up drawn for the last choice."""
        view = body.get("view") or {}
        values = form_values(view)
        stamp = ""
        for action in body.get("actions") or []:
            chosen = action.get("selected_option") or {}
            values[str(action.get("block_id", ""))] = str(chosen.get("value") or "")
            stamp = max(stamp, str(action.get("action_ts") or ""))
        update = redrawn(view, values)
        view_id = str(view.get("id") or "")
        if update is None or not view_id:
            return
        latest = self._redrawn.pop(view_id, "")
        self._redrawn[view_id] = max(latest, stamp)
        while len(self._redrawn) > REDRAWS_KEPT:
            self._redrawn.pop(next(iter(self._redrawn)))
        try:
            try:
                await client.views_update(view_id=view_id, hash=view.get("hash"), view=update)
            except SlackApiError as error:
                if error.response.get("error") != "hash_conflict" or stamp < self._redrawn.get(view_id, ""):
                    raise
                await client.views_update(view_id=view_id, view=update)
        except (SlackClientError, aiohttp.ClientError, OSError, ValueError) as error:
            # An older change lost the race, or Slack is away: the form still works as it is.
            log_event(logger, "slack modal not redrawn", level=logging.WARNING, outcome=type(error).__name__)

    async def on_shortcut(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A global shortcut ("Give kudos"): stored, then acked, like a tap; its form opens with the
        shortcut's trigger id. A shortcut has no response URL, so a refusal is a small modal instead
        (Bolt's client for this request: authorized before the database was needed)."""
        self._track()
        event = shortcut_event(body)
        refusal = None if event is None else await self._store(event, _kept(body))
        await ack()
        if refusal is not None and body.get("trigger_id"):
            with contextlib.suppress(SlackClientError, aiohttp.ClientError, OSError, ValueError):
                await client.views_open(trigger_id=body["trigger_id"], view=notice_view(text_card(refusal)))

    async def _store(self, event: InboundEvent, context: Mapping[str, str]) -> str | None:
        """Writes the event to the inbound queue (this replica starts on it at once). Returns None once
        stored, else what to tell the person: Tend is busy (the queue is full, counted in /metrics and
        logged by the queue) or could not take it (the database is away); nothing was saved."""
        try:
            await self.inbound.put(event, context)
        except InboundFull:
            return BUSY
        except Exception as error:  # the database is away: nothing was taken
            log_event(logger, "slack event not stored", level=logging.WARNING, outcome=type(error).__name__)
            return NOT_TAKEN
        return None

    async def on_submission(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Runs the engine BEFORE the ack, so a bad field is marked in the still-open modal.

        Bounded: if the engine needs longer than ``submission_budget`` the submission is stored in
        the inbound queue like any acked work and only then acked (the modal closes; the answers
        follow as ephemeral messages), so a crash cannot lose it. The run under way and the stored
        copy carry the same event id: whichever commits first does the work, the other finds it done.
        No Web API call happens before the ack (the person's name comes from the cache here and is
        refreshed after it).
        """
        self._track()
        event = submission_event(body)
        if event is None:
            await ack()
            return
        work = asyncio.ensure_future(self.engine.handle(self._with_known_profile(event)))
        try:
            with self.inbound.acking():  # its ack waits for the engine: queued work goes after it
                answers = await asyncio.wait_for(asyncio.shield(work), self.submission_budget)
        except TimeoutError:
            await self._store(event, _kept(body))
            await ack()  # closes the modal; the answers follow as ephemeral messages
            answers = await work
        else:
            errors = [answer for answer in answers if isinstance(answer, FieldErrors)]
            if errors:
                await ack(response_action="errors", errors=view_errors(errors, body.get("view") or {}))
            else:
                await ack()  # closes the modal; answers follow as ephemeral messages
            answers = tuple(answer for answer in answers if not isinstance(answer, FieldErrors))
        self._follow_up(self._after_submission(event, answers, _kept(body), chosen_people(body)))

    def _follow_up(self, work: Awaitable[None]) -> None:
        """A submission's answers and look-ups after its ack (its engine work is already committed)."""
        task = asyncio.ensure_future(work)
        self._follow_ups.add(task)
        task.add_done_callback(self._follow_ups.discard)

    async def _after_submission(
        self,
        event: InboundEvent,
        answers: tuple[Answer, ...],
        body: Mapping[str, str],
        chosen: tuple[str, ...],
    ) -> None:
        await self._refresh_profile(event.origin.workspace_id, event.origin.actor.user_id)
        await self._deliver(answers, event, body, None)
        await self._look_up(event.origin.workspace_id, chosen)

    # --- Events API: App Home, people's names and time zones, and everything else -------------------

    def _listen_to_events(self) -> None:
        self.profiles = MemberProfiles(self.engine.clock)
        self.submission_budget = SUBMISSION_BUDGET
        # Bolt acks an Events API callback before its listener runs: this global middleware (after
        # Bolt's own verification and authorization) stores the event first, so acked means stored.
        self.bolt.use(self._store_event)
        self.bolt.event("app_home_opened")(self.on_stored_event)
        self.bolt.event("user_change")(self.on_stored_event)
        self.bolt.event("team_join")(self.on_stored_event)
        # Bolt answers 404 (and logs the body) for an event nobody listens to; Slack then retries and
        # eventually disables the subscription. Anything Tend does not handle is acked and dropped.
        self.bolt.event(ANY, matchers=[_unhandled_event])(self.on_other_event)

    async def _store_event(
        self, body: dict[str, Any], resp: BoltResponse, next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse:
        """Stores an Events API callback Tend handles before Bolt acks it; when the database will not
        take it (or the queue is full), Slack gets a 503 instead of the ack and sends the event again
        later."""
        if body.get("type") == "event_callback":
            found = self._event_of(body)
            if found is not None and await self._store(*found) is not None:
                return BoltResponse(status=503, body="")
        await next_()
        return resp

    def _event_of(self, body: dict[str, Any]) -> tuple[InboundEvent, dict[str, str]] | None:
        """The neutral event of an Events API callback, and what answering it needs (None: nothing to do)."""
        kind = str((body.get("event") or {}).get("type", ""))
        if kind == "app_home_opened":  # the person's own page, published as their App Home
            event = home_event(body)
            return (event, {}) if event is not None and event.origin.actor.user_id else None
        if kind in ("user_change", "team_join"):
            seen = self._member_changed(body, joined=kind == "team_join")
            return (seen, {}) if seen is not None else None
        if kind in ("app_uninstalled", "tokens_revoked"):  # forget the tokens, tell the engine
            removed = removed_event(body)
            context = {"enterprise_id": str(body.get("enterprise_id") or ""), "kind": kind}
            return (removed, context) if removed is not None else None
        return None

    async def on_stored_event(self) -> None:
        """The listener of an event ``_store_event`` stored: matching it lets Bolt ack."""

    async def _publish_home(self, event: InboundEvent, answers: tuple[Answer, ...]) -> None:
        user_id = event.origin.actor.user_id
        for answer in answers:
            if not isinstance(answer, Reply) or user_id is None:  # a home tab is always someone's
                continue
            try:
                client = await self.sender.client_for(event.origin.workspace_id)
                await client.views_publish(user_id=user_id, view=home_view(answer.card))
            except (SendError, SlackClientError, aiohttp.ClientError, OSError, ValueError) as error:
                log_event(logger, "slack home failed", level=logging.WARNING, outcome=type(error).__name__)

    def _member_changed(self, body: dict[str, Any], joined: bool = False) -> MemberSeen | None:
        """``user_change`` / ``team_join``: the cache learns the new name and zone at once. The engine is
        told only about people Tend has already met or who just joined (a newcomer to welcome), and of a
        time zone only when Slack's changed, so a zone the person chose in Tend survives their status
        updates."""
        found = event_user(body)
        if found is None:
            return None
        team, user_id, user = found
        profile = profile_of(user)
        previous = self.profiles.remember(team, user_id, profile)
        if previous is None and not joined:
            return None
        zone_changed = profile.time_zone is not None and (
            previous is None or profile.time_zone != previous.time_zone
        )
        origin = Origin(
            platform=PLATFORM,
            workspace_id=team,
            actor=PersonRef(user_id, profile.name),
            actor_time_zone=profile.time_zone,
            actor_may_administer=profile.may_administer,
        )
        return MemberSeen(
            origin,
            display_name=profile.name,
            time_zone=profile.time_zone if zone_changed else None,
            is_bot=profile.is_bot,
            deactivated=profile.deactivated,
            joined=joined,
        )

    async def on_other_event(self) -> None:
        """An event type Tend does not handle: acked by Bolt (200), nothing changes, nothing logged."""

    async def _with_profile(self, event: InboundEvent) -> InboundEvent:
        """The event with the person's Slack name and time zone (``users.info``, cached); after the ack."""
        origin = event.origin
        user_id = origin.actor.user_id
        if not user_id or not origin.workspace_id or origin.platform != PLATFORM:
            return event
        try:
            client = await self.sender.client_for(origin.workspace_id)
        except SendError:
            return event
        return _with(event, await self.profiles.lookup(client, origin.workspace_id, user_id))

    def _with_known_profile(self, event: InboundEvent) -> InboundEvent:
        """The same from the cache only: for work that must not wait for the Web API (before an ack)."""
        user_id = event.origin.actor.user_id
        return _with(event, self.profiles.known(event.origin.workspace_id, user_id) if user_id else None)

    async def _refresh_profile(self, team_id: str, user_id: str | None) -> None:
        """After an ack: look the person up if the cache has nothing fresh, and tell the engine once."""
        if not user_id or self.profiles.fresh(team_id, user_id)[0]:
            return
        known = self.profiles.known(team_id, user_id)
        try:
            client = await self.sender.client_for(team_id)
        except SendError:
            return
        profile = await self.profiles.lookup(client, team_id, user_id)
        if profile is not None and profile != known:
            await self.engine.handle(self._seen(team_id, user_id, profile))

    async def _look_up(self, team_id: str, people: tuple[str, ...]) -> None:
        """After the ack: the people an action names (a kudos receiver), looked up (``users.info``,
        cached) and handed to the engine with their own time zone. A private message to someone Tend
        has not looked up yet is held until then; a failed look-up tells the engine nothing, so it
        stays held rather than go on a guessed zone."""
        if not people:
            return
        try:
            client = await self.sender.client_for(team_id)
        except SendError:
            return
        for user_id in people:
            profile = await self.profiles.lookup(client, team_id, user_id)
            if profile is not None and self.profiles.news(team_id, user_id):
                await self.engine.handle(self._seen(team_id, user_id, profile))

    @staticmethod
    def _seen(team_id: str, user_id: str, profile: Profile) -> MemberSeen:
        """What Slack says of a person, for the engine: their zone only fills in one never learned (a
        zone they chose in Tend stays), and ``deleted`` marks the account deactivated."""
        origin = Origin(
            platform=PLATFORM,
            workspace_id=team_id,
            actor=PersonRef(user_id, profile.name),
            actor_time_zone=profile.time_zone,
            actor_may_administer=profile.may_administer,
        )
        return MemberSeen(
            origin, display_name=profile.name, is_bot=profile.is_bot, deactivated=profile.deactivated
        )

    async def on_removed(self, ack: AsyncAck) -> None:
        """``app_uninstalled`` / ``tokens_revoked``: stored by ``_store_event``; ``_prepare`` forgets the
        tokens before the engine marks the workspace removed."""
        await ack()

    # --- the inbound queue's side: before the engine, and its answers after the commit ---------------

    async def _prepare(self, work: Work) -> Work:
        """Before the engine: an uninstall forgets the tokens (again, if it is handled twice); any other
        event but a profile's own gets the person's Slack name and time zone (``users.info``, cached)."""
        event = work.event
        if isinstance(event, WorkspaceRemoved):
            team_id = event.origin.workspace_id
            if self.oauth is not None:
                await self.oauth.remove(team_id, work.context.get("enterprise_id") or None)
            self.sender.forget(team_id)
            return work
        if isinstance(event, MemberSeen):
            return work
        return Work(await self._with_profiles(event), work.context)

    async def _with_profiles(self, event: InboundEvent) -> InboundEvent:
        """The actor's profile, and the zones of the people a command names, looked up at the same
        time: the engine's one transaction then meets a kudos receiver with their zone, and no second
        one (``MemberSeen`` after the answer) is needed for them. Only a plain profile travels this
        way; a bot, a deactivated account or a Slack admin is still told through ``MemberSeen``,
        which records those too."""
        named = mentioned_people(event)
        if not named or not isinstance(event, CommandReceived):
            return await self._with_profile(event)
        team_id = event.origin.workspace_id
        try:
            client = await self.sender.client_for(team_id)
        except SendError:
            return await self._with_profile(event)
        looking_up = asyncio.gather(*(self.profiles.lookup(client, team_id, user) for user in named))
        with_actor = await self._with_profile(event)  # the actor's look-up runs beside the others
        profiles = await looking_up
        zones = {
            user: profile.time_zone
            for user, profile in zip(named, profiles, strict=True)
            if profile is not None
            and profile.time_zone
            and not (profile.is_bot or profile.deactivated or profile.may_administer)
        }
        for user in zones:
            self.profiles.news(team_id, user)  # told by the event itself: no MemberSeen after it
        assert isinstance(with_actor, CommandReceived)
        return replace(with_actor, named_zones=zones)

    async def _answer_work(self, work: Work, answers: tuple[Answer, ...]) -> None:
        """After the engine's commit: the answers shown where the person acted, then the people the
        event names looked up (a kudos receiver's time zone)."""
        event = work.event
        if isinstance(event, WorkspaceRemoved):
            log_event(logger, "slack workspace removed", outcome=work.context.get("kind", ""))
            return
        if isinstance(event, MemberSeen):
            return
        if isinstance(event, HomeOpened):
            await self._publish_home(event, answers)
            return
        url = work.context.get("response_url")
        respond = PooledRespond(url, self.sender.session) if url else None
        await self._deliver(answers, event, work.context, respond)
        await self._look_up(event.origin.workspace_id, mentioned_people(event))

    async def on_installed(self, installation: Installation) -> None:
        """After an install: Tend meets the installer, with their Slack role (``users.info``, through
        the new installation's token). They become admin if Slack says they administer the workspace,
        or if Tend meets nobody else there yet (its first install); a re-install grants nothing."""
        if not installation.team_id or not installation.user_id:
            return
        origin = Origin(
            platform="slack",
            workspace_id=installation.team_id,
            actor=PersonRef(installation.user_id),
            workspace_name=installation.team_name or "",
            actor_is_installer=True,
        )
        seen = await self._with_profile(MemberSeen(origin))
        assert isinstance(seen, MemberSeen)
        await self.engine.handle(replace(seen, display_name=seen.origin.actor.name))

    def _track(self) -> None:
        """Remembers the listener's task before it acks, so ``drain`` never misses work."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        """Bolt's dispatch (verification, listeners, the ack) for one request."""
        return await self.bolt.async_dispatch(request)

    async def drain(self) -> None:
        """Waits until everything acked here is handled and answered: listeners still running, the
        inbound work this replica holds, a submission's answers (tests, before they look)."""
        while self._in_flight or self._follow_ups or self.inbound.busy:
            await asyncio.gather(*self._in_flight, *self._follow_ups, return_exceptions=True)
            await self.inbound.drain()

    async def stop(self, within: float) -> None:
        """A clean shutdown, once no request comes in any more: work under way gets ``within``
        seconds, work not started stays queued for the next process (or another replica)."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=within)
        await self.inbound.stop(within)
        if self._follow_ups:
            await asyncio.wait(set(self._follow_ups), timeout=within)

    async def _deliver(
        self,
        answers: tuple[Answer, ...],
        event: InboundEvent,
        body: Mapping[str, str],
        respond: AsyncRespond | None,
    ) -> None:
        for answer in answers:
            if isinstance(answer, FieldErrors):  # only a late form answer: the modal is already closed
                answer = Reply(text_card(answer.text))
            try:
                await self._answer(answer, event, body, respond)
            except (SendError, SlackClientError, aiohttp.ClientError, OSError, ValueError) as error:
                # The person sees nothing for this answer; the log says why (no text, no user id).
                log_event(
                    logger,
                    "slack answer failed",
                    level=logging.WARNING,
                    answer=type(answer).__name__,
                    outcome=type(error).__name__,
                )

    async def _answer(
        self, answer: Answer, event: InboundEvent, body: Mapping[str, str], respond: AsyncRespond | None
    ) -> None:
        origin = event.origin
        if isinstance(answer, OpenForm):
            trigger_id = body.get("trigger_id")
            if not trigger_id:
                form_id = answer.form.form_id
                log_event(logger, "slack form without trigger", level=logging.WARNING, form=form_id)
                return
            client = await self.sender.client_for(origin.workspace_id)
            await client.views_open(trigger_id=trigger_id, view=modal_view(answer.form, origin.place_id))
            return
        if not isinstance(answer, Reply):
            return
        card = answer.card
        if respond is not None:
            await respond(
                text=fallback_text(card),
                blocks=card_blocks(card),
                response_type="ephemeral" if answer.private else "in_channel",
                replace_original=False,
            )
        elif origin.place_id and origin.actor.user_id and not origin.is_direct:
            await self.sender.ephemeral(origin.workspace_id, origin.place_id, origin.actor.user_id, card)
        elif origin.actor.user_id:
            await self.sender.direct(origin.workspace_id, origin.actor.user_id, card)
        # A chart drawn on Tend's disk cannot be linked from Block Kit: it follows as a file in the DM.
        for block in card.blocks:
            if isinstance(block, Image) and block.path and origin.actor.user_id:
                await self.sender.upload_image(origin.workspace_id, origin.actor.user_id, block)


class PooledRespond(AsyncRespond):
    """Bolt's ``respond`` over the adapter's keep-alive pool (``web_session``): Bolt's own opens a
    session, a connection and a TLS handshake for every answer to a command and closes them again."""

    def __init__(self, response_url: str, session: aiohttp.ClientSession | None) -> None:
        super().__init__(response_url=response_url)
        self.session = session

    async def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        assert self.response_url is not None  # given to __init__
        client = AsyncWebhookClient(url=self.response_url, session=self.session)
        if isinstance(text, dict):
            return await client.send_dict(_build_message(**text))
        return await client.send_dict(
            _build_message(
                text=text,
                blocks=blocks,
                attachments=attachments,
                response_type=response_type,
                replace_original=replace_original,
                delete_original=delete_original,
                unfurl_links=unfurl_links,
                unfurl_media=unfurl_media,
                thread_ts=thread_ts,
                metadata=metadata,
            )
        )


def build_slack(
    engine: Engine,
    sender: SlackSender,
    *,
    signing_secret: str | None,
    oauth: SlackOAuth | None = None,
    max_queued: int = MAX_QUEUED,
) -> SlackAdapter:
    """The adapter for both modes: one workspace (``sender`` from ``sender_for``) or many through
    OAuth (``oauth`` from ``adapters.slack.oauth.slack_oauth``, ``sender`` from ``oauth_sender``).
    ``signing_secret`` None (Socket Mode only) turns request verification off; ``max_queued`` is
    ``TEND_INBOUND_MAX_QUEUED``."""
    return SlackAdapter(engine, sender, signing_secret, oauth, max_queued=max_queued)


def add_slack_route(app: web.Application, adapter: SlackAdapter) -> None:
    """Mounts Bolt's one endpoint (events, slash commands, interactivity) on the shared server."""
    app[SLACK_APP_KEY] = adapter.bolt

    guard = SlackGuard(signing_secret_of(adapter.bolt))

    async def slack_events(request: web.Request) -> web.Response:
        """Signature and age over the raw bytes first (401), then parsing (400): see guard.py."""
        admitted = guard.admit(await request.read(), request.headers, request.query_string)
        if isinstance(admitted, Refusal):
            return web.Response(status=admitted.status)
        return await to_aiohttp_response(await adapter.dispatch(admitted))

    app.router.add_post(EVENTS_PATH, slack_events)
    flow = adapter.bolt.oauth_flow
    if flow is None:
        return

    async def slack_install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

    async def slack_oauth_redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    app.router.add_get(flow.install_path, slack_install)
    app.router.add_get(flow.redirect_uri_path, slack_oauth_redirect)


def sender_for(token: str, api_url: str) -> SlackSender:
    """The outbound half for one workspace, built before the engine so the outbox can be given it."""
    return SlackSender.single(make_client(token, api_url, web_session()))


def oauth_sender(oauth: SlackOAuth) -> SlackSender:
    """The outbound half for many workspaces: each team's bot token from the installation store."""
    return SlackSender(oauth.tokens.client, oauth.session)


async def prepare_slack(
    *,
    api_url: str,
    bot_token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    tables: SdkTables | None = None,
    public_url: str | None = None,
) -> tuple[SlackSender, SlackOAuth | None]:
    """The sender (and, with a client id and secret, the OAuth pieces) for ``build_slack``: OAuth
    when ``client_id`` and ``client_secret`` are given (``tables``: the port to the tables in Tend's
    database where installations are kept), else the one workspace of ``bot_token``."""
    if client_id and client_secret:
        if tables is None:
            raise ValueError("Slack OAuth keeps installations in Tend's database: pass its tables port")
        oauth = await slack_oauth(
            client_id=client_id,
            client_secret=client_secret,
            api_url=api_url,
            tables=tables,
            redirect_uri=public_url.rstrip("/") + REDIRECT_PATH if public_url else None,
        )
        return oauth_sender(oauth), oauth
    if not bot_token:
        raise ValueError("Slack needs a bot token (one workspace) or a client id and secret (OAuth)")
    return sender_for(bot_token, api_url), None
