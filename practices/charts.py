"""Chart files: how they are named, where and how they are written, and when they go.

Index charts are PNG files a reply points to (Slack uploads them, Teams cards link to them through
``GET /charts/{name}``, the console prints their path). Their naming, folder, writing and expiry
used to live in four modules (the index practice, the chart route, the link signer, the scheduler's
purge); they are decided here once, so the route accepts exactly the names this module writes and a
link never outlives its file.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

# A chart's file name: a random token, so nobody can guess another organisation's chart URL (Teams
# cards link to it through GET /charts/{name}). secrets.token_urlsafe(16) gives 22 characters.
CHART_NAME = re.compile(r"index-[A-Za-z0-9_-]{22}\.png")
# How long a chart is kept (the scheduler's hourly purge deletes older ones), and so how long a link
# to it is signed for.
CHART_MAX_AGE = timedelta(days=1)


def chart_folder() -> Path:
    """Where charts are written: the machine's temporary folder (a restart may lose them; a reply
    that needs one draws it again)."""
    return Path(tempfile.gettempdir()) / "tend-index"


def is_chart_name(name: str) -> bool:
    """Exactly a name this module writes: no ``..``, slash or other extension gets through."""
    return CHART_NAME.fullmatch(name) is not None


def chart_path(token: str, folder: Path | None = None) -> Path:
    """Where a chart is written: its name is ``token`` alone, so it says nothing about who it is for.

    ``token`` comes from ``secrets.token_urlsafe(16)``; tests hand in their own.
    """
    name = f"index-{token}.png"
    if not is_chart_name(name):
        raise ValueError("a chart token is 22 URL-safe characters (secrets.token_urlsafe(16))")
    return (folder or chart_folder()) / name


def new_chart_path(folder: Path | None = None) -> Path:
    return chart_path(secrets.token_urlsafe(16), folder)


def write_chart(path: Path, draw: Callable[[Path], None]) -> Path:
    """Has ``draw`` write the PNG at ``path``, in a folder only Tend's user can read (other local
    users need not see a team's figures); returns the absolute path."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draw(path)
    return path.resolve()


def chart_file(folder: Path, name: str) -> Path | None:
    """The chart called ``name`` directly in ``folder``, if it is one and exists; else None."""
    if not is_chart_name(name):
        return None
    path = folder / name
    return path if path.parent.resolve() == folder.resolve() and path.is_file() else None


def purge_old_charts(folder: Path, now: datetime, max_age: timedelta = CHART_MAX_AGE) -> int:
    """Deletes chart PNGs last written before ``now - max_age``; returns how many went.

    Only files named like a chart are touched, so a misconfigured folder loses nothing else. A file
    another process deletes first is not an error.
    """
    cutoff = (now - max_age).timestamp()
    removed = 0
    try:
        candidates = [entry for entry in folder.iterdir() if is_chart_name(entry.name)]
    except FileNotFoundError:
        return 0
    for entry in candidates:
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
