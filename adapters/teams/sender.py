"""The outbound port for Teams: proactive messages from stored conversation references.

Every send continues a stored conversation with ``CloudAdapter.continue_conversation`` (always with
the bot's app id, so botbuilder fetches a token for this bot). A private message goes to the person's
1:1 chat with Tend; when none is known yet, one is created at the tenant's service URL and its
reference stored. Bot Connector failures become ``SendError``: 429 with its Retry-After, 412 and 5xx
retryable, 403 ``MessageWritesBlocked`` marks the person unreachable. botbuilder's own HTTP retries
are switched off so the outbox alone decides when to try again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import PurePath
from typing import Any

import requests
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    Mention,
)
from botbuilder.schema.teams import TeamsChannelAccount
from botframework.connector.aio import ConnectorClient
from msrest.exceptions import ClientRequestError, HttpOperationError
from urllib3.util.retry import Retry

from adapters.teams.cards import adaptive_card, card_attachment, split_lead
from bot.chart_links import DEFAULT_KEY, signed_url
from bot.clock import Clock, SystemClock
from bot.errors import SendError
from bot.logs import log_event
from bot.ports import PERSON, PLACE, ConversationReferences
from practices.messages import Card, Image

logger = logging.getLogger("tend.teams")

CHANNEL_ID = "msteams"
BLOCKED = "MessageWritesBlocked"
RETRYABLE = frozenset({408, 412, 500, 502, 503, 504})
PAGE_SIZE = 500  # the most Teams returns per roster page

# botbuilder's HTTP stack logs URLs (conversation and user ids), headers and bodies (message text)
# at DEBUG: those loggers never go below WARNING, whatever TEND_LOG_LEVEL says.
SDK_LOGGERS = ("msrest", "msal", "urllib3", "requests", "botbuilder", "botframework")


def quiet_sdk_loggers() -> None:
    for name in SDK_LOGGERS:
        sdk = logging.getLogger(name)
        sdk.setLevel(max(sdk.level, logging.WARNING))


def no_sdk_retries(context: TurnContext) -> ConnectorClient | None:
    """Turns off msrest's retries on this turn's connector: a 429 or 5xx must reach the outbox."""
    connector = context.turn_state.get(CloudAdapter.BOT_CONNECTOR_CLIENT_KEY)
    if connector is not None:
        connector.config.retry_policy.policy = Retry(
            total=0, connect=0, read=0, redirect=0, status=0, status_forcelist=[],
            respect_retry_after_header=False, raise_on_status=False,
        )  # fmt: skip
    return connector


def message(content: dict[str, Any], text: str | None = None) -> Activity:
    """A message activity: the Adaptive Card ``content`` holds, if any, and the text, text format and
    mention entities ``payload`` puts beside it (``text`` alone for a plain answer)."""
    attachments = (
        [Attachment(content_type=content["contentType"], content=content["content"])]
        if content.get("content")
        else None
    )
    mentions = [
        Mention(mentioned=ChannelAccount(**entity["mentioned"]), text=entity["text"], type="mention")
        for entity in content.get("entities") or ()
    ]
    return Activity(
        type=ActivityTypes.message,
        text=content.get("text", text),
        text_format=content.get("textFormat"),
        attachments=attachments,
        entities=mentions or None,
    )


def _error_code(error: HttpOperationError) -> str:
    model = getattr(error, "error", None)
    inner = getattr(model, "error", None)
    code = getattr(inner, "code", None)
    if code:
        return str(code)
    try:
        body = json.loads(error.response.text() if callable(error.response.text) else error.response.text)
    except (ValueError, TypeError, AttributeError):
        return ""
    return str(((body or {}).get("error") or {}).get("code") or "")


def send_error(error: Exception, operation: str) -> SendError:
    """One Bot Connector failure as Tend's ``SendError``."""
    if isinstance(error, SendError):
        return error
    if isinstance(error, HttpOperationError) and error.response is not None:
        status = int(error.response.status_code)
        if status == 429:
            header = error.response.headers.get("Retry-After")
            try:
                retry_after = max(float(header), 0.0) if header is not None else 1.0
            except ValueError:
                retry_after = 1.0
            return SendError(f"{operation}: rate limited", retry_after=retry_after)
        code = _error_code(error)
        if status == 403 and code == BLOCKED:
            return SendError(f"{operation}: {BLOCKED}", unreachable=True)
        if status in RETRYABLE or status >= 500:
            return SendError(f"{operation}: Teams answered HTTP {status}")
        return SendError(f"{operation}: HTTP {status} {code}".strip(), permanent=True)
    if isinstance(error, ClientRequestError | requests.RequestException | OSError | TimeoutError):
        return SendError(f"{operation}: {type(error).__name__}")
    return SendError(f"{operation}: {type(error).__name__}", permanent=True)


