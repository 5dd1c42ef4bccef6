"""A fake Slack Web API on 127.0.0.1 for the Slack adapter's tests (a real HTTP server, not a mock).

It answers the methods Tend calls with Slack-shaped JSON, records every call (method, arguments,
status), can answer the next call to a method with a 429 + Retry-After or a 500, and lets a test wait
(bounded, no sleeps) until a call it expects has arrived. Response URLs are served under /response/.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.server import bound_port, run_http


@dataclass
class Call:
    method: str  # Web API method, or "response" for a POST to a response URL
    args: dict[str, Any]
    status: int


@dataclass
class Failure:
    status: int
    error: str
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlackApi:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: dict[str, list[Failure]] = {}
        self._changed = asyncio.Condition()
        self._ts = 1_700_000_000.000100
        self._views = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def fail_next(self, method: str, status: int, *, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        error = "ratelimited" if status == 429 else "internal_error"
        self.failures.setdefault(method, []).append(Failure(status, error, headers))

    def fail_next_with(self, method: str, error: str) -> None:
        """An ``ok: false`` answer with HTTP 200, the way Slack reports most errors."""
        self.failures.setdefault(method, []).append(Failure(200, error))

    def of(self, method: str, *, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    async def wait_for(self, predicate: Callable[[list[Call]], Any], within: float = 5.0) -> Any:
        """Waits until ``predicate(calls)`` is truthy (returns it); fails the test after ``within`` s."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.calls)), within)
            return predicate(self.calls)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        self._runner = await run_http(app, "127.0.0.1", 0)
        self.port = bound_port(self._runner)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        raw = await request.text()
        args: dict[str, Any] = dict(request.query)
        if raw and request.content_type == "application/json":
            args.update(json.loads(raw))
        elif raw:
            args.update(dict(parse_qsl(raw)))
        for key in ("blocks", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        pending = self.failures.get(method)
        if pending:
            failure = pending.pop(0)
            await self._record(Call(method, args, failure.status))
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=failure.headers
            )
        body = self._answer(method, args)
        await self._record(Call(method, args, 200))
        return web.json_response(body)

    async def _response(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        args["_response_url"] = request.match_info["name"]
        await self._record(Call("response", args, 200))
        return web.json_response({"ok": True})

    def _next_ts(self) -> str:
        self._ts += 0.0001
        return f"{self._ts:.6f}"

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            return {
                **ok,
                "team": "Acme",
                "team_id": "T1",
                "user": "tend",
                "user_id": "UBOT",
                "bot_id": "BBOT",
            }
        if method == "chat.postMessage":
            return {**ok, "channel": args.get("channel"), "ts": self._next_ts()}
        if method == "chat.postEphemeral":
            return {**ok, "message_ts": self._next_ts()}
        if method == "chat.update":
            return {**ok, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "conversations.open":
            user = str(args.get("users", "")).split(",")[0]
            return {**ok, "channel": {"id": "D" + user}}
        if method == "views.open":
            self._views += 1
            return {**ok, "view": {"id": f"V{self._views}"}}
        return ok
