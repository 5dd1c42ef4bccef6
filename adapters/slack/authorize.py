"""Bolt's authorize step without a Web API call: every request is authorized from what Tend holds.

Bolt authorizes each request before a listener can ack it. Its defaults ask Slack: one workspace
(``AsyncApp(client=...)``) calls ``auth.test`` lazily before the first ack, so a slow Slack delays that
ack past Slack's 3 seconds, a failing ``auth.test`` answers "reinstall the app" and drops the command,
and a burst at start makes one ``auth.test`` per request until the first returns. OAuth mode
(``AsyncInstallationStoreAuthorize``) calls ``auth.test`` on every request.

- One workspace (``WarmedAuthorize``): the bot token is known from the settings. ``auth.test`` runs
  once, in the background, as soon as the app is built (retried with back-off until Slack answers,
  never awaited inside a request); its answer (the bot's ids, the team) is cached. A request that
  arrives before it finished is authorized with the token and the request's own team.
- Many workspaces (``StoredAuthorize``): the installation in Tend's database holds the token and the
  bot's ids (Bolt's install flow asked ``auth.test`` once, at install time). A token that expires soon
  is refreshed in the background; the ack never waits for Slack. Listeners send through
  ``WorkspaceTokens.client``, which refreshes before any send, so they never use a stale token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.oauth import WorkspaceTokens
from adapters.slack.sender import make_client
from bot.logs import log_event

logger = logging.getLogger("tend.slack")

FIRST_RETRY = 1.0  # seconds before the first retry of a failed auth.test
MAX_RETRY = 300.0  # the back-off doubles up to this
WRONG_TOKEN = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"})


@dataclass(frozen=True)
class BotIdentity:
    """What ``auth.test`` says of the bot token: whose bot it is."""

    team_id: str | None
    enterprise_id: str | None
    bot_id: str | None
    bot_user_id: str | None
    team: str | None = None
    url: str | None = None


def backoff(attempt: int, first: float = FIRST_RETRY, cap: float = MAX_RETRY) -> float:
    """Seconds to wait after the ``attempt``-th failure (1-based): 1, 2, 4, ... up to ``cap``."""
    return min(cap, first * 2 ** max(0, attempt - 1))


def bolt_client(client: AsyncWebClient) -> AsyncWebClient:
    """A token-less copy of ``client`` for ``AsyncApp(client=...)``: Bolt copies it per request and
    sets the token the authorize step returns. (Given a client with a token and an ``authorize``, Bolt
    would log that it ignores the token.)"""
    return make_client(None, client.base_url, client.session)


class WarmedAuthorize(AsyncAuthorize):
    """One workspace: the settings' bot token, and ``auth.test``'s answer once it came back.

    ``sleep`` is injected so tests can run the back-off without waiting (the real one by default).
    """

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        first_retry: float = FIRST_RETRY,
        max_retry: float = MAX_RETRY,
    ) -> None:
        if not client.token:
            raise ValueError("one workspace needs a client that carries the bot token")
        self.client = client
        self.identity: BotIdentity | None = None
        self.attempts = 0  # auth.test calls made so far (one when Slack answered the first)
        self._sleep = sleep
        self._first_retry = first_retry
        self._max_retry = max_retry
        self._task: asyncio.Task[None] | None = None
        self.start()

    def bolt_client(self) -> AsyncWebClient:
        return bolt_client(self.client)

    def start(self) -> None:
        """Starts the warm-up once, when an event loop runs (at construction in ``serve``, else on the
        first request)."""
        if self._task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._warm_up())

    async def warmed(self) -> BotIdentity:
        """Waits until ``auth.test`` answered (tests; nothing in a request path waits for this)."""
        self.start()
        assert self._task is not None
        await asyncio.shield(self._task)
        assert self.identity is not None
        return self.identity

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _warm_up(self) -> None:
        while self.identity is None:
            session = self.client.session
            if session is not None and session.closed:
                return  # Tend is stopping: the sender closed the connection pool
            self.attempts += 1
            try:
                answer = await self.client.auth_test()
            except SlackApiError as error:
                code = error.response.get("error", "") if isinstance(error.response.data, dict) else ""
                outcome = str(code or error.response.status_code or "error")
            except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as error:
                outcome = type(error).__name__
            else:
                self.identity = BotIdentity(
                    team_id=answer.get("team_id"),
                    enterprise_id=answer.get("enterprise_id"),
                    bot_id=answer.get("bot_id"),
                    bot_user_id=answer.get("user_id"),
                    team=answer.get("team"),
                    url=answer.get("url"),
                )
                log_event(logger, "slack auth checked", attempts=self.attempts)
                return
            wait = backoff(self.attempts, self._first_retry, self._max_retry)
            # A wrong token warns at once; network trouble once it lasted three tries (7 s). Requests
            # are acked and handled meanwhile.
            wrong_token = outcome in WRONG_TOKEN
            log_event(
                logger,
                "slack auth check failed",
                level=logging.WARNING if wrong_token or self.attempts >= 3 else logging.INFO,
                outcome=outcome[:40].replace(" ", "_"),
                retry_in=int(wait),
            )
            await self._sleep(wait)

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: Any,
    ) -> AuthorizeResult:
        self.start()
        known = self.identity
        return AuthorizeResult(
            enterprise_id=known.enterprise_id if known and known.enterprise_id else enterprise_id,
            team_id=known.team_id if known and known.team_id else team_id,
            team=known.team if known else None,
            url=known.url if known else None,
            bot_id=known.bot_id if known else None,
            bot_user_id=known.bot_user_id if known else None,
            bot_token=self.client.token,
            user_id=user_id,
        )


class StoredAuthorize(AsyncAuthorize):
    """Many workspaces: the team's installation from Tend's database, nothing asked of Slack.

    None (no installation, or a token no configured key opens) makes Bolt answer that the app is not
    installed, as before. A token expiring within ``tokens.refresh_within`` minutes is refreshed in a
    background task (one per team at a time, under the same locks as sends), never before the ack.
    """

    def __init__(self, tokens: WorkspaceTokens) -> None:
        self.tokens = tokens
        self.token_rotation_expiration_minutes = tokens.refresh_within  # Bolt sets this attribute
        self._refreshing: dict[str, asyncio.Task[Any]] = {}

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: Any,
    ) -> AuthorizeResult | None:
        installation = None
        if team_id:
            installation = await self.tokens.find(team_id)
        elif enterprise_id:  # an org-wide install answers for the whole organisation
            installation = await self.tokens.installations.async_find_installation(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
        if installation is None or not installation.bot_token:
            log_event(logger, "slack request from a workspace without installation", level=logging.WARNING)
            return None
        if installation.bot_refresh_token and self.tokens.expiring(installation):
            self._refresh_later(installation)
        return AuthorizeResult(
            enterprise_id=installation.enterprise_id,
            team_id=installation.team_id,
            team=installation.team_name,
            bot_id=installation.bot_id,
            bot_user_id=installation.bot_user_id,
            bot_token=installation.bot_token,
            bot_scopes=installation.bot_scopes,
            user_id=user_id,
        )

    def _refresh_later(self, installation: Any) -> None:
        team_id = installation.team_id or installation.enterprise_id or ""
        running = self._refreshing.get(team_id)
        if running is not None and not running.done():
            return
        task = asyncio.get_running_loop().create_task(self._refresh(installation))
        self._refreshing[team_id] = task

    async def _refresh(self, installation: Any) -> None:
        try:
            await self.tokens.rotate(installation)
        except Exception as error:  # the next send refreshes (and reports) again
            log_event(
                logger, "slack token refresh failed", level=logging.WARNING, outcome=type(error).__name__
            )
