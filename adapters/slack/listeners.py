"""Bolt on Tend's aiohttp server: verify, ack at once, then translate → engine → answer.

Bolt's own middleware verifies every request's signature and age (401 otherwise) before any listener
runs. Each listener acks first (Slack gives 3 seconds) and does the engine work after the ack: with
``process_before_response=False`` Bolt answers Slack as soon as ``ack()`` is called while the listener
goes on. Answers meant only for the actor go back as ephemeral messages (through the response URL when
Slack gave one) or as a modal opened with the request's trigger id.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackClientError

from adapters.slack.blocks import card_blocks, fallback_text, modal_view
from adapters.slack.sender import SlackSender, make_client, sdk_logger
from adapters.slack.translate import COMMANDS, action_event, command_event, submission_event
from bot.engine import Answer, Engine
from bot.errors import SendError
from bot.events import InboundEvent
from bot.logs import log_event
from practices.messages import OpenForm, Reply

logger = logging.getLogger("tend.slack")

EVENTS_PATH = "/slack/events"
ANY = re.compile(".+")  # every action id / modal callback id: the engine routes by prefix
SLACK_APP_KEY = web.AppKey("tend_slack_app", AsyncApp)


class SlackAdapter:
    """The Bolt app and its listeners; ``sender`` is the same one the outbox uses."""

    def __init__(self, engine: Engine, sender: SlackSender, signing_secret: str) -> None:
        self.engine = engine
        self.sender = sender
        self._in_flight: set[asyncio.Task[Any]] = set()  # work still running after its ack
        self.bolt = AsyncApp(
            client=sender.client,  # carries the bot token; Bolt checks it with auth.test once
            signing_secret=signing_secret,
            process_before_response=False,  # ack first, work after: the 3-second rule
            logger=sdk_logger("bolt"),  # Bolt's own loggers take this level: no bodies in logs
        )
        for command in COMMANDS:
            self.bolt.command(command)(self.on_command)
        self.bolt.block_action(ANY)(self.on_action)
        self.bolt.view_submission(ANY)(self.on_submission)

    async def on_command(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        self._track()
        await ack()
        event = command_event(body)
        if event is None:
            return
        await self._handle(event, body, respond)

    async def on_action(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        self._track()
        await ack()
        event = action_event(body)
        if event is None:
            return
        await self._handle(event, body, respond if body.get("response_url") else None)

    async def on_submission(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        self._track()
        await ack()  # closes the modal; answers follow as ephemeral messages
        event = submission_event(body)
        if event is None:
            return
        await self._handle(event, body, None)

    def _track(self) -> None:
        """Remembers the listener's task before it acks, so ``drain`` never misses work."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def drain(self) -> None:
        """Waits for work acked but not yet finished (a clean shutdown; tests before they look)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _handle(self, event: InboundEvent, body: dict[str, Any], respond: AsyncRespond | None) -> None:
        answers = await self.engine.handle(event)
        for answer in answers:
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
        self, answer: Answer, event: InboundEvent, body: dict[str, Any], respond: AsyncRespond | None
    ) -> None:
        origin = event.origin
        if isinstance(answer, OpenForm):
            trigger_id = body.get("trigger_id")
            if not trigger_id:
                form_id = answer.form.form_id
                log_event(logger, "slack form without trigger", level=logging.WARNING, form=form_id)
                return
            await self.sender.client.views_open(
                trigger_id=trigger_id, view=modal_view(answer.form, origin.place_id)
            )
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
            await self.sender.ephemeral(origin.place_id, origin.actor.user_id, card)
        elif origin.actor.user_id:
            await self.sender.direct(origin.workspace_id, origin.actor.user_id, card)


def build_slack(engine: Engine, sender: SlackSender, *, signing_secret: str) -> SlackAdapter:
    """The adapter for one workspace (the sender's bot token); OAuth and Socket Mode are not wired yet."""
    return SlackAdapter(engine, sender, signing_secret)


def add_slack_route(app: web.Application, adapter: SlackAdapter) -> None:
    """Mounts Bolt's one endpoint (events, slash commands, interactivity) on the shared server."""
    app[SLACK_APP_KEY] = adapter.bolt

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await adapter.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    app.router.add_post(EVENTS_PATH, slack_events)


def sender_for(token: str, api_url: str) -> SlackSender:
    """The outbound half, built before the engine so the engine and outbox can be given it."""
    return SlackSender(make_client(token, api_url))
