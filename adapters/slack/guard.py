"""``POST /slack/events``: prove a request came from Slack before reading a byte of it as text.

Bolt parses the body (UTF-8, then JSON or a form) while it builds its request object, before its own
signature middleware runs, and slack_sdk's verifier calls ``int()`` on the timestamp header and
decodes the body as UTF-8: a non-numeric ``X-Slack-Request-Timestamp``, a non-UTF-8 body and broken
JSON each escaped from Bolt as a 500 with an ERROR traceback, and no signature had been checked.

``SlackGuard.admit`` runs first instead: the signature (``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{raw
bytes}``) and the age (at most 300 s, Slack's own limit) are checked over the raw bytes (401), then
the body is decoded and parsed the way Bolt will parse it (400), and only a request that passed both
reaches Bolt, whose middleware verifies it once more. Every refusal is one WARNING line with a short
reason and nothing from the request. Without a signing secret (Socket Mode only, where no HTTP
endpoint is served; tests) the signature step is skipped and the parsing step still applies.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification

from bot.logs import log_event

logger = logging.getLogger("tend.slack")

MAX_AGE = 300  # seconds: Slack rejects signatures older than this, and so does Tend
TIMESTAMP_DIGITS = 12  # a Unix time in seconds has 10 digits until the year 2286
SIGNATURE_PREFIX = "v0="
# What Bolt raises while it builds its request from a body it cannot read: broken JSON (ValueError),
# or a parsed body of an unexpected shape (``"authorizations": 5``, a list at the top).
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)


@dataclass(frozen=True)
class Refusal:
    """A request Tend will not hand to Bolt: its HTTP status and a short reason for the log."""

    status: int
    reason: str


def signing_secret_of(bolt: AsyncApp) -> str | None:
    """The secret Bolt verifies requests with, or None when Bolt verifies nothing (Socket Mode).

    Read from Bolt's own verification middleware, so the guard checks exactly what Bolt would.
    """
    for middleware in getattr(bolt, "_async_middleware_list", ()):
        if isinstance(middleware, AsyncRequestVerification):
            return str(middleware.verifier.signing_secret)
    return None


class SlackGuard:
    """Authentication, then parsing; ``clock`` returns Unix seconds (tests move it)."""

    def __init__(self, signing_secret: str | None, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret.encode("utf-8") if signing_secret else None
        self._clock = clock

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> Refusal | None:
        """None when ``raw`` is signed with the secret within ``MAX_AGE``; else a 401."""
        if self._secret is None:
            return None
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp or not signature:
            return Refusal(401, "unsigned")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= TIMESTAMP_DIGITS):
            return Refusal(401, "bad_timestamp")
        if abs(self._clock() - int(timestamp)) > MAX_AGE:
            return Refusal(401, "stale")
        message = b"v0:" + timestamp.encode("ascii") + b":" + raw
        expected = SIGNATURE_PREFIX + hmac.new(self._secret, message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
            return Refusal(401, "bad_signature")
        return None

    def parse(self, raw: bytes, headers: Mapping[str, str], query: str) -> AsyncBoltRequest | Refusal:
        """Bolt's request for a verified body (parsed by Bolt's own rules), or a 400 for one it cannot
        read: not UTF-8, broken JSON or form payload, or anything but one object at the top."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return Refusal(400, "not_utf8")
        try:
            request = AsyncBoltRequest(body=text, query=query, headers=headers)  # type: ignore[arg-type]
        except UNREADABLE:
            return Refusal(400, "unreadable")
        if not isinstance(request.body, dict):
            return Refusal(400, "not_an_object")
        return request

    def admit(self, raw: bytes, headers: Mapping[str, str], query: str) -> AsyncBoltRequest | Refusal:
        """Verify, then parse; a refusal is logged once at WARNING (the reason only)."""
        refused = self.verify(raw, headers)
        checked = refused if refused is not None else self.parse(raw, headers, query)
        if isinstance(checked, Refusal):
            log_event(logger, "slack request refused", level=logging.WARNING, outcome=checked.reason)
        return checked
