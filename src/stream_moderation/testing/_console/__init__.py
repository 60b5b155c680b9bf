"""The emulator's console: the review queue, configs and users in a browser, at ``/_emulator/ui``.

Served by the emulator's own app (same process, no build step, no CDN): plain HTML, CSS
and JavaScript shipped in this package (``static/``). Nothing but the sign-in page and its
script answers without a session:

- The sign-in page asks for the API key and secret, signs a short-lived server token with
  the secret (an HS256 JWT, as the API's clients do; SHA-256 and HMAC in ``signin.js``) and
  sends ``POST /_emulator/ui/session`` ``{"api_key", "token"}`` (JSON, same origin): the
  secret itself never leaves the page (no request, URL, cookie, storage or log holds it).
  The token is checked as the API checks tokens, must expire within 10 minutes and is
  accepted once (``jti``). The answer is an ``HttpOnly; SameSite=Strict`` session cookie
  (path ``/_emulator/ui``, 8 hours).
- Every request that changes something (``POST``) needs the CSRF token in the
  ``X-Console-CSRF`` header (the console page carries it in a ``<meta>`` tag) and, when the
  browser sends one, an ``Origin`` equal to the emulator's own.
- ``POST /_emulator/ui/api/call`` runs one operation of the spec by name: the console
  sends the request to the emulator's API in process, with the API key and a server token
  signed with the secret, so it goes through the API's own path (authentication,
  validation, the handler, webhooks, rate limits).
- ``GET /_emulator/ui/api/meta|users|bans|mutes|blocklists`` read the state (read only);
  ``GET /_emulator/ui/api/journal`` relays ``GET /_emulator/requests`` (the request
  journal), 404 when the emulator has none.

Every page is sent with a Content-Security-Policy that allows no inline script; the page
renders data with ``textContent`` only.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
import typing
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..._auth import hs256
from ..._generated import SPEC_VERSION
from .._auth import authenticate
from .._errors import EmulatorError
from .._render import render_ban, render_user
from .._spec import operations
from .._wire import decode_json, encode_json

if TYPE_CHECKING:
    from .._app import EmulatorApp

__all__ = ["PREFIX", "SESSION_COOKIE", "Console", "action_types"]

PREFIX = "/_emulator/ui"
SESSION_COOKIE = "stream_emulator_console"
SESSION_SECONDS = 8 * 3600
"""A session ends this long after sign-in."""
SIGN_IN_TOKEN_SECONDS = 600
"""The longest a sign-in token may live."""
CSRF_HEADER = "x-console-csrf"
_INTERNAL_BASE = "http://emulator-console.internal"
_MAX_BODY = 1024 * 1024

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
_PUBLIC_ASSETS = frozenset({"signin.js", "console.css"})
"""Assets served without a session (they hold no data)."""
_PRIVATE_ASSETS = frozenset({"console.js"})


def action_types() -> list[str]:
    """The action types of the release's ``SubmitActionRequest`` (from the generated models)."""
    from ... import models

    return list(typing.get_args(models.SubmitActionRequestActionType))


@dataclass(slots=True)
class _Session:
    csrf: str
    expires: float


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


