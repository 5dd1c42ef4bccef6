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

Socket Mode has no signature (the app token authenticates the connection), but slack_sdk's client
logged an ERROR with a traceback for every frame it could not read (not JSON, a payload that is not
an object, a payload Bolt chokes on) and Bolt logged such payloads' contents. ``guard_socket_mode``
checks each frame before slack_sdk queues it: what is not a readable envelope is dropped with one
WARNING line (and acked when it carries an envelope id, so Slack does not send it again).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient

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
            # Bolt reads any mapping of header names to values; its type asks for a dict of lists.
            request = AsyncBoltRequest(body=text, query=query, headers=headers)  # type: ignore[arg-type]
        except UNREADABLE:
            return Refusal(400, "unreadable")
        if not isinstance(request.body, dict):
            return Refusal(400, "not_an_object")
        if payload_problem(request.body):
            return Refusal(400, "unreadable")
        return request

    def admit(self, raw: bytes, headers: Mapping[str, str], query: str) -> AsyncBoltRequest | Refusal:
        """Verify, then parse; a refusal is logged once at WARNING (the reason only)."""
        refused = self.verify(raw, headers)
        checked = refused if refused is not None else self.parse(raw, headers, query)
        if isinstance(checked, Refusal):
            log_event(logger, "slack request refused", level=logging.WARNING, outcome=checked.reason)
        return checked


# Parts of an interactive payload (a tap, a modal) that Slack always sends as objects or lists; Bolt's
# middleware indexes into them and fails with a traceback when one is anything else.
INTERACTIVE_OBJECTS = ("user", "team", "channel", "container", "view", "message", "enterprise")
INTERACTIVE_LISTS = ("actions",)
NOT_INTERACTIVE = ("event_callback", "url_verification", "app_rate_limited")


def payload_problem(payload: dict[str, object]) -> bool:
    """True when an interactive payload has a part of a shape Slack never sends."""
    kind = payload.get("type")
    if not isinstance(kind, str) or kind in NOT_INTERACTIVE:
        return False  # a slash command (no type) or an Events API callback
    for keys, shape in ((INTERACTIVE_OBJECTS, dict), (INTERACTIVE_LISTS, list)):
        if any(payload.get(key) is not None and not isinstance(payload[key], shape) for key in keys):
            return True
    return False


# --- Socket Mode ---------------------------------------------------------------------------------------

CONTROL_TYPES = ("hello", "disconnect")  # frames without a payload, handled by slack_sdk itself
# What each request envelope's payload must carry for Bolt to route it.
PAYLOAD_SHAPES: dict[str, tuple[str, type]] = {
    "events_api": ("event", dict),
    "slash_commands": ("command", str),
    "interactive": ("type", str),
}


def envelope_problem(raw: str) -> tuple[str | None, str | None]:
    """(why the frame is refused, its envelope id when it has one); (None, id) for a readable one."""
    try:
        envelope = json.loads(raw)
    except (ValueError, RecursionError):
        return "unparseable", None
    if not isinstance(envelope, dict):
        return "not_an_object", None
    envelope_id = envelope.get("envelope_id")
    envelope_id = envelope_id if isinstance(envelope_id, str) and envelope_id else None
    kind = envelope.get("type")
    if kind in CONTROL_TYPES:
        return None, envelope_id
    shape = PAYLOAD_SHAPES.get(kind) if isinstance(kind, str) else None
    payload = envelope.get("payload")
    if shape is None or envelope_id is None or not isinstance(payload, dict):
        return "not_an_envelope", envelope_id
    key, kind_of_value = shape
    if not isinstance(payload.get(key), kind_of_value) or payload_problem(payload):
        return "unreadable", envelope_id
    try:
        AsyncBoltRequest(body=payload, mode="socket_mode")
    except UNREADABLE:
        return "unreadable", envelope_id
    return None, envelope_id


def guard_socket_mode(client: AsyncBaseSocketModeClient) -> None:
    """Checks every frame before ``client`` queues it (see the module docstring)."""
    enqueue = client.enqueue_message

    async def checked(message: str) -> None:
        problem, envelope_id = envelope_problem(message)
        if problem is None:
            await enqueue(message)
            return
        log_event(logger, "slack envelope refused", level=logging.WARNING, outcome=problem)
        if envelope_id is not None:  # acked, so Slack does not deliver the same frame again
            await client.send_socket_mode_response({"envelope_id": envelope_id})

    # Socket Mode has no hook before Bolt sees a frame: the client's own method is replaced on purpose.
    client.enqueue_message = checked  # type: ignore[method-assign]
