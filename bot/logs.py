"""One log line per record, ``key=value``, with credentials masked before anything is written.

Logs carry ids (workspace, ritual, kind, platform, outcome), never message text or who reported
what (DESIGN "Privacy defaults"). ``log_event`` accepts only short int/str ids so that rule is the
easy path; ``SecretMaskingFilter`` is the safety net for tokens that slip into messages, extras or
tracebacks anyway.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

MASK = "**********"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

_TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack bot/user/app/refresh tokens, including rotating ones (xoxe.xoxb-...).
    (re.compile(r"\b(xox[a-z](?:\.xox[a-z])?-)[A-Za-z0-9-]+"), r"\1" + MASK),
    (re.compile(r"\b(xapp-)[A-Za-z0-9-]+"), r"\1" + MASK),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + MASK),
    # Bare JWTs (Bot Framework tokens) outside an Authorization header.
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # Passwords inside URLs: scheme://user:password@host
    (re.compile(r"(://[^:/@\s]+:)[^@/\s]+@"), r"\1" + MASK + "@"),
)

_ID_TEXT = re.compile(r"^[A-Za-z0-9_.:/@-]{1,128}$")
_MIN_SECRET_LENGTH = 4  # shorter "secrets" would mask ordinary words and still not be secret


class SecretMaskingFilter(logging.Filter):
    """Rewrites a record so no token or configured secret reaches any handler after this one."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _TOKEN_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad %-args: still log (masked) rather than raise into the caller
            message = f"{record.msg} {record.args}"
        record.msg = self.mask(message)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key in _RECORD_ATTRIBUTES or value is None or isinstance(value, int | float):
                continue
            record.__dict__[key] = self.mask(value if isinstance(value, str) else str(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _quote(value: Any) -> str:
    text = str(value)
    if text and not any(char in text for char in ' ="\\\n\r\t'):
        return text
    return '"' + text.translate(_ESCAPES) + '"'


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=... logger=... msg="..." key=value ...`` on one line, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        fields: list[tuple[str, Any]] = [
            ("ts", created.isoformat(timespec="milliseconds").replace("+00:00", "Z")),
            ("level", record.levelname),
            ("logger", record.name),
            ("msg", record.getMessage()),
        ]
        fields.extend((key, value) for key, value in record.__dict__.items() if key not in _RECORD_ATTRIBUTES)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            fields.append(("exc", record.exc_text))
        if record.stack_info:
            fields.append(("stack", record.stack_info))
        return " ".join(f"{key}={_quote(value)}" for key, value in fields)


QUIET_DRIVERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool")


def setup_logging(
    level: str = "INFO", *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Installs Tend's one handler on the root logger (replacing a previous one, so calling twice
    is safe) and returns it; pass ``settings.secret_values()`` as ``secrets``."""
    numeric = logging.getLevelName(level.strip().upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(SecretMaskingFilter(secrets))
    handler.set_name("tend")
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == "tend"]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(numeric)
    # Database drivers log statements with their parameters at DEBUG, which would put message text
    # and reporter ids in the logs: they never go below WARNING, whatever Tend's own level.
    for driver in QUIET_DRIVERS:
        logging.getLogger(driver).setLevel(max(numeric, logging.WARNING))
    return handler


def log_event(logger: logging.Logger, msg: str, *, level: int = logging.INFO, **ids: int | str) -> None:
    """Logs a fixed message with ids only; refusing free text here keeps message bodies and names
    out of the logs without every caller having to remember why."""
    if not logger.isEnabledFor(level):  # nothing is written, so nothing to check (once per message sent)
        return
    for key, value in ids.items():
        if key in _RECORD_ATTRIBUTES:
            raise ValueError(f"log_event: {key!r} is a reserved log record attribute")
        if not isinstance(value, int | str):
            raise TypeError(f"log_event: {key} must be an int or str id, got {type(value).__name__}")
        if isinstance(value, str) and not _ID_TEXT.match(value):
            raise ValueError(f"log_event: {key} must be a short id without spaces, not free text")
    logger.log(level, msg, extra=ids)
