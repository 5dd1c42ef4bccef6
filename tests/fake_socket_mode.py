"""A fake Slack Socket Mode endpoint on 127.0.0.1 (a real aiohttp WebSocket server, not a mock).

It answers ``apps.connections.open`` (only for the app-level token it was given, as Slack does) with a
``ws://`` URL on itself, greets each connection with ``hello``, sends Slack-shaped envelopes
(``slash_commands``, ``interactive``, ``events_api``) to the connected app, and records every ack
the app sends back (keyed by envelope id). ``disconnect`` asks the app to reconnect, the way Slack
refreshes connections. Tests wait on conditions with a bound, never sleep.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from bot.server import bound_port, run_http


class FakeSocketMode:
    def __init__(self, app_token: str, web_api: Any = None) -> None:
        self.app_token = app_token
        self.web_api = web_api  # a FakeSlackApi answering every other method on the same address
        self.opened = 0  # apps.connections.open answered with a URL
        self.refused = 0  # apps.connections.open asked with a wrong token
        self.connections: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict[str, Any]] = {}  # envelope id -> the app's ack message
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def live(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self.connections if not ws.closed]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/apps.connections.open", self._open)
        app.router.add_get("/link/", self._link)
        if self.web_api is not None:  # one SLACK_API_URL for both, as a real process has
            app.router.add_post("/api/{method}", self.web_api._api)
            app.router.add_post("/response/{name}", self.web_api._response)
        self._runner = await run_http(app, "127.0.0.1", 0)
        self.port = bound_port(self._runner)

    async def stop(self) -> None:
        for ws in self.live:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, predicate: Callable[[], Any], within: float = 5.0) -> Any:
        """Waits until ``predicate()`` is truthy (returns it); fails the test after ``within`` s."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), within)
            return predicate()

    async def send(self, kind: str, payload: dict[str, Any], **extra: Any) -> str:
        """Sends one envelope on the newest live connection; returns its envelope id."""
        [*_, ws] = await self.wait_for(lambda: self.live)
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, **extra}
        await ws.send_str(json.dumps(envelope))
        return envelope_id

    async def slash_command(self, payload: dict[str, Any]) -> str:
        return await self.send("slash_commands", payload, accepts_response_payload=True)

    async def interactive(self, payload: dict[str, Any]) -> str:
        return await self.send("interactive", payload, accepts_response_payload=True)

    async def event(self, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        return await self.send(
            "events_api", payload, accepts_response_payload=False, retry_attempt=retry_attempt
        )

    async def ack_of(self, envelope_id: str, within: float = 5.0) -> dict[str, Any]:
        return await self.wait_for(lambda: self.acks.get(envelope_id), within)

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's request to reconnect: the app should open a new URL and connect again."""
        [*_, ws] = await self.wait_for(lambda: self.live)
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}}
        await ws.send_str(json.dumps(message))

    async def _open(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token != self.app_token:
            self.refused += 1
            return web.json_response({"ok": False, "error": "invalid_auth"})
        async with self._changed:
            self.opened += 1
            self._changed.notify_all()
        ticket = uuid.uuid4().hex
        return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}"})

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = {
            "type": "hello",
            "num_connections": len(self.live) + 1,
            "debug_info": {"host": "fake", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A1"},
        }
        await ws.send_str(json.dumps(hello))
        async with self._changed:
            self.connections.append(ws)
            self._changed.notify_all()
        async for message in ws:  # aiohttp answers pings and the close handshake itself
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "envelope_id" in data:
                async with self._changed:
                    self.acks[str(data["envelope_id"])] = data
                    self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()  # ``live`` changed
        return ws
