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


async def request_args(request: web.Request) -> dict[str, Any]:
    """A Web API call's arguments, however slack_sdk sent them (query, form or JSON body)."""
    raw = await request.text()
    args: dict[str, Any] = dict(request.query)
    if raw and request.content_type == "application/json":
        args.update(json.loads(raw))
    elif raw:
        args.update(dict(parse_qsl(raw)))
    for key in ("blocks", "view", "files"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def client_port(request: web.Request) -> int:
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    return int(peer[1]) if peer else 0


DEFAULT_TZ = "UTC"  # users.info's zone for a person no test set up (set_user)
# users.info's role for a person no test set up: U1 (ana) is the workspace's primary owner, as every
# Slack workspace has one; everyone else is a plain member. Flags as Slack sets them for each role.
DEFAULT_ROLES = {"U1": "primary_owner"}
ROLE_FLAGS = {
    "": {},
    "admin": {"is_admin": True},
    "owner": {"is_admin": True, "is_owner": True},
    "primary_owner": {"is_admin": True, "is_owner": True, "is_primary_owner": True},
}


@dataclass
class Call:
    method: str  # Web API method, "response" for a POST to a response URL, "upload" for a file's bytes
    args: dict[str, Any]
    status: int
    token: str = ""  # the bearer token the call carried ("" when none)
    connection: int = 0  # the client's port: calls on one kept-alive connection share it


@dataclass
class Install:
    """What oauth.v2.access answers for one install code (the workspace being installed)."""

    team_id: str
    team_name: str
    user_id: str
    rotating: bool
    expires_in: int


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
        self.view_hashes: dict[str, str] = {}  # modal id -> its current hash (views.open, views.update)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.codes: dict[str, Install] = {}  # OAuth install code -> the workspace it installs
        self.tokens: dict[str, str] = {}  # bot token this fake issued -> its team id
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> team id (each works once)
        self.revoked: set[str] = set()  # tokens auth.test refuses
        self.uploads: dict[str, bytes] = {}  # file id -> the bytes POSTed to its upload URL
        self._issued = 0
        self.users: dict[str, dict[str, Any]] = {}  # user id -> users.info's display name and tz (set_user)

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

    def install_code(
        self,
        team_id: str,
        team_name: str = "",
        *,
        user: str = "U1",
        rotating: bool = False,
        expires_in: int = 43200,
    ) -> str:
        """A code Slack would hand the redirect after the person approved the install."""
        code = f"code-{team_id}-{len(self.codes) + 1}"
        self.codes[code] = Install(team_id, team_name or team_id, user, rotating, expires_in)
        return code

    def issued_for(self, team_id: str) -> list[str]:
        """Bot tokens issued for a team, oldest first."""
        return [token for token, team in self.tokens.items() if team == team_id]

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
        app.router.add_get("/api/{method}", self._api)  # slack_sdk sends some methods (users.info) as GET
        app.router.add_post("/response/{name}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = await run_http(app, "127.0.0.1", 0)
        self.port = bound_port(self._runner)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        return await request_args(request)

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else str(args.get("token", ""))
        pending = self.failures.get(method)
        if pending:
            failure = pending.pop(0)
            await self._record(Call(method, args, failure.status, token, client_port(request)))
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=failure.headers
            )
        body = self._answer(method, args, token)
        await self._record(Call(method, args, 200, token, client_port(request)))
        return web.json_response(body)

    async def _response(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        args["_response_url"] = request.match_info["name"]
        await self._record(Call("response", args, 200))
        return web.json_response({"ok": True})

    async def _upload(self, request: web.Request) -> web.Response:
        """Step 2 of files_upload_v2: the file's bytes POSTed to the URL step 1 gave out."""
        data = await request.read()
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = data
        await self._record(Call("upload", {"file_id": file_id, "size": len(data)}, 200))
        return web.Response(text=f"OK - {len(data)}")

    def _issue(self, team_id: str, rotating: bool) -> tuple[str, str]:
        self._issued += 1
        token = f"xoxe.xoxb-1-{team_id}-{self._issued}" if rotating else f"xoxb-{team_id}-{self._issued}"
        self.tokens[token] = team_id
        refresh = f"xoxe-1-{team_id}-{self._issued}"
        if rotating:
            self.refresh_tokens[refresh] = team_id
        return token, refresh

    def _oauth(self, args: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: an install code, or a refresh token of a rotating installation."""
        if args.get("grant_type") == "refresh_token":
            team_id = self.refresh_tokens.pop(str(args.get("refresh_token", "")), None)
            if team_id is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            token, refresh = self._issue(team_id, rotating=True)
            return {"ok": True, "token_type": "bot", "access_token": token, "refresh_token": refresh,
                    "expires_in": 43200, "team": {"id": team_id}}  # fmt: skip
        install = self.codes.pop(str(args.get("code", "")), None)
        if install is None:
            return {"ok": False, "error": "invalid_code"}
        token, refresh = self._issue(install.team_id, install.rotating)
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": "A1",
            "token_type": "bot",
            "access_token": token,
            "scope": "commands,chat:write,im:write,files:write",
            "bot_user_id": f"UBOT{install.team_id}",
            "team": {"id": install.team_id, "name": install.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": install.user_id},
        }
        if install.rotating:
            answer.update(refresh_token=refresh, expires_in=install.expires_in)
        return answer

    def _next_ts(self) -> str:
        self._ts += 0.0001
        return f"{self._ts:.6f}"

    def _answer(self, method: str, args: dict[str, Any], token: str = "") -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test" and token in self.revoked:
            return {"ok": False, "error": "invalid_auth"}
        if method == "auth.test" and token in self.tokens:  # a workspace installed through OAuth
            team_id = self.tokens[token]
            return {**ok, "team": team_id, "team_id": team_id, "user": "tend", "user_id": f"UBOT{team_id}",
                    "bot_id": f"B{team_id}"}  # fmt: skip
        if method == "oauth.v2.access":
            return self._oauth(args)
        if method == "files.getUploadURLExternal":
            self._issued += 1
            file_id = f"F{self._issued}"
            return {**ok, "file_id": file_id, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = args.get("files") or []
            return {**ok, "files": [{"id": f.get("id"), "title": f.get("title", "")} for f in files]}
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
            users = str(args.get("users", "")).split(",")
            if len(users) > 1:  # a group DM (mpim): one id for the same people, whatever their order
                return {**ok, "channel": {"id": "G" + "-".join(sorted(users))}}
            return {**ok, "channel": {"id": "D" + users[0]}}
        if method == "views.open":
            self._views += 1
            view_id = f"V{self._views}"
            self.view_hashes[view_id] = f"{view_id}.1"
            return {**ok, "view": {"id": view_id, "hash": self.view_hashes[view_id]}}
        if method == "views.update":  # Slack refuses an update built on a view that has changed since
            view_id = str(args.get("view_id", ""))
            current = self.view_hashes.get(view_id)
            if current is None:
                return {"ok": False, "error": "not_found"}
            if args.get("hash") and args["hash"] != current:
                return {"ok": False, "error": "hash_conflict"}
            number = int(current.rsplit(".", 1)[1]) + 1
            self.view_hashes[view_id] = f"{view_id}.{number}"
            return {**ok, "view": {"id": view_id, "hash": self.view_hashes[view_id]}}
        if method == "users.info":
            return self._user(str(args.get("user", "")))
        if method == "views.publish":
            self._views += 1
            return {**ok, "view": {"id": f"V{self._views}", "type": "home"}}
        return ok

    def set_user(
        self, user_id: str, name: str, tz: str | None, *, deleted: bool = False, role: str | None = None
    ) -> None:
        """What users.info answers for a person from now on (display name, time zone, deactivated, and
        ``role``: "" for a plain member, "admin", "owner" or "primary_owner"; None keeps the default)."""
        self.users[user_id] = {"display_name": name, "tz": tz, "deleted": deleted}
        if role is not None:
            self.users[user_id]["role"] = role

    def _user(self, user_id: str) -> dict[str, Any]:
        known = self.users.get(user_id, {"tz": DEFAULT_TZ})  # Slack gives every person a zone
        default = {"U1": "ana", "U2": "bo", "U3": "cy"}.get(user_id, user_id.lower())
        name = known.get("display_name") or default
        user: dict[str, Any] = {"id": user_id, "team_id": "T1", "name": name, "is_bot": False}
        user["profile"] = {"display_name": name, "real_name": name.title()}
        if known.get("tz"):
            user["tz"] = known["tz"]
        if known.get("deleted"):
            user["deleted"] = True
        user.update(ROLE_FLAGS[known.get("role", DEFAULT_ROLES.get(user_id, ""))])
        return {"ok": True, "user": user}
