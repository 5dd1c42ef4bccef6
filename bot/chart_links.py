"""Signed, expiring links to index charts (``GET /charts/{name}?expires=...&sig=...``).

A chart's random name alone made its URL a bearer token valid for anyone, forever (until the purge):
a link copied out of a Teams card, a proxy log or a browser history kept showing a team's figures.
Now a link also carries its expiry (Unix seconds) and a keyed digest of name and expiry under
``TEND_SECRET_KEY`` (``practices.sealing.digest``, its own purpose): only Tend can mint one, every
replica sharing the key accepts it, and it stops working at its expiry whatever happens to the file.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from urllib.parse import urlencode

from practices.charts import CHART_MAX_AGE
from practices.sealing import PROCESS_KEY, digest, digests

PURPOSE = "chart-url"
# The key a sender or server built without one signs and checks with (tests, embedders): the same in
# the whole process, so what one signs the other opens. app.py always passes TEND_SECRET_KEY.
DEFAULT_KEY = PROCESS_KEY
CHARTS_PATH = "/charts/"
# How long a chart link works after Tend sends it: as long as the chart file itself is kept.
CHART_LINK_LIFETIME = CHART_MAX_AGE
TIMESTAMP_DIGITS = 12


def link_lifetime() -> timedelta:
    """Why ``CHART_MAX_AGE`` (a day): the scheduler's hourly purge deletes a chart file a day after it
    was drawn, so a link valid any longer would only promise a 404; and a chart answers one person's
    ``/tend index``, read when it arrives or later that day, so a shorter link would blank the card
    for someone who scrolls back to it in the afternoon. The expiry in the link also holds where the
    purge does not reach: a copy of the link kept elsewhere, or a replica whose scheduler is stopped.
    """
    return CHART_LINK_LIFETIME


def signature(secret_key: bytes, name: str, expires: int) -> str:
    return digest(secret_key, PURPOSE, name, expires)


def signed_query(secret_key: bytes, name: str, now: datetime) -> str:
    """``expires=<unix seconds>&sig=<digest>`` for a chart named ``name``, valid from ``now``."""
    expires = int((now + link_lifetime()).timestamp())
    return urlencode({"expires": expires, "sig": signature(secret_key, name, expires)})


def signed_url(public_url: str, secret_key: bytes, name: str, now: datetime) -> str:
    """The whole link under ``TEND_PUBLIC_URL``, as a Teams card shows it."""
    return f"{public_url.rstrip('/')}{CHARTS_PATH}{name}?{signed_query(secret_key, name, now)}"


def check(secret_key: bytes, name: str, expires: str, sig: str, now: datetime) -> str | None:
    """None when the link is Tend's own and still valid; else ``"forged"`` or ``"expired"``.

    The signature is checked first (in constant time), so an expiry alone tells nobody anything.
    """
    if not (expires.isascii() and expires.isdigit() and len(expires) <= TIMESTAMP_DIGITS):
        return "forged"
    given = sig.encode("utf-8", "replace")
    # Links signed before a key rotation still open while the old key is in TEND_PREVIOUS_SECRET_KEYS.
    signed = [
        hmac.compare_digest(good.encode("ascii"), given)
        for good in digests(secret_key, PURPOSE, name, int(expires))
    ]
    if not any(signed):
        return "forged"
    if now.timestamp() >= int(expires):
        return "expired"
    return None
