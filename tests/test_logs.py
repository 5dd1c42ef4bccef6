"""What ends up in the log file: one key=value line per record, ids kept, credentials masked."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import log_event, setup_logging

TOKEN = "xoxb-1234567890-abcdef"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """Tend's handler writing to a buffer; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    setup_logging("INFO", secrets=["db-password-42", "ab"], stream=stream)
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_line_format_carries_the_ids(output: io.StringIO) -> None:
    log_event(logging.getLogger("tend.engine"), "event handled", workspace=12, ritual=3, kind="command")
    [line] = lines(output)
    assert line.startswith("ts=")
    assert ' level=INFO logger=tend.engine msg="event handled" workspace=12 ritual=3 kind=command' in line


def test_timestamp_is_utc_iso(output: io.StringIO) -> None:
    logging.getLogger("tend.x").info("hello")
    stamp = lines(output)[0].split(" ")[0].removeprefix("ts=")
    assert stamp.endswith("Z") and "T" in stamp


def test_slack_token_in_message_is_masked(output: io.StringIO) -> None:
    logger = logging.getLogger("tend.slack")
    logger.warning(f"call failed with token {TOKEN}")
    logger.warning("call failed with token %s", TOKEN)
    assert TOKEN not in output.getvalue()
    assert all("xoxb-**********" in line for line in lines(output))


def test_slack_token_in_extra_is_masked(output: io.StringIO) -> None:
    logging.getLogger("tend.slack").warning("call failed", extra={"token": TOKEN, "payload": {"t": TOKEN}})
    assert TOKEN not in output.getvalue()
    assert "token=xoxb-**********" in output.getvalue()


@pytest.mark.parametrize(
    ("leak", "secret_part"),
    [
        ("xapp-1-A0123-9876543210-deadbeef", "9876543210-deadbeef"),
        ("xoxp-11-22-33-abcdef", "33-abcdef"),
        ("xoxe.xoxb-1-rotating-token", "rotating-token"),
        ("Bearer opaque.token-value_123", "opaque.token-value_123"),
        ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJzdWIiOiIxIn0"),
        ("postgresql://tend:pw-in-url@db/tend", "pw-in-url"),
    ],
)
def test_other_credentials_are_masked(output: io.StringIO, leak: str, secret_part: str) -> None:
    logging.getLogger("tend.x").error("request %s failed", leak, extra={"detail": leak})
    text = output.getvalue()
    assert secret_part not in text
    assert text.count("**********") == 2  # once in the message, once in the extra field


def test_configured_secrets_are_masked_everywhere(output: io.StringIO) -> None:
    logger = logging.getLogger("tend.teams")
    logger.error("login with db-password-42 failed", extra={"why": "password db-password-42 rejected"})
    try:
        raise RuntimeError(f"auth failed: db-password-42 {TOKEN}")
    except RuntimeError:
        logger.exception("send failed")
    text = output.getvalue()
    assert "db-password-42" not in text and TOKEN not in text
    assert "RuntimeError" in text  # the traceback is still there, masked


def test_tracebacks_stay_on_one_line(output: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("tend.x").exception("failed", extra={"ritual": 3})
    [line] = lines(output)
    assert "ritual=3" in line and 'exc="Traceback' in line and "\\n" in line


def test_very_short_secrets_do_not_mask_ordinary_words(output: io.StringIO) -> None:
    logging.getLogger("tend.x").info("about tables")
    assert 'msg="about tables"' in output.getvalue()


def test_log_event_refuses_free_text_and_objects(output: io.StringIO) -> None:
    logger = logging.getLogger("tend.engine")
    with pytest.raises(ValueError):
        log_event(logger, "stress reported", text="I am overwhelmed this week")
    with pytest.raises(TypeError):
        log_event(logger, "stress reported", member={"id": "U1"})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        log_event(logger, "event handled", name="tend")  # would overwrite the logger name
    assert output.getvalue() == ""


def test_level_is_applied_and_setup_is_idempotent(output: io.StringIO) -> None:
    logging.getLogger("tend.x").debug("not shown")
    assert output.getvalue() == ""
    second = io.StringIO()
    setup_logging("debug", stream=second)
    logging.getLogger("tend.x").debug("shown once")
    assert [h.get_name() for h in logging.getLogger().handlers].count("tend") == 1
    assert len(second.getvalue().splitlines()) == 1 and output.getvalue() == ""


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError):
        setup_logging("LOUD")