class Console:
    """The console's ASGI app (routed by the emulator's app for every path under PREFIX)."""

    def __init__(self, app: EmulatorApp, *, api_key: str, api_secret: str) -> None:
        self._app = app
        self._api_key = api_key
        self._secret = api_secret
        self._sessions: dict[str, _Session] = {}
        self._used_tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Console(api_key={self._api_key!r}, sessions={len(self._sessions)})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self._route(request)
        except _Refused as refused:
            response = self._json(refused.status, {"error": refused.message})
        await response(scope, receive, send)

    # -- plumbing -------------------------------------------------------------------------

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(body).encode(),
            status_code=status,
            media_type="application/json",
            headers={**_HEADERS, **(headers or {})},
        )

    def _page(self, name: str, csrf: str = "") -> Response:
        html = _asset(name).decode().replace("{{csrf}}", csrf)
        return Response(html, media_type="text/html; charset=utf-8", headers=dict(_HEADERS))

    def _session(self, request: Request) -> _Session | None:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid:
            return None
        now = time.time()
        with self._lock:
            for key in [k for k, s in self._sessions.items() if s.expires < now]:
                del self._sessions[key]
            return self._sessions.get(sid)

    def _require(self, request: Request) -> _Session:
        session = self._session(request)
        if session is None:
            raise _Refused(401, "sign in first")
        return session

    def _same_origin(self, request: Request) -> None:
        origin = request.headers.get("origin")
        if origin is None:
            return
        host = request.headers.get("host", "")
        parts = urlsplit(origin)
        if parts.netloc != host or parts.scheme not in ("http", "https"):
            raise _Refused(403, "cross-origin request refused")

    def _check_csrf(self, request: Request, session: _Session) -> None:
        self._same_origin(request)
        token = request.headers.get(CSRF_HEADER, "")
        if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
            raise _Refused(403, "missing or wrong CSRF token")

    async def _body(self, request: Request) -> dict[str, Any]:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise _Refused(415, "send JSON (Content-Type: application/json)")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > _MAX_BODY:
                raise _Refused(413, "body too large")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise _Refused(400, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _Refused(400, "the body must be a JSON object")
        return data

    # -- routes ---------------------------------------------------------------------------

    async def _route(self, request: Request) -> Response:
        path = request.url.path[len(PREFIX) :].rstrip("/") or "/"
        method = request.method
        if path == "/" and method in ("GET", "HEAD"):
            session = self._session(request)
            if session is None:
                return self._page("signin.html")
            return self._page("console.html", session.csrf)
        if path.startswith("/static/") and method in ("GET", "HEAD"):
            name = path[len("/static/") :]
            if name in _PRIVATE_ASSETS:
                self._require(request)
            elif name not in _PUBLIC_ASSETS:
                raise _Refused(404, "no such asset")
            suffix = name[name.rfind(".") :]
            return Response(
                _asset(name), media_type=_TYPES[suffix] + "; charset=utf-8", headers=_HEADERS
            )
        if path == "/session" and method == "POST":
            return await self._sign_in(request)
        if path == "/session/end" and method == "POST":
            return self._sign_out(request)
        if path.startswith("/api/"):
            session = self._require(request)
            name = path[len("/api/") :]
            if method == "POST" and name == "call":
                self._check_csrf(request, session)
                return await self._call(await self._body(request))
            if method == "GET" and name in _READERS:
                return self._json(200, _READERS[name](self))
            if method == "GET" and name == "journal":
                return await self._journal()
        raise _Refused(404, f"{method} {request.url.path}: not part of the console")

    async def _sign_in(self, request: Request) -> Response:
        """``{"api_key", "token"}``: the token is a server JWT the page signed with the secret
        (HS256, checked as the API checks tokens), short-lived (``exp`` at most
        SIGN_IN_TOKEN_SECONDS ahead) and used once (``jti``)."""
        self._same_origin(request)
        data = await self._body(request)
        key, token = data.get("api_key"), data.get("token")
        if not isinstance(key, str) or not isinstance(token, str):
            raise _Refused(400, 'send {"api_key": ..., "token": a JWT signed with the secret}')
        now = time.time()
        try:
            caller = authenticate(
                key,
                {"authorization": token},
                expected_key=self._api_key,
                secret=self._secret,
                now=now,
            )
        except EmulatorError:
            caller = None
        if caller is None or not caller.is_server:
            raise _Refused(401, "wrong API key or secret")
        claims = jwt.decode(token, options={"verify_signature": False})
        exp, jti = claims.get("exp"), claims.get("jti")
        if (
            not isinstance(exp, int | float)
            or exp > now + SIGN_IN_TOKEN_SECONDS
            or not isinstance(jti, str)
            or not jti
        ):
            raise _Refused(401, "the sign-in token needs a near exp and a jti")
        with self._lock:
            for used in [j for j, until in self._used_tokens.items() if until < now]:
                del self._used_tokens[used]
            if jti in self._used_tokens:
                raise _Refused(401, "this sign-in token was used already")
            self._used_tokens[jti] = float(exp) + 60
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[sid] = _Session(csrf=csrf, expires=time.time() + SESSION_SECONDS)
        cookie = (
            f"{SESSION_COOKIE}={sid}; Path={PREFIX}; HttpOnly; SameSite=Strict; "
            f"Max-Age={SESSION_SECONDS}"
        )
        if request.url.scheme == "https":
            cookie += "; Secure"
        return self._json(200, {"signed_in": True}, {"Set-Cookie": cookie})

    def _sign_out(self, request: Request) -> Response:
        session = self._require(request)
        self._check_csrf(request, session)
        sid = request.cookies.get(SESSION_COOKIE, "")
        with self._lock:
            self._sessions.pop(sid, None)
        cookie = f"{SESSION_COOKIE}=; Path={PREFIX}; HttpOnly; SameSite=Strict; Max-Age=0"
        return self._json(200, {"signed_in": False}, {"Set-Cookie": cookie})

    # -- the API, in process --------------------------------------------------------------

    def _server_token(self) -> str:
        now = int(time.time())
        with hs256(self._secret):
            return jwt.encode(
                {"server": True, "iat": now, "exp": now + 60}, self._secret, algorithm="HS256"
            )

    async def _internal(
        self, method: str, path: str, query: dict[str, str], body: Any | None
    ) -> httpx.Response:
        headers = {"Authorization": self._server_token(), "Stream-Auth-Type": "jwt"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body).encode()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self._app), base_url=_INTERNAL_BASE
        ) as client:
            return await client.request(
                method,
                path,
                params={**query, "api_key": self._api_key},
                headers=headers,
                content=content,
            )

    async def _call(self, data: dict[str, Any]) -> Response:
        """Run one operation of the spec: ``{"operation", "path": {...}, "query": {...},
        "body": {...}}``; answers ``{"status", "body"}`` with the API's answer."""
        name = data.get("operation")
        op = operations().get(name) if isinstance(name, str) else None
        if op is None:
            raise _Refused(400, f"no operation named {name!r} in {SPEC_VERSION}")
        params = data.get("path") or {}
        query = data.get("query") or {}
        if not isinstance(params, dict) or not isinstance(query, dict):
            raise _Refused(400, "path and query must be objects")
        path = op.path
        for key, value in params.items():
            path = path.replace("{" + str(key) + "}", quote(str(value), safe=""))
        if "{" in path:
            raise _Refused(400, f"{name}: a path parameter is missing")
        body = data.get("body") if op.method not in ("GET", "DELETE") else None
        if op.method not in ("GET", "DELETE") and body is None:
            body = {}
        answer = await self._internal(
            op.method, path, {str(k): str(v) for k, v in query.items()}, body
        )
        try:
            decoded = decode_json(answer.content) if answer.content else {}
        except ValueError:
            decoded = {"raw": answer.text}
        return Response(
            encode_json({"status": answer.status_code, "body": decoded}, "unix_ns"),
            media_type="application/json",
            headers=dict(_HEADERS),
        )

    async def _journal(self) -> Response:
        answer = await self._internal("GET", "/_emulator/requests", {}, None)
        if answer.status_code == 404:
            return self._json(404, {"error": "request journal not available in this emulator"})
        try:
            body = answer.json()
        except ValueError:
            body = {"error": answer.text}
        return self._json(answer.status_code, body)

    # -- read-only views of the state ------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        backend = self._app.backend
        with backend.lock:
            items = list(backend.state.items.values())
            configs = sorted(key for key, _ in backend.state.configs)
        return {
            "api_key": self._api_key,
            "spec_version": SPEC_VERSION,
            "action_types": action_types(),
            "operations": sorted(operations()),
            "filters": {
                "status": sorted({i.status for i in items}),
                "entity_type": sorted({i.entity_type for i in items}),
                "recommended_action": sorted({i.recommended_action for i in items}),
            },
            "config_keys": configs,
        }

    def _users(self) -> dict[str, Any]:
        backend = self._app.backend
        with backend.lock:
            now = backend.now()
            state = backend.state
            users = [_jsonable(render_user(u, state, now)) for u in state.users.values()]
        return {"users": users}

    def _bans(self) -> dict[str, Any]:
        backend = self._app.backend
        with backend.lock:
            now = backend.now()
            state = backend.state
            bans = [_jsonable(render_ban(b, state, now)) for b in state.bans]
        return {"bans": bans}

    def _mutes(self) -> dict[str, Any]:
        backend = self._app.backend
        with backend.lock:
            mutes = [
                {
                    "user_id": m.user_id,
                    "target_id": m.target_id,
                    "created_at": m.created_at,
                    "expires": m.expires,
                }
                for m in backend.state.mutes.values()
            ]
        return {"mutes": mutes}

    def _blocklists(self) -> dict[str, Any]:
        backend = self._app.backend
        with backend.lock:
            lists = [
                {"name": name, "words": list(words)}
                for name, words in sorted(backend.blocklists.items())
            ]
        return {"blocklists": lists}


def _jsonable(value: Any) -> Any:
    return json.loads(encode_json(value, "unix_ns"))


_READERS = {
    "meta": Console._meta,
    "users": Console._users,
    "bans": Console._bans,
    "mutes": Console._mutes,
    "blocklists": Console._blocklists,
}
