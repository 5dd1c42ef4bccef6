"""Whether this process should be sent traffic (``GET /readyz``, alias ``/healthz``).

Liveness and readiness answer different questions and orchestrators act on them differently: a
failed liveness probe restarts the process, a failed readiness probe only stops routing to it. So
``GET /livez`` never looks at anything (a database outage must not restart every replica), while
readiness asks the database, each configured platform and the shutdown state. Every check is bounded
by ``DATABASE_TIMEOUT``: a locked SQLite file or a dead PostgreSQL gives a 503 naming the check within
about a second, never a probe that hangs until the orchestrator's own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.logs import log_event
from storage.db import Database

logger = logging.getLogger("tend.health")

# How long the database (or a platform connection) may take to answer before readiness says no.
# Shorter than any sensible probe timeout (the Helm chart gives readiness 3 s), longer than a busy but
# healthy database needs.
DATABASE_TIMEOUT = 1.0
# Extra time a probe waits for a check to report its own failure ("locked") before calling it "timeout".
_MARGIN = 0.25

OK = "ok"
STARTING = "starting"  # a configured platform whose route or connection is not up yet
DISCONNECTED = "disconnected"
DRAINING = "draining"
LOCKED = "locked"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"

Connected = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class Report:
    """One answer of every check, each ``"ok"`` or a one-word reason."""

    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != OK]

    def body(self) -> dict[str, object]:
        """The JSON an operator reads: overall status, the failing checks by name, then each check."""
        if self.ready:
            return {"status": OK, **self.checks}
        return {"status": "unavailable", "failing": self.failing, **self.checks}


def _take_sqlite_write_lock(path: str, timeout: float) -> str:
    """Every Tend transaction starts with ``BEGIN IMMEDIATE`` (storage/db.py), so "could one start
    within the timeout" is what ready means on SQLite; a plain read would pass even while another
    process holds the write lock and every request is stuck behind it. Nothing is written.

    A connection of its own, not the engine's pool of one: the probe must neither queue behind real
    work nor hold that connection up, and SQLite's busy timeout ends the wait inside the thread, so
    no query is left running after the probe has answered."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=timeout, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        return LOCKED if "locked" in str(error) or "busy" in str(error) else UNREACHABLE
    except (sqlite3.Error, OSError):
        return UNREACHABLE
    return OK


class Readiness:
    """The checks behind ``GET /readyz``; ``app.py`` registers the platforms and calls ``drain``.

    Concurrent probes share one database check in flight, so a slow database is never asked many
    times at once (and a hung SQLite file never collects one stuck thread per probe).
    """

    def __init__(self, database: Database, *, database_timeout: float = DATABASE_TIMEOUT) -> None:
        self.database = database
        self.database_timeout = database_timeout
        self.draining = False
        self._platforms: dict[str, Connected | None] = {}
        self._wired: set[str] = set()
        self._probe: asyncio.Future[str] | None = None
        self._last: dict[str, str] = {}

    def expect(self, platform: str) -> None:
        """A configured platform: not ready until ``wired`` says it can take its traffic."""
        self._platforms.setdefault(platform, None)

    def wired(self, platform: str, connected: Connected | None = None) -> None:
        """Its HTTP route is mounted; with ``connected`` (Socket Mode), only while that says so."""
        self._platforms[platform] = connected
        self._wired.add(platform)

    def drain(self) -> None:
        """Shutting down: from now on readiness says no at once, so load balancers stop sending new
        requests here while the ones already accepted finish."""
        if not self.draining:
            self.draining = True
            log_event(logger, "draining")

    async def report(self) -> Report:
        if self.draining:  # at once: the database is about to be closed and is not the question now
            return Report({"shutdown": DRAINING})
        names = list(self._platforms)
        database, *platforms = await asyncio.gather(
            self._database(), *(self._platform(name) for name in names)
        )
        report = Report({"database": database, **dict(zip(names, platforms, strict=True)), "shutdown": OK})
        self._log_changes(report)
        return report

    async def _database(self) -> str:
        if self._probe is None or self._probe.done():
            self._probe = self._start_database_check()
        try:
            return await asyncio.wait_for(asyncio.shield(self._probe), self.database_timeout + _MARGIN)
        except TimeoutError:
            return TIMEOUT

    def _start_database_check(self) -> asyncio.Future[str]:
        path = self.database.engine.url.database if self.database.is_sqlite else None
        if path and path != ":memory:" and not path.startswith("file:"):
            check = asyncio.to_thread(_take_sqlite_write_lock, path, self.database_timeout)
            return asyncio.ensure_future(check)
        return asyncio.ensure_future(self._ping())

    async def _ping(self) -> str:
        """PostgreSQL (or an in-memory SQLite): a trivial query through the pool, cancelled when late."""
        try:
            reachable = await asyncio.wait_for(self.database.ping(), self.database_timeout)
        except TimeoutError:
            return TIMEOUT
        return OK if reachable else UNREACHABLE

    async def _platform(self, name: str) -> str:
        if name not in self._wired:
            return STARTING
        connected = self._platforms[name]
        if connected is None:
            return OK
        try:
            up = await asyncio.wait_for(connected(), self.database_timeout)
        except TimeoutError:
            return TIMEOUT
        except Exception:  # a broken connection object is a disconnected one, for readiness
            return DISCONNECTED
        return OK if up else DISCONNECTED

    def _log_changes(self, report: Report) -> None:
        """One line when a check changes state, not one per probe (probes come every few seconds)."""
        for name, state in report.checks.items():
            if self._last.get(name, OK) != state:
                level = logging.INFO if state in (OK, STARTING) else logging.WARNING
                log_event(logger, "readiness check changed", level=level, check=name, state=state)
        self._last = dict(report.checks)
