"""Slack over Socket Mode: Tend opens a WebSocket to Slack instead of serving ``POST /slack/events``.

For a workspace that cannot reach Tend over HTTPS (a laptop, a closed network). The same Bolt app and
listeners run: slack_bolt's aiohttp ``AsyncSocketModeHandler`` turns each envelope into a Bolt request
and sends the ack back over the socket with the envelope's id, so listeners still ack first and work
after. No signing secret is involved: the app-level token (``xapp-``) authenticates the connection,
and Bolt skips signature checks for requests that arrive this way.

``apps.connections.open`` is asked with the app token at ``api_url`` (``SLACK_API_URL``; tests point it
at a local fake), which answers with the WebSocket URL to connect to. Slack asks for reconnection from
time to time (a ``disconnect`` envelope); slack_sdk's client opens a new URL then by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.guard import guard_socket_mode
from adapters.slack.sender import sdk_logger
from bot.errors import SettingsError
from bot.logs import log_event

logger = logging.getLogger("tend.slack")

CONNECT_TIMEOUT = 30.0  # seconds to get a working socket before start-up gives up


class SocketMode:
    """A running Socket Mode connection; ``close`` ends it (acks already sent stay sent)."""

    def __init__(self, handler: AsyncSocketModeHandler) -> None:
        self.handler = handler

    async def connected(self) -> bool:
        """Whether the WebSocket is open now (readiness asks; slack_sdk reconnects by itself)."""
        return bool(await self.handler.client.is_connected())

    async def close(self) -> None:
        """Stops reconnecting and closes the socket and its HTTP session."""
        await self.handler.close_async()
        log_event(logger, "slack socket mode closed")


async def start_socket_mode(
    bolt_app: AsyncApp, app_token: str, api_url: str, *, connect_within: float = CONNECT_TIMEOUT
) -> SocketMode:
    """Connects ``bolt_app`` to Slack over a WebSocket and returns once envelopes can arrive.

    The first ``apps.connections.open`` is made here rather than inside slack_sdk's retry loop, so a
    wrong or revoked app token stops start-up with a clear message instead of retrying for ever.
    """
    web_client = AsyncWebClient(base_url=api_url, logger=sdk_logger("socket"))
    try:
        opened = await web_client.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        code = error.response.get("error", "") if isinstance(error.response.data, dict) else ""
        raise SettingsError(
            f"SLACK_APP_TOKEN: Slack refused to open a Socket Mode connection ({code or 'no reason given'}); "
            "it must be an app-level token (xapp-...) with the connections:write scope"
        ) from None
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
        raise SettingsError(
            f"SLACK_API_URL: could not reach Slack to open Socket Mode ({type(error).__name__})"
        ) from None
    handler = AsyncSocketModeHandler(bolt_app, app_token, logger=sdk_logger("socket"), web_client=web_client)
    handler.client.wss_uri = str(opened["url"])  # connect() uses it instead of asking again
    guard_socket_mode(handler.client)  # frames it cannot read are dropped with a warning, not a traceback
    try:
        await asyncio.wait_for(handler.connect_async(), connect_within)
    except TimeoutError:
        with contextlib.suppress(Exception):
            await handler.close_async()
        raise SettingsError(
            f"SLACK_APP_TOKEN: Slack gave a Socket Mode address but the WebSocket did not open within "
            f"{connect_within:.0f} s (is outbound wss:// blocked?)"
        ) from None
    log_event(logger, "slack socket mode connected")
    return SocketMode(handler)
