"""The probes as an orchestrator sees them: /livez, /readyz and its alias /healthz.

Liveness never asks anything and stays 200 through outages and shutdown; readiness is 200 only while
the database answers within a second, every configured platform is wired (Socket Mode connected) and
the process is not draining, and otherwise answers 503 naming the failing check, quickly. Outages are
real: a SQLite file whose write lock another connection holds, a closed PostgreSQL port, a server that
accepts and never speaks. Shutdown is real too: SIGTERM to ``python app.py serve``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from bot.health import DATABASE_TIMEOUT, Readiness
from bot.metrics import Metrics
from bot.server import create_http_app
from storage.db import Database
from tests.fake_slack_api import FakeSlackApi
from tests.fake_socket_mode import FakeSocketMode
from tests.test_app import free_port, start_tend

# What "quickly" means for a failing readiness check: the database timeout plus scheduling slack.
ANSWERS_WITHIN = 1.5
READY = {"status": "ok", "database": "ok", "shutdown": "ok"}
DRAINING = {"status": "unavailable", "failing": ["shutdown"], "shutdown": "draining"}
TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A1-test-app-token"


@asynccontextmanager
async def serving(database: Database, readiness: Readiness | None = None) -> AsyncIterator[TestClient]:
    app = create_http_app(database, Metrics(), readiness=readiness)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


async def probe(client: TestClient, path: str) -> tuple[int, dict[str, Any], float]:
    """Status, JSON body and how long the answer took, in seconds."""
    started = time.monotonic()
    response = await client.get(path)
    body = await response.json()
    return response.status, body, time.monotonic() - started


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/tend.db")
    assert await database.ping()  # the file exists, in WAL mode, as Tend leaves it
    yield database
    await database.dispose()


@contextmanager
def write_lock_held(database: Database) -> Iterator[None]:
    """Another connection (a second process, a backup tool, a stuck migration) holds the write lock."""
    path = database.engine.url.database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


@asynccontextmanager
async def silent_postgres() -> AsyncIterator[Database]:
    """A "PostgreSQL" that accepts connections and never says a word; records who connected."""
    connections: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    database = Database(f"postgresql://postgres@127.0.0.1:{port}/x")
    database.connections = connections  # type: ignore[attr-defined]
    try:
        yield database
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
        await database.dispose()


def closed_port() -> int:
    return free_port()  # bound and released again: nothing listens there now


# --- readiness: the database ---------------------------------------------------------------------------


async def test_ready_names_each_check_when_the_database_answers(database: Database) -> None:
    async with serving(database) as client:
        status, body, _ = await probe(client, "/readyz")
        assert (status, body) == (200, READY)
        assert (await client.get("/readyz")).headers["Cache-Control"] == "no-store"


async def test_healthz_is_readiness_under_its_old_name(sqlite_database: Database) -> None:
    readiness = Readiness(sqlite_database)
    async with serving(sqlite_database, readiness) as client:
        assert (await probe(client, "/healthz"))[:2] == (await probe(client, "/readyz"))[:2] == (200, READY)
        readiness.drain()
        assert (
            (await probe(client, "/healthz"))[:2] == (await probe(client, "/readyz"))[:2] == (503, DRAINING)
        )


async def test_a_locked_sqlite_file_is_not_ready_within_the_timeout_and_ready_again_after(
    sqlite_database: Database,
) -> None:
    async with serving(sqlite_database) as client:
        with write_lock_held(sqlite_database):
            status, body, took = await probe(client, "/readyz")
            assert status == 503
            assert body == {"status": "unavailable", "failing": ["database"], "database": "locked",
                            "shutdown": "ok"}  # fmt: skip
            assert took < ANSWERS_WITHIN  # not SQLite's 5 s busy timeout
            live_status, _, live_took = await probe(client, "/livez")
            assert live_status == 200 and live_took < 0.5
        assert (await probe(client, "/readyz"))[:2] == (200, READY)


async def test_many_probes_during_a_lock_all_answer_quickly_not_one_after_another(
    sqlite_database: Database,
) -> None:
    async with serving(sqlite_database) as client:
        with write_lock_held(sqlite_database):
            started = time.monotonic()
            answers = await asyncio.gather(*(probe(client, "/readyz") for _ in range(8)))
            took = time.monotonic() - started
        assert {status for status, _, _ in answers} == {503}
        assert took < ANSWERS_WITHIN  # eight probes share one check instead of queueing behind each other


async def test_postgres_down_is_not_ready_at_once_and_liveness_stays() -> None:
    database = Database(f"postgresql://postgres@127.0.0.1:{closed_port()}/tend")
    try:
        async with serving(database) as client:
            status, body, took = await probe(client, "/readyz")
            assert status == 503 and took < ANSWERS_WITHIN
            assert body["failing"] == ["database"] and body["database"] == "unreachable"
            assert (await probe(client, "/livez"))[:2] == (200, {"status": "ok"})
    finally:
        await database.dispose()


async def test_a_postgres_that_never_answers_is_not_ready_within_the_timeout() -> None:
    async with silent_postgres() as database, serving(database) as client:
        readiness = asyncio.create_task(probe(client, "/readyz"))
        live_status, _, live_took = await probe(client, "/livez")  # while readiness waits on the database
        assert live_status == 200 and live_took < 0.5
        status, body, took = await readiness
        assert status == 503 and body["database"] == "timeout"
        assert took + 0.05 >= DATABASE_TIMEOUT and took < ANSWERS_WITHIN


async def test_the_timeout_is_configurable_in_code() -> None:
    async with (
        silent_postgres() as database,
        serving(database, Readiness(database, database_timeout=0.2)) as client,
    ):
        status, body, took = await probe(client, "/readyz")
        assert (status, body["database"]) == (503, "timeout") and took < 0.2 + 0.5


# --- readiness: platforms and shutdown -----------------------------------------------------------------


async def test_a_configured_platform_is_not_ready_until_wired_and_while_disconnected(
    sqlite_database: Database,
) -> None:
    readiness = Readiness(sqlite_database)
    readiness.expect("slack")
    readiness.expect("teams")
    connected = True

    async def socket_connected() -> bool:
        return connected

    async with serving(sqlite_database, readiness) as client:
        status, body, _ = await probe(client, "/readyz")
        assert status == 503 and body["failing"] == ["slack", "teams"]
        assert body["slack"] == body["teams"] == "starting"
        readiness.wired("teams")  # its route is mounted
        readiness.wired("slack", connected=socket_connected)  # Socket Mode: up while the socket is
        assert (await probe(client, "/readyz"))[:2] == (200, {**READY, "slack": "ok", "teams": "ok"})
        connected = False
        status, body, _ = await probe(client, "/readyz")
        assert (status, body["failing"], body["slack"]) == (503, ["slack"], "disconnected")


async def test_a_platform_check_that_hangs_is_bounded_too(sqlite_database: Database) -> None:
    readiness = Readiness(sqlite_database, database_timeout=0.2)
    never = asyncio.Event()

    async def hangs() -> bool:
        await never.wait()
        return True

    readiness.wired("slack", connected=hangs)
    async with serving(sqlite_database, readiness) as client:
        status, body, took = await probe(client, "/readyz")
        assert (status, body["slack"]) == (503, "timeout") and took < 0.7


async def test_draining_turns_readiness_off_at_once_without_asking_the_database() -> None:
    async with silent_postgres() as database:
        readiness = Readiness(database)
        readiness.drain()
        async with serving(database, readiness) as client:
            status, body, took = await probe(client, "/readyz")
            assert (status, body) == (503, DRAINING) and took < 0.5
            assert (await probe(client, "/livez"))[:2] == (200, {"status": "ok"})
        assert database.connections == []  # type: ignore[attr-defined]


async def test_a_change_of_state_is_logged_once_not_on_every_probe(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(sqlite_database, Readiness(sqlite_database, database_timeout=0.2)) as client:
        with caplog.at_level(logging.INFO, logger="tend.health"):
            with write_lock_held(sqlite_database):
                for _ in range(3):
                    assert (await client.get("/readyz")).status == 503
            for _ in range(3):
                assert (await client.get("/readyz")).status == 200
    changes = [(r.levelno, r.check, r.state) for r in caplog.records if r.name == "tend.health"]  # type: ignore[attr-defined]
    assert changes == [(logging.WARNING, "database", "locked"), (logging.INFO, "database", "ok")]


async def test_probes_are_counted_by_route_and_status(sqlite_database: Database) -> None:
    readiness = Readiness(sqlite_database)
    async with serving(sqlite_database, readiness) as client:
        await client.get("/readyz")
        readiness.drain()
        await client.get("/readyz")
        await client.get("/livez")
        text = await (await client.get("/metrics")).text()
    assert 'tend_http_requests_total{route="/readyz",status="200"} 1.0' in text
    assert 'tend_http_requests_total{route="/readyz",status="503"} 1.0' in text
    assert 'tend_http_requests_total{route="/livez",status="200"} 1.0' in text


# --- a real process: python app.py serve ------------------------------------------------------------------


async def get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.json()


async def until(port: int, path: str, wanted: int, within: float = 30.0) -> dict[str, Any]:
    """Polls a starting (or reconnecting) process until ``path`` answers ``wanted``; returns the body."""
    deadline = time.monotonic() + within
    last: object = "no answer"
    while time.monotonic() < deadline:
        try:
            status, body = await get(port, path)
            if status == wanted:
                return body
            last = (status, body)
        except aiohttp.ClientError as error:
            last = error
        await asyncio.sleep(0.05)  # polling a process from outside: the only way to see it change
    raise AssertionError(f"{path} never answered {wanted} within {within} s; last: {last}")


async def test_python_app_py_serve_answers_livez_and_readyz_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_port()
    process = await start_tend(tmp_path, port, "serve")
    try:
        assert await until(port, "/livez", 200) == {"status": "ok"}
        assert await until(port, "/readyz", 200) == READY
        assert await get(port, "/healthz") == (200, READY)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


class HeldCloseSocketMode(FakeSocketMode):
    """Slack's Socket Mode end, able to hold back its half of the WebSocket closing handshake (so a
    test can look at Tend mid-shutdown) and to refuse new connections (so one can be lost)."""

    def __init__(self, app_token: str, web_api: Any = None) -> None:
        super().__init__(app_token, web_api)
        self.close_asked = False  # Tend sent its close frame: its shutdown has begun
        self.release = asyncio.Event()  # set to answer the close frame and let Tend go on
        self.refusing = False

    async def _open(self, request: web.Request) -> web.Response:
        if self.refusing:
            return web.json_response({"ok": False, "error": "internal_error"})
        return await super()._open(request)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoclose=False)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"},
                            "connection_info": {"app_id": "A1"}})  # fmt: skip
        async with self._changed:
            self.connections.append(ws)
            self._changed.notify_all()
        while True:
            message = await ws.receive()
            if message.type == WSMsgType.CLOSE:
                async with self._changed:
                    self.close_asked = True
                    self._changed.notify_all()
                await self.release.wait()
                await ws.close()
                break
            if message.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
        async with self._changed:
            self._changed.notify_all()
        return ws


@asynccontextmanager
async def tend_over_socket_mode(
    tmp_path: Path,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int, HeldCloseSocketMode]]:
    fake = FakeSlackApi()
    await fake.start()
    socket = HeldCloseSocketMode(APP_TOKEN, web_api=fake)
    await socket.start()
    port = free_port()
    process = await start_tend(
        tmp_path,
        port,
        "serve",
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=socket.api_url,
    )
    try:
        yield process, port, socket
    finally:
        socket.release.set()
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        await socket.stop()
        await fake.stop()


async def test_sigterm_turns_readiness_off_while_the_server_still_answers_then_exits(tmp_path):
    async with tend_over_socket_mode(tmp_path) as (process, port, socket):
        assert await until(port, "/readyz", 200) == {**READY, "slack": "ok"}
        process.send_signal(signal.SIGTERM)
        await socket.wait_for(lambda: socket.close_asked, within=10)  # shutting down, still listening
        assert await get(port, "/readyz") == (503, DRAINING)
        assert await get(port, "/healthz") == (503, DRAINING)
        assert await get(port, "/livez") == (200, {"status": "ok"})
        socket.release.set()
        assert await asyncio.wait_for(process.wait(), 15) == 0


async def test_a_lost_socket_mode_connection_is_not_ready_until_it_is_back(tmp_path):
    async with tend_over_socket_mode(tmp_path) as (process, port, socket):
        assert (await until(port, "/readyz", 200))["slack"] == "ok"
        socket.refusing = True
        for ws in socket.live:
            await ws.close()  # Slack dropped the connection, and will not take a new one for now
        body = await until(port, "/readyz", 503, within=15)
        assert body["failing"] == ["slack"] and body["slack"] == "disconnected"
        assert await get(port, "/livez") == (200, {"status": "ok"})
        socket.refusing = False
        # slack_sdk's own monitor reconnects (about 10 s here); readiness follows without a restart
        assert (await until(port, "/readyz", 200, within=45))["slack"] == "ok"
        assert process.returncode is None