class TeamsSender:
    """``bot.ports.Sender`` for Teams, over the CloudAdapter and the stored references."""

    def __init__(
        self,
        cloud: CloudAdapter,
        addresses: ConversationReferences,
        app_id: str | None,
        *,
        public_url: str | None = None,
        secret_key: bytes = DEFAULT_KEY,
        clock: Clock | None = None,
    ) -> None:
        quiet_sdk_loggers()
        self.cloud = cloud
        self.addresses = addresses
        self.app_id = app_id or ""
        self.public_url = public_url
        self.secret_key = secret_key  # signs chart links (bot/chart_links.py); the server checks them
        self.clock = clock or SystemClock()

    # --- the port ------------------------------------------------------------------------------------

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        return await self.post_content(workspace_external_id, place_id, self.payload(card))

    async def direct(self, workspace_external_id: str, user_id: str, card: Card) -> str:
        return await self.direct_content(workspace_external_id, user_id, self.payload(card))

    async def open_group(
        self, workspace_external_id: str, user_ids: Sequence[str], place_id: str, card: Card
    ) -> str:
        """A bot cannot start a Teams group chat: the card goes to the programme's channel, where the
        people its first paragraph names are mentioned (``payload`` turns them into real mentions)."""
        return await self.post(workspace_external_id, place_id, card)

    async def update(self, workspace_external_id: str, place_id: str, message_ref: str, card: Card) -> None:
        reference = await self._reference(workspace_external_id, PLACE, place_id)
        activity = message(self.payload(card))
        activity.id = message_ref

        async def replace(context: TurnContext) -> None:
            no_sdk_retries(context)
            await context.update_activity(activity)

        await self._continue(reference, replace, "update")

    def payload(self, card: Card) -> dict[str, Any]:
        """What a sent card becomes: the people it is about mentioned for real in the message text
        (``cards.split_lead``), the rest of it as the card; a card naming nobody is all card."""
        rest, fields = split_lead(card)
        return {**(self.content(rest) if rest is not None else {}), **fields}

    # --- what the adapter also uses ------------------------------------------------------------------

    def content(self, card: Card) -> dict[str, Any]:
        return card_attachment(adaptive_card(self._with_chart_links(card), self.public_url))

    def _with_chart_links(self, card: Card) -> Card:
        """A chart drawn on Tend's disk becomes a signed, expiring link under TEND_PUBLIC_URL (served by
        ``GET /charts/{name}``); without a public URL the card says the chart cannot be shown."""
        if not self.public_url or not any(isinstance(b, Image) and b.path for b in card.blocks):
            return card
        now = self.clock.now()
        blocks = tuple(
            replace(block, url=signed_url(self.public_url, self.secret_key, PurePath(block.path).name, now))
            if isinstance(block, Image) and block.path
            else block
            for block in card.blocks
        )
        return replace(card, blocks=blocks)

    async def post_content(self, workspace_external_id: str, place_id: str, content: dict[str, Any]) -> str:
        reference = await self._reference(workspace_external_id, PLACE, place_id)
        return await self._send(reference, message(content), "post")

    async def direct_content(self, workspace_external_id: str, user_id: str, content: dict[str, Any]) -> str:
        """Into the person's 1:1 chat with Tend, created (and remembered) when there is none yet."""
        stored = await self.addresses.reference(workspace_external_id, PERSON, user_id)
        if stored is not None:
            return await self._send(ConversationReference().deserialize(stored), message(content), "direct")
        return await self._create_and_send(workspace_external_id, user_id, message(content))

    async def roster(self, workspace_external_id: str, place_id: str, conversation_id: str | None = None
                     ) -> list[TeamsChannelAccount]:  # fmt: skip
        """Everyone in a team or conversation, read page by page (at most 500 a page).

        Read as Teams accounts (``TeamsChannelAccount``), whose ``user_role`` is the only role the Bot
        Framework gives: ``user`` or ``bot`` in Microsoft's samples, ``guest``/``owner`` announced but
        not documented (see docs/privacy.md, "Who is an admin").
        """
        reference = await self._reference(workspace_external_id, PLACE, place_id)
        members: list[TeamsChannelAccount] = []

        async def read(context: TurnContext) -> None:
            connector = no_sdk_retries(context)
            assert connector is not None
            token: str | None = None
            while True:
                page = await connector.conversations.get_teams_conversation_paged_members(
                    conversation_id or place_id, page_size=PAGE_SIZE, continuation_token=token
                )
                members.extend(page.members or [])
                token = page.continuation_token
                if not token:
                    return

        await self._continue(reference, read, "roster")
        return members

    # --- internals -----------------------------------------------------------------------------------

    async def _reference(self, workspace_external_id: str, kind: str, key: str) -> ConversationReference:
        stored = await self.addresses.reference(workspace_external_id, kind, key)
        if stored is None:
            # Tend only learns a conversation from an activity there (install, a message, a mention).
            raise SendError(f"no conversation reference for this {kind}", permanent=True)
        return ConversationReference().deserialize(stored)

    async def _continue(
        self,
        reference: ConversationReference,
        logic: Callable[[TurnContext], Awaitable[None]],
        operation: str,
    ) -> None:
        try:
            await self.cloud.continue_conversation(reference, logic, self.app_id)
        except Exception as error:
            raise send_error(error, operation) from None

    async def _send(self, reference: ConversationReference, activity: Activity, operation: str) -> str:
        sent: list[str] = []

        async def send(context: TurnContext) -> None:
            no_sdk_retries(context)
            response = await context.send_activity(activity)
            sent.append(response.id if response is not None and response.id else "")

        await self._continue(reference, send, operation)
        return sent[0] if sent else ""

    async def _create_and_send(self, workspace_external_id: str, user_id: str, activity: Activity) -> str:
        """Creates the personal chat at the tenant's service URL, remembers it, then sends."""
        known = await self.addresses.latest(workspace_external_id)
        if known is None or not known.get("serviceUrl"):
            raise SendError("no service URL known for this tenant yet", permanent=True)
        service_url = str(known["serviceUrl"])
        bot = ChannelAccount().deserialize(known.get("bot") or {"id": f"28:{self.app_id}"})
        parameters = ConversationParameters(
            is_group=False,
            bot=bot,
            members=[ChannelAccount(id=user_id)],
            tenant_id=workspace_external_id,
            channel_data={"tenant": {"id": workspace_external_id}},
        )
        sent: list[str] = []
        created: list[ConversationReference] = []

        async def send(context: TurnContext) -> None:
            no_sdk_retries(context)
            reference = ConversationReference(
                bot=bot,
                user=ChannelAccount(id=user_id),
                conversation=ConversationAccount(
                    id=context.activity.conversation.id,
                    conversation_type="personal",
                    tenant_id=workspace_external_id,
                ),
                channel_id=CHANNEL_ID,
                service_url=service_url,
            )
            created.append(reference)
            activity.conversation = reference.conversation
            response = await context.send_activity(activity)
            sent.append(response.id if response is not None and response.id else "")

        try:
            await self.cloud.create_conversation(self.app_id, send, parameters, CHANNEL_ID, service_url)
        except Exception as error:
            raise send_error(error, "create conversation") from None
        finally:
            if created:  # remembered even when the send failed, so the next try does not create again
                await self.addresses.remember(workspace_external_id, PERSON, user_id, created[0].serialize())
        log_event(logger, "teams personal chat created", outcome="ok")
        return sent[0] if sent else ""
