"""The outbound port for Slack: cards out through the Web API, failures translated for the outbox.

The client is built with no retry handlers, so a 429 reaches the delivery worker (which honours
Retry-After per message) instead of being slept on inside slack_sdk.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import card_blocks, fallback_text
from bot.errors import SendError
from practices.messages import Card

logger = logging.getLogger("tend.slack")

# Web API errors that no retry can fix: the channel or person is gone, Tend was removed, or the
# token is wrong. The outbox parks these at once and tells the workspace's admins.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "restricted_action",
        "team_access_not_granted",
        "msg_too_long",
        "invalid_blocks",
        "invalid_blocks_format",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)


def sdk_logger(name: str) -> logging.Logger:
    """A logger for the SDKs held at WARNING: below that, Bolt and slack_sdk log request bodies
    (message text, user ids), which Tend's logs never carry whatever TEND_LOG_LEVEL says."""
    sdk = logging.getLogger(f"tend.slack.{name}")
    sdk.setLevel(logging.WARNING)
    return sdk


def make_client(token: str, base_url: str) -> AsyncWebClient:
    """A Web API client at ``base_url`` (tests point it at a local fake) with retries left to Tend."""
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=[], logger=sdk_logger("sdk"))


def send_error(error: SlackClientError | aiohttp.ClientError | TimeoutError, method: str) -> SendError:
    """One Slack failure as Tend's ``SendError``: 429 with its wait, 5xx retryable, known errors final."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = str(error.response.get("error", "")) if isinstance(error.response.data, dict) else ""
        if status == 429 or code == "ratelimited":
            header = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
            try:
                retry_after = float(int(str(header))) if header is not None else 1.0
            except ValueError:
                retry_after = 1.0
            return SendError(f"{method}: rate limited", retry_after=retry_after)
        if status >= 500:
            return SendError(f"{method}: Slack answered HTTP {status}")
        return SendError(f"{method}: {code or f'HTTP {status}'}", permanent=code in PERMANENT_ERRORS)
    return SendError(f"{method}: {type(error).__name__}")


class SlackSender:
    """``bot.ports.Sender`` over one workspace's bot token (OAuth and many workspaces come later)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._dm_channels: dict[str, str] = {}  # user id -> DM channel id (conversations.open is tier 3)

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        return await self._post_message(place_id, card)

    async def direct(self, workspace_external_id: str, user_id: str, card: Card) -> str:
        channel = await self.dm_channel(user_id)
        return await self._post_message(channel, card)

    async def update(self, workspace_external_id: str, place_id: str, message_ref: str, card: Card) -> None:
        try:
            await self.client.chat_update(
                channel=place_id, ts=message_ref, text=fallback_text(card), blocks=card_blocks(card)
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "chat.update") from None

    async def ephemeral(self, channel_id: str, user_id: str, card: Card) -> None:
        """A message only ``user_id`` sees in ``channel_id`` (answers to a submitted form)."""
        try:
            await self.client.chat_postEphemeral(
                channel=channel_id, user=user_id, text=fallback_text(card), blocks=card_blocks(card)
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "chat.postEphemeral") from None

    async def dm_channel(self, user_id: str) -> str:
        """The person's DM channel with Tend, opened once and then remembered."""
        cached = self._dm_channels.get(user_id)
        if cached is not None:
            return cached
        try:
            response = await self.client.conversations_open(users=user_id)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "conversations.open") from None
        channel = str((response.get("channel") or {}).get("id", ""))
        if not channel:
            raise SendError("conversations.open: no channel in the answer")
        self._dm_channels[user_id] = channel
        return channel

    async def _post_message(self, channel: str, card: Card) -> str:
        try:
            response = await self.client.chat_postMessage(
                channel=channel, text=fallback_text(card), blocks=card_blocks(card)
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "chat.postMessage") from None
        return str(response.get("ts", ""))
