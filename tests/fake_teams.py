"""Fake Microsoft identity and Bot Connector servers on 127.0.0.1 (real HTTP, nothing in botbuilder mocked).

- ``IdentityServer``: the OpenID metadata document and JWKS that botbuilder reads to verify inbound
  tokens (the key carries ``"endorsements": ["msteams"]``), plus a minter for RS256 tokens shaped like
  the Bot Framework's (``kid``, ``iss``, ``aud``, ``serviceurl``, ``exp``).
- ``TokenServer``: an HTTPS ADFS-style authority (self-signed certificate made with ``cryptography``)
  at ``https://127.0.0.1:PORT/adfs`` that MSAL asks for the bot's outbound token.
- ``FakeConnector``: the Bot Connector at an activity's ``serviceUrl``; records every call and can
  answer the next one with 429 + Retry-After, a 5xx or 403 ``MessageWritesBlocked``.

botbuilder and MSAL fetch keys and tokens with blocking ``requests`` calls from inside the event loop,
so the identity and token servers run on their own thread; the connector is reached asynchronously
and runs on the test's loop, where tests can wait on it with a bound.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from bot.server import bound_port, run_http

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _ThreadedServer:
    """A stdlib HTTP(S) server on a daemon thread; ``routes`` maps (method, path) to a JSON answer."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                status, payload = owner.handle(self.command, self.path.split("?")[0], body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer
            do_POST = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def handle(self, method: str, path: str, body: str) -> tuple[int, Any]:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class IdentityServer(_ThreadedServer):
    """OpenID metadata + JWKS for inbound tokens, and the minter of those tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.key = new_key()
        self.kid = f"kid-{uuid.uuid4().hex[:8]}"
        self.fetches = 0
        # botbuilder caches keys per metadata URL for a day, process-wide: a port reused by a later
        # test must not find this server's keys, so every server has its own path.
        self.prefix = f"/{uuid.uuid4().hex[:12]}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    @property
    def metadata_url(self) -> str:
        return f"{self.base}/v1/.well-known/openidconfiguration"

    def rotate(self) -> None:
        """A new signing key under a new key id (the old one is withdrawn), as Microsoft does."""
        self.key = new_key()
        self.kid = f"kid-{uuid.uuid4().hex[:8]}"

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256", "endorsements": ["msteams"]})
        return {"keys": [public]}

    def handle(self, method: str, path: str, body: str) -> tuple[int, Any]:
        self.fetches += 1
        path = path.removeprefix(self.prefix)
        if path == "/v1/.well-known/openidconfiguration":
            return 200, {
                "issuer": BOT_FRAMEWORK_ISSUER,
                "authorization_endpoint": f"{self.base}/v1/authorize",
                "jwks_uri": f"{self.base}/v1/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        if path == "/v1/keys":
            return 200, self.jwks()
        return 404, {}

    def token(
        self,
        app_id: str,
        service_url: str,
        *,
        expires_in: int = 3600,
        kid: str | None = None,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        """A Bot Framework channel token; every argument can be made wrong for the 401 tests."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": app_id,
            "serviceurl": service_url,
            "nbf": now - 60,
            "iat": now - 60,
            "exp": now + expires_in,
        }
        pem = (key or self.key).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid or self.kid})


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files in ``folder``."""
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "token-server.pem", folder / "token-server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class TokenServer(_ThreadedServer):
    """An HTTPS ADFS authority: MSAL skips instance discovery for a tenant segment of ``adfs``."""

    def __init__(self, folder: Path, app_id: str, password: str) -> None:
        self.cert_path, key_path = self_signed_certificate(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        super().__init__(context)
        self.app_id = app_id
        self.password = password
        self.issued: list[str] = []
        self.refused = 0

    @property
    def authority(self) -> str:
        return f"https://127.0.0.1:{self.port}/adfs"

    def handle(self, method: str, path: str, body: str) -> tuple[int, Any]:
        if path == "/adfs/.well-known/openid-configuration":
            return 200, {
                "issuer": self.authority,
                "authorization_endpoint": f"{self.authority}/oauth2/authorize/",
                "token_endpoint": f"{self.authority}/oauth2/token/",
            }
        if path == "/adfs/oauth2/token/" and method == "POST":
            form = dict(parse_qsl(body))
            if form.get("client_id") != self.app_id or form.get("client_secret") != self.password:
                self.refused += 1
                return 401, {"error": "invalid_client", "error_description": "bad credentials"}
            token = f"outbound-{uuid.uuid4().hex}"
            self.issued.append(token)
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        return 404, {}


@dataclass
class ConnectorCall:
    kind: str  # send | reply | update | create | members
    conversation_id: str
    body: dict[str, Any]
    status: int
    authorization: str = ""
    activity_id: str = ""
    query: dict[str, str] = field(default_factory=dict)

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return list(self.body.get("attachments") or [])


@dataclass
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    conversation: str | None = None  # only calls to this conversation id fail; None: any


class FakeConnector:
    """The Bot Connector REST API (v3) for the calls Tend makes."""

    def __init__(self) -> None:
        self.calls: list[ConnectorCall] = []
        self.failures: dict[str, list[_Failure]] = {}
        self.rosters: dict[str, list[dict[str, Any]]] = {}
        self._changed = asyncio.Condition()
        self._ids = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/teams/"

    def fail_next(
        self,
        kind: str,
        status: int,
        *,
        retry_after: int | None = None,
        code: str = "",
        conversation: str | None = None,
    ) -> None:
        """The next ``kind`` call (send (or reply), update, create, members), to ``conversation`` if
        given, answers ``status``."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"error": {"code": code or f"HTTP{status}", "message": "fake failure"}}
        self.failures.setdefault(kind, []).append(_Failure(status, body, headers, conversation))

    def block_writes(self, conversation: str) -> None:
        """403 MessageWritesBlocked on the next send there: the person blocked or removed the bot."""
        self.fail_next("send", 403, code="MessageWritesBlocked", conversation=conversation)

    def of(self, kind: str, *, ok_only: bool = True) -> list[ConnectorCall]:
        return [c for c in self.calls if c.kind == kind and (c.status < 300 or not ok_only)]

    async def wait_for(self, predicate: Callable[[list[ConnectorCall]], Any], within: float = 10.0) -> Any:
        """Waits until ``predicate(calls)`` is truthy (returns it); fails the test after ``within`` s."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.calls)), within)
            return predicate(self.calls)

    async def start(self) -> None:
        app = web.Application()
        base = "/teams/v3/conversations"
        app.router.add_post(base, self._create)
        app.router.add_post(base + "/{cid}/activities", self._activity)
        app.router.add_post(base + "/{cid}/activities/{aid}", self._activity)
        app.router.add_put(base + "/{cid}/activities/{aid}", self._activity)
        app.router.add_get(base + "/{cid}/pagedmembers", self._members)
        self._runner = await run_http(app, "127.0.0.1", 0)
        self.port = bound_port(self._runner)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    async def _record(self, call: ConnectorCall) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _call(self, request: web.Request, kind: str, cid: str, aid: str = "") -> web.Response | None:
        """Records the call; answers a queued failure if one waits for this kind."""
        body = await request.json() if request.can_read_body else {}
        call = ConnectorCall(
            kind, cid, body, 200, request.headers.get("Authorization", ""), aid, dict(request.query)
        )
        pending = self.failures.get("send" if kind == "reply" else kind, [])  # a reply is a send
        failure = next((f for f in pending if f.conversation in (None, cid)), None)
        if failure is not None:
            pending.remove(failure)
            call.status = failure.status
            await self._record(call)
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        await self._record(call)
        return None

    async def _activity(self, request: web.Request) -> web.Response:
        cid, aid = request.match_info["cid"], request.match_info.get("aid", "")
        kind = "update" if request.method == "PUT" else ("reply" if aid else "send")
        failed = await self._call(request, kind, cid, aid)
        if failed is not None:
            return failed
        return web.json_response({"id": aid if kind == "update" else self._next_id("activity-")})

    async def _create(self, request: web.Request) -> web.Response:
        failed = await self._call(request, "create", "")
        if failed is not None:
            return failed
        body = self.calls[-1].body
        member = (body.get("members") or [{}])[0].get("id", "")
        return web.json_response({"id": f"a:personal-{member}", "activityId": self._next_id("activity-")})

    async def _members(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        failed = await self._call(request, "members", cid)
        if failed is not None:
            return failed
        roster = self.rosters.get(cid, [])
        size = min(int(request.query.get("pageSize") or 500), 500)
        start = int(request.query.get("continuationToken") or 0)
        page = roster[start : start + size]
        answer: dict[str, Any] = {"members": page}
        if start + size < len(roster):
            answer["continuationToken"] = str(start + size)
        return web.json_response(answer)
