"""Tend's configuration, read once at start-up from the environment and ``.env``.

Every setting is named by its environment variable (see ``.env.example``). Secrets are ``SecretStr``
and the passwords in URLs are masked, so printing or logging the settings never shows a credential.
``load_settings`` is the one entry point: it turns every problem into one ``SettingsError`` that names
each bad variable in plain words, and refuses half-configured platforms (security fails closed). An
error quotes what was given only for settings that cannot hold a secret (``ECHOED``): a URL, a token
or a key is never repeated back, not even masked, since a mistyped one hides its password from the
masking (``user:password@host`` without a scheme).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_serializer, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.errors import SettingsError
from practices.compassion_index_maths import COMPONENTS, DEFAULT_WEIGHTS
from practices.privacy_policy import DEFAULT_MIN_GROUP_SIZE, PRIVACY_FLOOR, effective_minimum
from practices.sealing import MIN_SECRET_LENGTH, Keyring, key_from_text

logger = logging.getLogger("tend.settings")

APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_SCHEMES = ("sqlite:///", "postgresql://")
MASK = "**********"

# What each setting must look like, in the operator's words (used for every error on that setting).
_RULES: dict[str, str] = {
    "database_url": "must start with sqlite:/// or postgresql://",
    "slack_api_url": "must be an http:// or https:// URL",
    "microsoft_app_type": "must be one of " + ", ".join(APP_TYPES),
    "teams_openid_metadata_url": "must be an http:// or https:// URL",
    "teams_token_issuer": "must not be empty",
    "teams_login_url": "must be an http:// or https:// URL",
    "host": "must be a host name or IP address to listen on",
    "port": "must be a whole number between 1 and 65535",
    "tend_public_url": "must be the http:// or https:// base URL where Slack and Teams reach Tend, "
    "with no user name, password, query or fragment",
    "tend_inbound_max_queued": "must be a whole number of events, at least 1",
    "tend_min_group_size": f"must be a whole number; values below {PRIVACY_FLOOR} are raised to it",
    "tend_log_level": "must be one of " + ", ".join(LOG_LEVELS),
    "tend_dev_insecure": "must be true or false",
    "tend_support_reply_hours": "must be a whole number of hours, at least 1",
    "tend_secret_key": "must be at least 32 characters (generate one with: openssl rand -base64 32)",
    "tend_previous_secret_keys": "must be keys of at least 32 characters each, separated by commas "
    "(the keys used before TEND_SECRET_KEY; see docs/operations.md, rotating the key)",
    "tend_index_weights": "must be name=weight pairs separated by commas, names from "
    + ", ".join(COMPONENTS)
    + ", weights 0 or more, at least one above 0 (e.g. supportive=0.3,contagion=0.2)",
}

# Set only while load_settings runs with an explicit mapping, so that call never sees os.environ.
_explicit_environ: ContextVar[Mapping[str, str] | None] = ContextVar("tend_explicit_environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of ``os.environ`` (tests, embedding)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Same normalisation the real source applies for this config: names case-insensitive, "" unset.
        return {key.lower(): value for key, value in self._environ.items() if value != ""}


def parse_index_weights(text: str) -> dict[str, float]:
    """``supportive=0.3,contagion=0.2`` over the defaults; raises ValueError on anything else."""
    weights = dict(DEFAULT_WEIGHTS)
    for pair in filter(None, (part.strip() for part in text.split(","))):
        name, sep, raw = pair.partition("=")
        if not sep or name.strip() not in COMPONENTS:
            raise ValueError(f"unknown component in {pair!r}")
        value = float(raw)
        if not value >= 0:  # also refuses nan
            raise ValueError(f"negative weight in {pair!r}")
        weights[name.strip()] = value
    if not any(weight > 0 for weight in weights.values()):
        raise ValueError("every weight is 0")
    return weights


def mask_database_url(url: str) -> str:
    """The URL with any password replaced, so it can be shown in reprs, logs and error messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostinfo = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostinfo}"
    query = parts.query
    if "password=" in query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(key, MASK if key == "password" else value) for key, value in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _database_password(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.password:
        return parts.password
    return next((value for key, value in parse_qsl(parts.query) if key == "password" and value), None)


# Settings holding a URL besides DATABASE_URL: a password in one is masked in reprs and in logs.
URL_FIELDS = (
    "slack_api_url",
    "teams_openid_metadata_url",
    "teams_token_issuer",
    "teams_login_url",
    "tend_public_url",
)


def _split_keys(text: str) -> list[str]:
    return [key.strip() for key in text.split(",") if key.strip()]


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise ValueError("not an http(s) URL")
    return value


class Settings(BaseSettings):
    """One immutable object built at start-up and passed to whatever needs configuration."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # a key copied from .env.example with no value counts as unset
        case_sensitive=False,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    # Database
    database_url: str = "sqlite:///./data/tend.db"

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    # Teams
    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    microsoft_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = "MultiTenant"
    microsoft_app_tenant_id: str | None = None
    teams_openid_metadata_url: str | None = None
    teams_token_issuer: str | None = None
    teams_login_url: str | None = None

    # Server
    host: str = Field(default="0.0.0.0", min_length=1)
    port: int = Field(default=3000, ge=1, le=65535)
    tend_public_url: str | None = None  # https base URL clients reach Tend at; Teams cards link charts here
    # Acked Slack events waiting in the inbound table (every replica's) above which new ones are refused
    # with "Tend is busy" (or a 503 that Slack retries): a backlog this deep will not be answered in time.
    tend_inbound_max_queued: int = Field(default=10_000, ge=1)

    # Privacy
    # Keys everything an anonymous flow keeps (voter keys, relay routing) and seals stored platform
    # tokens; never stored in the database.
    tend_secret_key: SecretStr | None = None
    # Keys used before TEND_SECRET_KEY, comma-separated: they still open what they sealed, never seal.
    tend_previous_secret_keys: SecretStr | None = None
    tend_min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    tend_support_reply_hours: int = Field(default=48, ge=1)
    # Another route offered to someone whose request to talk nobody on the rota can see soon (an EAP
    # line, HR's address); empty: the generic "your manager, HR or EAP" words.
    tend_support_fallback: str = Field(default="", max_length=500)
    tend_index_weights: str = ""  # overrides of the index weights; the rest keep their defaults

    # Logging and development
    tend_log_level: str = "INFO"
    tend_dev_insecure: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _explicit_environ.get()
        if environ is not None:
            env_settings = _MappingEnvSource(settings_cls, environ)
        return init_settings, env_settings, dotenv_settings

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(DATABASE_SCHEMES):
            raise ValueError(_RULES["database_url"])
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        value = _http_url(value) or ""
        # slack_sdk joins method names onto the base URL, which drops a last segment without "/".
        return value if value.endswith("/") else value + "/"

    @field_validator("teams_openid_metadata_url", "teams_login_url")
    @classmethod
    def _optional_http_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("tend_public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        url = _http_url(value)
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError(_RULES["tend_public_url"])
        return url.rstrip("/")  # callers append "/charts/..."

    @field_validator("teams_token_issuer", "host")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("blank")
        return value.strip() if value is not None else None

    @field_validator("tend_secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_SECRET_LENGTH:
            raise ValueError(_RULES["tend_secret_key"])
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("tend_previous_secret_keys")
    @classmethod
    def _previous_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        keys = _split_keys(value.get_secret_value())
        if not keys or any(len(key) < MIN_SECRET_LENGTH for key in keys):
            raise ValueError(_RULES["tend_previous_secret_keys"])
        return SecretStr(",".join(keys))

    @field_validator("microsoft_app_type", mode="before")
    @classmethod
    def _app_type_any_case(cls, value: Any) -> Any:
        if isinstance(value, str):
            return next((known for known in APP_TYPES if known.lower() == value.strip().lower()), value)
        return value

    @field_validator("tend_index_weights")
    @classmethod
    def _index_weights(cls, value: str) -> str:
        parse_index_weights(value)
        return value

    @field_validator("tend_log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(_RULES["tend_log_level"])
        return level

    @model_validator(mode="after")
    def _platforms_fully_configured(self) -> Settings:
        problems = [*_slack_problems(self), *_teams_problems(self)]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @field_serializer("database_url", *URL_FIELDS)
    def _serialize_url(self, value: str | None) -> str | None:
        return mask_database_url(value) if value is not None else None

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            masked = name in ("database_url", *URL_FIELDS) and isinstance(value, str)
            yield name, (mask_database_url(value) if masked else value)

    @property
    def masked_database_url(self) -> str:
        return mask_database_url(self.database_url)

    @property
    def slack_oauth(self) -> bool:
        """Many workspaces install Tend through OAuth; tokens then live in the database."""
        return bool(self.slack_client_id and self.slack_client_secret and self.slack_signing_secret)

    @property
    def slack_enabled(self) -> bool:
        """Over HTTP every request is verified with the signing secret; Socket Mode needs none (the
        app-level token authenticates the WebSocket Tend opens itself)."""
        over_http = bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_oauth))
        over_socket = bool(self.slack_app_token and self.slack_bot_token)
        return over_http or over_socket

    @property
    def slack_socket_mode(self) -> bool:
        """Slack connects over a WebSocket instead of calling our HTTP endpoint (no public URL needed)."""
        return self.slack_enabled and self.slack_app_token is not None

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id) or self.tend_dev_insecure

    @property
    def index_weights(self) -> dict[str, float]:
        return parse_index_weights(self.tend_index_weights)

    @property
    def secret_key(self) -> Keyring | None:
        """``TEND_SECRET_KEY`` as bytes, with ``TEND_PREVIOUS_SECRET_KEYS`` beside it (they still open
        what they sealed); None when unset (only the console may then make its own)."""
        key = self.tend_secret_key
        if key is None:
            return None
        return Keyring(key_from_text(key.get_secret_value()), self.previous_secret_keys)

    @property
    def previous_secret_keys(self) -> list[bytes]:
        given = self.tend_previous_secret_keys
        return [key_from_text(key) for key in _split_keys(given.get_secret_value())] if given else []

    @property
    def min_group_size(self) -> int:
        """The configured size, never below the privacy floor."""
        return effective_minimum(self.tend_min_group_size)

    def secret_values(self) -> tuple[str, ...]:
        """Every credential's plain value, for the log filter to mask wherever one shows up."""
        values = [
            secret.get_secret_value()
            for secret in (
                self.slack_bot_token,
                self.slack_signing_secret,
                self.slack_client_secret,
                self.slack_app_token,
                self.microsoft_app_password,
                self.tend_secret_key,
            )
            if secret is not None and secret.get_secret_value()
        ]
        if self.tend_previous_secret_keys is not None:
            values.extend(_split_keys(self.tend_previous_secret_keys.get_secret_value()))
        for url in (self.database_url, *(getattr(self, name) for name in URL_FIELDS)):
            password = _database_password(url) if url else None
            if password:
                values.append(password)
        return tuple(values)


def _slack_problems(settings: Settings) -> list[str]:
    given = {
        "SLACK_BOT_TOKEN": settings.slack_bot_token is not None,
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret is not None,
        "SLACK_CLIENT_ID": settings.slack_client_id is not None,
        "SLACK_CLIENT_SECRET": settings.slack_client_secret is not None,
        "SLACK_APP_TOKEN": settings.slack_app_token is not None,
    }
    set_names = [name for name, present in given.items() if present]
    if not set_names:
        return []
    because = " and ".join(set_names) + (" is" if len(set_names) == 1 else " are") + " set"
    problems = []
    if given["SLACK_CLIENT_ID"] != given["SLACK_CLIENT_SECRET"]:
        missing, present = (
            ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID")
            if given["SLACK_CLIENT_ID"]
            else ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
        )
        problems.append(f"{missing}: missing; {present} is set and Slack OAuth needs both")
    socket_only = given["SLACK_APP_TOKEN"] and given["SLACK_BOT_TOKEN"] and not given["SLACK_CLIENT_ID"]
    if not given["SLACK_SIGNING_SECRET"] and not socket_only:
        problems.append(
            f"SLACK_SIGNING_SECRET: missing; {because}, and Tend does not accept Slack requests "
            "it cannot verify"
        )
    if not given["SLACK_BOT_TOKEN"] and not (given["SLACK_CLIENT_ID"] or given["SLACK_CLIENT_SECRET"]):
        problems.append(
            f"SLACK_BOT_TOKEN: missing; {because}, and Slack also needs SLACK_BOT_TOKEN (one workspace) "
            "or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth, many workspaces)"
        )
    return problems


def _teams_problems(settings: Settings) -> list[str]:
    problems = []
    if settings.microsoft_app_password is not None and not settings.microsoft_app_id:
        problems.append("MICROSOFT_APP_ID: missing; MICROSOFT_APP_PASSWORD is set and Teams needs both")
    if settings.microsoft_app_id:
        app_type = settings.microsoft_app_type
        if app_type != "UserAssignedMSI" and settings.microsoft_app_password is None:
            problems.append(
                f"MICROSOFT_APP_PASSWORD: missing; MICROSOFT_APP_ID is set and a {app_type} bot "
                "needs its password to send"
            )
        if app_type != "MultiTenant" and not settings.microsoft_app_tenant_id:
            problems.append(
                f"MICROSOFT_APP_TENANT_ID: missing; MICROSOFT_APP_TYPE is {app_type}, "
                "which needs the tenant id"
            )
    return problems


# The only settings whose given value an error repeats: none of them can hold a credential. Every other
# one (tokens, keys, passwords, and every URL, whose user info or query may carry a password, or whose
# mistyped form hides it from any masking) is named and described, never quoted.
ECHOED = frozenset(
    {
        "port",
        "host",
        "microsoft_app_type",
        "tend_min_group_size",
        "tend_support_reply_hours",
        "tend_log_level",
        "tend_dev_insecure",
        "tend_index_weights",
    }
)


def _shown_input(field: str, value: Any) -> str:
    if field not in ECHOED:
        return ""
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f" (got {text!r})"


def _describe(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors():
        if not error["loc"]:  # the cross-setting checks: their message already names each setting
            cause = (error.get("ctx") or {}).get("error")
            problems.extend(str(cause or error["msg"]).splitlines())
            continue
        field = str(error["loc"][0])
        rule = _RULES.get(field) or error["msg"].removeprefix("Value error, ")
        problems.append(f"{field.upper()}: {rule}{_shown_input(field, error.get('input'))}")
    return list(dict.fromkeys(problems))


def load_settings(env: Mapping[str, str] | None = None, env_file: str | None = ".env") -> Settings:
    """Read settings once; ``env`` replaces the process environment entirely (tests use it with
    ``env_file=None`` so nothing from the developer's machine leaks in)."""
    token = _explicit_environ.set(env)
    try:
        settings = Settings(_env_file=env_file)
    except ValidationError as exc:
        problems = _describe(exc)
        raise SettingsError(
            "fix these settings (environment or .env):\n" + "\n".join(f"  {problem}" for problem in problems)
        ) from None
    finally:
        _explicit_environ.reset(token)
    if settings.tend_min_group_size < PRIVACY_FLOOR:
        logger.warning(
            "TEND_MIN_GROUP_SIZE raised to the privacy floor",
            extra={"configured": settings.tend_min_group_size, "effective": settings.min_group_size},
        )
    if settings.tend_dev_insecure:
        logger.warning(
            "TEND_DEV_INSECURE is on: Teams requests are not authenticated. Local development only, "
            "never in production",
        )
    return settings
