"""Teams authentication: botbuilder's own validation, with every way a request can fail made a 401.

botbuilder checks the token's signature, issuer, audience (the app id) and ``serviceurl`` and raises
``PermissionError`` for those; an expired token, an unknown key id or a missing header surface as other
exceptions (a bare ``CloudAdapter.process`` answers 500). ``TeamsAuth.authenticate`` runs the same
validation before any work and turns each of them into ``Unauthorized``, so nothing is stored or sent
for a request that is not proven to come from the Bot Framework.

The endpoints default to the public cloud; ``TEAMS_OPENID_METADATA_URL``, ``TEAMS_TOKEN_ISSUER`` and
``TEAMS_LOGIN_URL`` move them (sovereign clouds, and the local servers the tests run).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import requests
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    BotFrameworkAuthenticationFactory,
    JwtTokenExtractor,
    ManagedIdentityServiceClientCredentialsFactory,
    PasswordServiceClientCredentialFactory,
    ServiceClientCredentialsFactory,
)
from msrest.authentication import Authentication

from bot.errors import TendError
from bot.logs import log_event
from bot.settings import Settings

logger = logging.getLogger("tend.teams")

LOGIN_URL_PREFIX = "https://login.microsoftonline.com/"
MULTI_TENANT_AUTHORITY = LOGIN_URL_PREFIX + "botframework.com"
OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
EMULATOR_OPENID_METADATA_URL = (
    "https://login.microsoftonline.com/botframework.com/v2.0/.well-known/openid-configuration"
)


KEY_REFRESH_INTERVAL = 3600.0  # seconds between forced fetches of the signing keys


class Unauthorized(TendError):
    """The request is not proven to come from the Bot Framework for this bot: answer 401."""


class AuthUnavailable(TendError):
    """The keys to check the request could not be fetched: answer 503 so the channel retries."""


@dataclass(frozen=True)
class TeamsConfig:
    """What Teams needs from the settings; ``app_id`` None means unauthenticated local use."""

    app_id: str | None
    password: str | None = None
    app_type: str = "MultiTenant"
    tenant_id: str | None = None
    openid_metadata_url: str | None = None
    token_issuer: str | None = None
    login_url: str | None = None
    insecure: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> TeamsConfig:
        password = settings.microsoft_app_password
        return cls(
            app_id=settings.microsoft_app_id or None,
            password=password.get_secret_value() if password is not None else None,
            app_type=settings.microsoft_app_type,
            tenant_id=settings.microsoft_app_tenant_id,
            openid_metadata_url=settings.teams_openid_metadata_url,
            token_issuer=settings.teams_token_issuer,
            login_url=settings.teams_login_url,
            insecure=settings.tend_dev_insecure,
        )

    @property
    def authority(self) -> str:
        """Where the bot gets its outbound token: the override, its own tenant, or botframework.com."""
        if self.login_url:
            return self.login_url.rstrip("/")
        if self.app_type != "MultiTenant" and self.tenant_id:
            return LOGIN_URL_PREFIX + self.tenant_id
        return MULTI_TENANT_AUTHORITY


class CachedCredentials(ServiceClientCredentialsFactory):
    """botbuilder builds new credentials (so a new MSAL app with an empty token cache) for every
    connector, which would fetch a token for every message; this keeps one per audience and endpoint,
    so MSAL reuses its token until it expires."""

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self.inner = inner
        self._made: dict[tuple[str, str, str, bool], Authentication] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return await self.inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        return await self.inner.is_authentication_disabled()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        key = (app_id or "", oauth_scope or "", login_endpoint or "", validate_authority)
        made = self._made.get(key)
        if made is None:
            made = await self.inner.create_credentials(*key)
            self._made[key] = made
        return made


def credential_factory(config: TeamsConfig) -> ServiceClientCredentialsFactory:
    if config.app_type == "UserAssignedMSI" and config.app_id:
        return CachedCredentials(ManagedIdentityServiceClientCredentialsFactory(config.app_id))
    return CachedCredentials(
        PasswordServiceClientCredentialFactory(config.app_id, config.password, config.tenant_id)
    )


def build_authentication(config: TeamsConfig) -> BotFrameworkAuthentication:
    """botbuilder's authentication with every endpoint named (defaults: the public cloud)."""
    return BotFrameworkAuthenticationFactory.create(
        to_channel_from_bot_login_url=config.authority,
        to_channel_from_bot_oauth_scope=AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
        to_bot_from_channel_token_issuer=config.token_issuer
        or AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
        oauth_url=AuthenticationConstants.OAUTH_URL,
        to_bot_from_channel_open_id_metadata_url=config.openid_metadata_url or OPENID_METADATA_URL,
        to_bot_from_emulator_open_id_metadata_url=EMULATOR_OPENID_METADATA_URL,
        credential_factory=credential_factory(config),
    )


class TeamsAuth:
    """Verifies inbound requests; fails closed unless unauthenticated local use was asked for."""

    def __init__(self, config: TeamsConfig, authentication: BotFrameworkAuthentication) -> None:
        self.config = config
        self.authentication = authentication
        self._keys_refreshed_at = float("-inf")

    @property
    def requires_token(self) -> bool:
        """Whether a request without a bearer token can be refused before its body is read: always,
        unless unauthenticated local use (no app id, TEND_DEV_INSECURE) was asked for."""
        return bool(self.config.app_id) or not self.config.insecure

    async def authenticate(self, activity: Activity, header: str | None) -> AuthenticateRequestResult:
        """The verified identity; ``activity`` needs only ``channel_id``, ``service_url`` and
        ``recipient.role`` (the adapter checks a bare one before deserialising the whole body)."""
        if not self.config.app_id:
            if not self.config.insecure:
                raise Unauthorized("no_app_id")
            # TEND_DEV_INSECURE with no app id: botbuilder's anonymous identity (logged at start-up).
            return await self.authentication.authenticate_request(activity, None)
        if not header or not header.startswith("Bearer "):
            raise Unauthorized("missing_token")
        try:
            try:
                return await self.authentication.authenticate_request(activity, header)
            except IndexError:
                # botbuilder's key lookup fails this way for an unknown key id and then waits a day
                # before fetching the keys again; after a rotation, fetch them now (at most hourly).
                if not self._forget_keys():
                    raise
                return await self.authentication.authenticate_request(activity, header)
        except requests.RequestException as error:
            log_event(logger, "teams keys unavailable", level=logging.WARNING, outcome=type(error).__name__)
            raise AuthUnavailable(type(error).__name__) from None
        except Exception as error:
            raise Unauthorized(type(error).__name__) from None

    def _forget_keys(self) -> bool:
        """Drops botbuilder's cached signing keys so the next check fetches them; False if too soon."""
        now = time.monotonic()
        if now - self._keys_refreshed_at < KEY_REFRESH_INTERVAL:
            return False
        self._keys_refreshed_at = now
        JwtTokenExtractor.metadataCache.pop(self.config.openid_metadata_url or OPENID_METADATA_URL, None)
        log_event(logger, "teams signing keys refetched", outcome="unknown_kid")
        return True
