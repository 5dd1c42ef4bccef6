"""Many workspaces: Slack's OAuth v2 install, tokens kept in Tend's database, rotation, uninstall.

- Install: ``GET /slack/install`` shows an "Add to Slack" link to Slack's authorize page with a
  one-time ``state`` (kept in the database and in a cookie, so it works across replicas);
  ``GET /slack/oauth_redirect`` checks the state, trades the code with ``oauth.v2.access`` and saves
  the installation. Scopes come from ``manifest.yml``, the one place they are written.
- Storage: slack_sdk's own SQLAlchemy stores, bound to Tend's database through the
  ``bot.ports.SdkTables`` port (``app.py`` wires ``storage.external.ExternalTables``): this module
  runs no SQL and holds no connection. Their tables (``STORE_TABLES``) are created at start-up
  (idempotent, under an advisory lock on PostgreSQL) and are not part of Tend's Alembic models: the
  migration drift check ignores them.
- Tokens at rest: ``SealedInstallationStore`` seals every token (bot, refresh, user, and an incoming
  webhook's URL) under ``TEND_SECRET_KEY`` before it is written and opens it when read
  (``bot.credentials``); a dump of these tables without the key holds no usable token. Sealed values
  are longer than Slack's ``VARCHAR(200)`` columns allow, so on PostgreSQL those columns are widened to
  ``TEXT`` at start-up. ``SlackOAuth.use_key`` (at every start, before anything is served) seals the
  tokens still in plain text from before; ``reseal_credentials`` is the Slack part of
  ``python app.py rotate-key``.
- Rotation: a rotating bot token lives 12 hours and Slack refreshes it only when asked. Before any
  outbound send (``WorkspaceTokens.client``) a token expiring within ``REFRESH_WITHIN`` minutes is
  refreshed first; an inbound request that finds it expiring starts a refresh in the background
  (``adapters.slack.authorize.StoredAuthorize``), since the ack must not wait for Slack. Refreshing
  twice at once would waste a refresh token, so refreshes of one team are serialised: an asyncio lock
  per team inside a process, and on PostgreSQL a transaction-scoped advisory lock keyed on the team
  across replicas; whoever gets the lock second re-reads the installation and finds it already fresh.
- Uninstall: ``app_uninstalled`` (or ``tokens_revoked`` for the bot) deletes the workspace's
  installation and bots, and the engine gets a neutral ``WorkspaceRemoved`` that marks the workspace
  inactive, which stops its rituals and deliveries.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import html
import logging
import time
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.sender import make_client, sdk_logger, send_error, web_session
from bot.credentials import credential_purpose, open_credential, reseal_credential, seal_credential
from bot.errors import SendError
from bot.events import Origin, PersonRef, WorkspaceRemoved
from bot.logs import log_event
from bot.ports import SdkTables

logger = logging.getLogger("tend.slack")

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"  # Slack's real one; tests keep it too
MANIFEST = Path(__file__).with_name("manifest.yml")
REFRESH_WITHIN = 10  # minutes before expiry when a rotating token is refreshed
CLIENTS_KEPT = 1_000  # Web API clients kept for the workspaces sent to most recently (under 1 KB each)
LOCK_STRIPES = 64  # token refreshes of teams in one stripe wait for each other in this process
STATE_SECONDS = 600  # how long an install link's state stays valid
# slack_sdk's default table names; storage.migrate keeps Alembic's drift check away from them.
STORE_TABLES = ("slack_installations", "slack_bots", "slack_oauth_states")
# First key of every advisory lock taken here ("TSLK"); the second is derived from the team id.
LOCK_NAMESPACE = 0x54534C4B
CREATE_LOCK, RESEAL_LOCK = (LOCK_NAMESPACE, 0), (LOCK_NAMESPACE, 1)
# Columns holding credentials, per store table; sealed at rest (and widened to TEXT on PostgreSQL).
INSTALLATION_SECRETS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
WEBHOOK_SECRET = "incoming_webhook_url"  # anyone with the URL can post to its channel
CREDENTIAL_COLUMNS = {
    "slack_installations": (*INSTALLATION_SECRETS, WEBHOOK_SECRET),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}

INSTALLED_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Tend is installed</title></head>
<body><h1>Tend is installed{where}.</h1>
<p>Type <code>/tend help</code> in any channel to start, or <code>/kudos @someone why</code> to thank
someone. You can close this page.</p></body></html>"""
REFUSED_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>Tend was not installed</title></head><body><h1>Tend was not installed</h1><p>{why}</p>
<p><a href="{install}">Start the installation again</a>.</p></body></html>"""
WHY = {
    "invalid_state": "This install link has expired or was already used.",
    "invalid_browser": "This install link was opened in a different browser from the one that started it.",
    "access_denied": "The installation was cancelled in Slack.",
    "missing_code": "Slack did not send the code Tend needs.",
    "invalid_code": "Slack did not accept the install code; it may have expired.",
}
WHY_OTHER = "Something went wrong while saving the installation. Nothing was changed."


def manifest_scopes(text: str | None = None) -> list[str]:
    """The bot scopes in ``manifest.yml`` (``oauth_config.scopes.bot``), read without a YAML library
    so the install asks for exactly what the manifest declares; tests compare with a real parser."""
    source = MANIFEST.read_text() if text is None else text
    scopes: list[str] = []
    path: list[tuple[int, str]] = []
    for raw in source.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if item.startswith("- "):
            if [key for _, key in path] == ["oauth_config", "scopes", "bot"]:
                scopes.append(item[2:].strip().strip("\"'"))
            continue
        while path and path[-1][0] >= indent:
            path.pop()
        path.append((indent, item.split(":", 1)[0].strip()))
    return scopes


def team_lock_key(team_id: str) -> int:
    """A stable signed 32-bit key for a team (Python's ``hash`` differs between processes)."""
    return int.from_bytes(hashlib.sha256(team_id.encode()).digest()[:4], "big", signed=True)


def removed_event(body: dict[str, Any]) -> WorkspaceRemoved | None:
    """``app_uninstalled``, or ``tokens_revoked`` naming the bot, as the neutral event; else None."""
    event = body.get("event") or {}
    kind = event.get("type")
    if kind == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
        return None  # only people's tokens went: Tend's bot is still there
    team_id = body.get("team_id")
    if kind not in ("app_uninstalled", "tokens_revoked") or not team_id:
        return None
    origin = Origin(platform="slack", workspace_id=str(team_id), actor=PersonRef(None))
    event_id = body.get("event_id")
    return WorkspaceRemoved(origin, event_id=f"event:{event_id}" if event_id else None)


class WorkspaceTokens:
    """Bot tokens per team from the installation store, refreshed shortly before they expire.

    ``tables`` is the port to the stores' tables: the Grid lookup and the cross-replica lock.
    """

    def __init__(
        self,
        installations: AsyncSQLAlchemyInstallationStore,
        rotator: AsyncTokenRotator,
        tables: SdkTables,
        api_url: str,
        *,
        session: aiohttp.ClientSession,
        refresh_within: int = REFRESH_WITHIN,
    ) -> None:
        self.installations = installations
        self.rotator = rotator
        self.tables = tables
        self.api_url = api_url
        self.session = session
        self.refresh_within = refresh_within
        # Bounded whatever the number of workspaces: one lock per stripe of teams, and only the clients
        # of the workspaces sent to most recently (benchmarks/memory.py: 10,000 workspaces).
        self._locks = tuple(asyncio.Lock() for _ in range(LOCK_STRIPES))
        self._clients = RecentClients()

    async def client(self, team_id: str) -> AsyncWebClient:
        """A client with the team's current bot token (``SlackSender``'s ``clients`` callable)."""
        installation = await self.find(team_id)
        if installation is None or not installation.bot_token:
            raise SendError("no Slack installation for this workspace", permanent=True)
        if installation.bot_refresh_token:
            try:
                installation = await self.rotate(installation)
            except SlackTokenRotationError as error:
                log_event(logger, "slack token refresh failed", level=logging.WARNING, slack_team=team_id)
                raise send_error(error.api_error, "oauth.v2.access") from None
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
                log_event(logger, "slack token refresh failed", level=logging.WARNING, slack_team=team_id)
                raise send_error(error, "oauth.v2.access") from None
        token = installation.bot_token or ""
        cached = self._clients.get(team_id, token)
        if cached is None:
            cached = make_client(token, self.api_url, self.session)
            self._clients.put(team_id, cached)
        return cached

    async def find(self, team_id: str) -> Installation | None:
        """The team's latest installation, also for a workspace inside an Enterprise Grid org."""
        found = await self.installations.async_find_installation(enterprise_id=None, team_id=team_id)
        if found is not None:
            return found
        enterprise_id = await self.tables.first(
            "slack_installations",
            "enterprise_id",
            equal={"client_id": self.installations.client_id, "team_id": team_id},
            present="enterprise_id",
        )
        if enterprise_id is None:
            return None
        return await self.installations.async_find_installation(enterprise_id=enterprise_id, team_id=team_id)

    async def rotate(self, installation: Installation) -> Installation:
        """The installation with a bot token good for ``refresh_within`` more minutes (refreshed and
        saved when it was not). One refresh per team at a time, in this process and across replicas."""
        if not self.expiring(installation):
            return installation
        team_id = installation.team_id or ""
        lock = self._locks[zlib.crc32(team_id.encode()) % LOCK_STRIPES]
        # Across replicas: on PostgreSQL a transaction-scoped advisory lock on the team, held until
        # the block ends (the save happens inside it on another connection and commits first).
        async with lock, self.tables.lock(LOCK_NAMESPACE, team_lock_key(team_id)):
            # Whoever waited may find the work done by the task or replica that held the lock.
            current = await self.installations.async_find_installation(
                enterprise_id=installation.enterprise_id, team_id=installation.team_id
            )
            current = current or installation
            refreshed = await self.rotator.perform_token_rotation(
                installation=current, minutes_before_expiration=self.refresh_within
            )
            if refreshed is None:
                return current
            await self.installations.async_save(refreshed)
            log_event(logger, "slack token refreshed", slack_team=team_id or "-")
            return refreshed

    def expiring(self, installation: Installation) -> bool:
        expires_at = installation.bot_token_expires_at
        if expires_at is None or not installation.bot_refresh_token:
            return False
        # The expiry is Slack's wall-clock time (as the SDK's rotator reads it), not Tend's clock.
        return expires_at <= time.time() + self.refresh_within * 60

    def forget(self, team_id: str) -> None:
        self._clients.pop(team_id)


class RecentClients:
    """Web API clients of the workspaces Tend sent to most recently, at most ``keep`` of them: a client
    is cheap to rebuild, and a process serving thousands of workspaces must not hold one for each."""

    def __init__(self, keep: int = CLIENTS_KEPT) -> None:
        self.keep = keep
        self._clients: OrderedDict[str, AsyncWebClient] = OrderedDict()

    def get(self, team_id: str, token: str) -> AsyncWebClient | None:
        """The team's client if it still carries ``token`` (a rotated token needs a new client)."""
        client = self._clients.get(team_id)
        if client is None or client.token != token:
            return None
        self._clients.move_to_end(team_id)
        return client

    def put(self, team_id: str, client: AsyncWebClient) -> None:
        self._clients[team_id] = client
        self._clients.move_to_end(team_id)
        while len(self._clients) > self.keep:
            self._clients.popitem(last=False)

    def pop(self, team_id: str) -> None:
        self._clients.pop(team_id, None)

    def __contains__(self, team_id: object) -> bool:
        return team_id in self._clients


def _credential_purpose(field_name: str, owner: Installation | Bot | dict[str, Any]) -> str:
    """One purpose per column and workspace (a sealed token moved to another row does not open)."""
    if isinstance(owner, dict):
        enterprise_id, team_id = owner.get("enterprise_id"), owner.get("team_id")
    else:
        enterprise_id, team_id = owner.enterprise_id, owner.team_id
    return credential_purpose(f"slack/{field_name}", enterprise_id, team_id)


class SealedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy store, with every credential sealed on the way in and opened on the
    way out. ``secret`` is the server secret (a ``Keyring``: previous keys still open); until
    ``SlackOAuth.use_key`` sets it, storing a token fails (fails closed: never a plain token)."""

    secret: bytes | None = None

    def _sealed(self, item: Any, fields: tuple[str, ...]) -> Any:
        sealed = copy.copy(item)  # the caller's object (Bolt's install flow reads it after) stays plain
        for name in fields:
            value = getattr(sealed, name, None)
            setattr(sealed, name, seal_credential(self.secret, _credential_purpose(name, item), value))
        return sealed

    def _opened(self, item: Any, fields: tuple[str, ...]) -> Any:
        if item is None:
            return None
        for name in fields:
            stored = getattr(item, name, None)
            opened = open_credential(self.secret, _credential_purpose(name, item), stored)
            if stored is not None and opened is None:
                log_event(
                    logger,
                    "slack credential unreadable with the configured keys",
                    level=logging.WARNING,
                    slack_team=item.team_id or item.enterprise_id or "-",
                )
            setattr(item, name, opened)
        return item

    async def async_save(self, installation: Installation) -> None:
        await super().async_save(self._sealed(installation, CREDENTIAL_COLUMNS["slack_installations"]))

    async def async_save_bot(self, bot: Bot) -> None:
        await super().async_save_bot(self._sealed(bot, CREDENTIAL_COLUMNS["slack_bots"]))

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(found, CREDENTIAL_COLUMNS["slack_installations"])

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = await super().async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return self._opened(found, CREDENTIAL_COLUMNS["slack_bots"])


@dataclass
class SlackOAuth:
    """Everything the OAuth mode needs, built once at start-up by ``slack_oauth``."""

    client_id: str
    client_secret: str
    api_url: str
    installations: SealedInstallationStore
    states: AsyncSQLAlchemyOAuthStateStore
    tokens: WorkspaceTokens
    session: aiohttp.ClientSession  # the Web API connection pool (the SlackSender closes it)
    authorization_url: str = AUTHORIZE_URL
    redirect_uri: str | None = None
    scopes: list[str] = field(default_factory=manifest_scopes)

    def settings(self, on_installed: Callable[[Installation], Awaitable[None]]) -> AsyncOAuthSettings:
        return AsyncOAuthSettings(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scopes=self.scopes,
            user_scopes=[],
            redirect_uri=self.redirect_uri,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            authorization_url=self.authorization_url,
            installation_store=self.installations,
            token_rotation_expiration_minutes=self.tokens.refresh_within,
            state_store=self.states,
            state_expiration_seconds=STATE_SECONDS,
            callback_options=_callback_options(on_installed),
            logger=sdk_logger("bolt"),
        )

    async def use_key(self, secret: bytes) -> dict[str, int]:
        """Tokens are sealed under ``secret`` from now on; tokens stored in plain text before Tend
        sealed them are sealed now (at the first start with a key; a no-op afterwards). Call before
        anything is served."""
        self.installations.secret = secret
        counts = await reseal_credentials(self.tokens.tables, secret, plain_only=True)
        if counts.get("sealed"):
            log_event(logger, "slack tokens stored in plain text were sealed", count=counts["sealed"])
        return counts

    async def remove(self, team_id: str, enterprise_id: str | None = None) -> None:
        """Deletes every installation and bot of the team (the tokens are dead anyway)."""
        await self.installations.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
        self.tokens.forget(team_id)


def _callback_options(on_installed: Callable[[Installation], Awaitable[None]]) -> AsyncCallbackOptions:
    """Tend's own pages after Slack sends the installer back (Bolt's defaults say "Slack App")."""

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        await on_installed(args.installation)
        name = args.installation.team_name or ""
        where = f" in {html.escape(name)}" if name else ""
        return BoltResponse(
            status=200,
            body=INSTALLED_PAGE.format(where=where),
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion(),
            },
        )

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        log_event(logger, "slack install refused", outcome=args.reason if args.reason in WHY else "other")
        why = WHY.get(args.reason, WHY_OTHER)
        return BoltResponse(
            status=args.suggested_status_code,
            body=REFUSED_PAGE.format(why=html.escape(why), install=INSTALL_PATH),
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion(),
            },
        )

    return AsyncCallbackOptions(success=success, failure=failure)


async def reseal_credentials(tables: SdkTables, secret: bytes, *, plain_only: bool = False) -> dict[str, int]:
    """Every stored Slack credential sealed under the current key of ``secret``: plain ones (written
    before Tend sealed tokens) and, unless ``plain_only``, ones a previous key sealed (key rotation).
    Returns how many were ``sealed``, ``resealed``, already ``current`` or ``unreadable`` (no key
    opens it: left as it is, and that workspace must install Tend again). Replicas take turns on
    PostgreSQL; each row is rewritten only if it still holds what was read (compare-and-set), so a
    token refreshed meanwhile is never overwritten."""
    counts = {"sealed": 0, "resealed": 0, "current": 0, "unreadable": 0}

    def change(name: str, row: Mapping[str, Any]) -> dict[str, str]:
        changes: dict[str, str] = {}
        for field_name in CREDENTIAL_COLUMNS[name]:
            stored = row[field_name]
            if stored is None:
                continue
            outcome, value = reseal_credential(secret, _credential_purpose(field_name, dict(row)), stored)
            if plain_only and outcome == "resealed":
                outcome, value = "current", None
            counts[outcome] += 1
            if value is not None:
                changes[field_name] = value
        return changes

    await tables.rewrite(CREDENTIAL_COLUMNS, change, read=("enterprise_id", "team_id"), lock=RESEAL_LOCK)
    return counts


async def slack_oauth(
    *,
    client_id: str,
    client_secret: str,
    api_url: str,
    tables: SdkTables,
    authorization_url: str = AUTHORIZE_URL,
    redirect_uri: str | None = None,
    secret_key: bytes | None = None,
) -> SlackOAuth:
    """The OAuth pieces over Tend's database (``tables``: the port to the stores' tables); creates
    the store tables if they are missing. Tokens can be stored only once a key is given (``secret_key``
    here, or ``SlackOAuth.use_key``)."""
    engine = tables.bind  # slack_sdk's stores run their own statements on it
    installations = SealedInstallationStore(client_id=client_id, engine=engine, logger=sdk_logger("store"))
    states = AsyncSQLAlchemyOAuthStateStore(
        expiration_seconds=STATE_SECONDS, engine=engine, logger=sdk_logger("store")
    )
    schemas = (installations.metadata, states.metadata)
    await tables.create(schemas, lock=CREATE_LOCK, text_columns=CREDENTIAL_COLUMNS)
    session = web_session()
    rotator = AsyncTokenRotator(
        client_id=client_id, client_secret=client_secret, client=make_client(None, api_url, session)
    )
    tokens = WorkspaceTokens(installations, rotator, tables, api_url, session=session)
    oauth = SlackOAuth(
        client_id=client_id,
        client_secret=client_secret,
        api_url=api_url,
        installations=installations,
        states=states,
        tokens=tokens,
        session=session,
        authorization_url=authorization_url,
        redirect_uri=redirect_uri,
    )
    if secret_key is not None:
        await oauth.use_key(secret_key)
    return oauth
