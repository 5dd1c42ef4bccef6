"""The outbound port for Slack: cards out through the Web API, failures translated for the outbox.

The client is built with no retry handlers, so a 429 reaches the delivery worker (which honours
Retry-After per message) instead of being slept on inside slack_sdk.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import card_blocks, fallback_text
from bot.errors import SendError
from practices.messages import Card, Image

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


WEB_API_TIMEOUT = 30  # seconds for one Web API call (slack_sdk's own default)


def web_session() -> aiohttp.ClientSession:
    """One keep-alive connection pool for all of an adapter's Web API calls. Without it slack_sdk
    opens a session, a TCP connection and a TLS handshake per call and closes them again, which
    about halves how many messages a second the outbox can hand to Slack."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT))


def make_client(
    token: str | None, base_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Web API client at ``base_url`` (tests point it at a local fake) with retries left to Tend;
    ``token`` None for calls that authenticate otherwise (oauth.v2.access) or pass one per call;
    ``session`` from ``web_session``, shared by the adapter's clients (None: one per call)."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=WEB_API_TIMEOUT,
        session=session,
        retry_handlers=[],
        logger=sdk_logger("sdk"),
    )


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
    """``bot.ports.Sender`` over any number of workspaces: ``clients`` maps a Slack team id to a ready
    Web API client (with OAuth: the installation's bot token, refreshed first when it rotates).
    ``session`` is the connection pool those clients share; ``close`` closes it at shutdown."""

    def __init__(
        self,
        clients: Callable[[str], Awaitable[AsyncWebClient]],
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._clients = clients
        self.session = session
        self.fixed_client: AsyncWebClient | None = None  # set by ``single``; auth.test once (authorize.py)
        # (team, user) -> DM channel id: conversations.open is tier 3, so each is opened once.
        self._dm_channels: dict[tuple[str, str], str] = {}

    @classmethod
    def single(cls, client: AsyncWebClient) -> SlackSender:
        """One workspace, one bot token (SLACK_BOT_TOKEN): every team id gets the same client."""

        async def same(_team_id: str) -> AsyncWebClient:
            return client

        sender = cls(same, client.session)
        sender.fixed_client = client
        return sender

    async def close(self) -> None:
        """Closes the shared connection pool, once nothing more is sent (after the outbox stopped)."""
        if self.session is not None and not self.session.closed:
            await self.session.close()

    async def client_for(self, team_id: str) -> AsyncWebClient:
        """The client for ``team_id``; a missing installation or failed refresh is a ``SendError``."""
        try:
            return await self._clients(team_id)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "auth") from None

    def forget(self, team_id: str) -> None:
        """Drops what was remembered about a workspace that removed Tend."""
        for key in [key for key in self._dm_channels if key[0] == team_id]:
            del self._dm_channels[key]

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        return await self._post_message(workspace_external_id, place_id, card)

    async def direct(self, workspace_external_id: str, user_id: str, card: Card) -> str:
        channel = await self.dm_channel(workspace_external_id, user_id)
        return await self._post_message(workspace_external_id, channel, card)

    async def open_group(
        self, workspace_external_id: str, user_ids: Sequence[str], place_id: str, card: Card
    ) -> str:
        """A group DM with Tend and the people (``conversations.open`` with several users)."""
        client = await self.client_for(workspace_external_id)
        try:
            response = await client.conversations_open(users=",".join(user_ids))
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "conversations.open") from None
        channel = str((response.get("channel") or {}).get("id", ""))
        if not channel:
            raise SendError("conversations.open: no channel in the answer")
        return await self._post_message(workspace_external_id, channel, card)

    async def update(self, workspace_external_id: str, place_id: str, message_ref: str, card: Card) -> None:
        client = await self.client_for(workspace_external_id)
        try:
            await client.chat_update(
                channel=place_id, ts=message_ref, text=fallback_text(card), blocks=card_blocks(card)
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "chat.update") from None

    async def ephemeral(self, team_id: str, channel_id: str, user_id: str, card: Card) -> None:
        """A message only ``user_id`` sees in ``channel_id`` (answers to a submitted form)."""
        client = await self.client_for(team_id)
        try:
            await client.chat_postEphemeral(
                channel=channel_id, user=user_id, text=fallback_text(card), blocks=card_blocks(card)
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "chat.postEphemeral") from None

    async def dm_channel(self, team_id: str, user_id: str) -> str:
        """The person's DM channel with Tend, opened once and then remembered."""
        cached = self._dm_channels.get((team_id, user_id))
        if cached is not None:
            return cached
        client = await self.client_for(team_id)
        try:
            response = await client.conversations_open(users=user_id)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "conversations.open") from None
        channel = str((response.get("channel") or {}).get("id", ""))
        if not channel:
            raise SendError("conversations.open: no channel in the answer")
        self._dm_channels[(team_id, user_id)] = channel
        return channel

    async def upload_image(self, team_id: str, user_id: str, image: Image) -> None:
        """Uploads a local image (the index chart) into the person's DM: Block Kit cannot show a file
        on Tend's disk, and a DM keeps a team's chart with the person who asked for it."""
        if not image.path:
            return
        channel = await self.dm_channel(team_id, user_id)
        client = await self.client_for(team_id)
        try:
            await client.files_upload_v2(
                file=image.path,
                filename=Path(image.path).name,
                title=image.alt,
                alt_txt=image.alt,
                channel=channel,
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "files.uploadV2") from None
        except OSError:
            raise SendError("files.uploadV2: the image file is gone", permanent=True) from None

    async def _post_message(self, team_id: str, channel: str, card: Card) -> str:
        client = await self.client_for(team_id)
        try:
            response = await client.chat_postMessage(
                channel=channel, text=fallback_text(card), blocks=card_blocks(card)
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise send_error(error, "chat.postMessage") from None
        return str(response.get("ts", ""))
