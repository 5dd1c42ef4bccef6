"""Tend's errors: one small hierarchy, so callers catch by meaning rather than by library.

    TendError                 base: anything Tend raises on purpose
    ├── SettingsError         the configuration cannot start Tend; the message names each setting
    ├── SendError             an outbound message did not reach the platform
    └── UnsupportedByPlatform an adapter cannot do what was asked (e.g. open a form without a trigger)

Errors from libraries (aiohttp, SQLAlchemy, the platform SDKs) are translated at the edge that calls
them; only these names cross layers.
"""

from __future__ import annotations


class TendError(Exception):
    """Base class, so one ``except TendError`` separates expected failures from bugs."""


class SettingsError(TendError):
    """Start-up configuration is wrong; the message is meant for the operator, one line per setting."""


class SendError(TendError):
    """An outbound message failed; the attributes tell the delivery worker whether and when to retry."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds the platform asked us to wait (HTTP 429 Retry-After)
        self.permanent = permanent or unreachable  # retrying cannot help (blocked bot, deleted channel)
        # The person blocked or removed Tend (Teams 403 MessageWritesBlocked): stop DMing them until
        # they write to Tend again.
        self.unreachable = unreachable


class UnsupportedByPlatform(TendError):
    """Raised by an adapter, so the engine can fall back instead of guessing what a platform can do."""
