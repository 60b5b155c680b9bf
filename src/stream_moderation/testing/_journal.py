"""The request journal: what each request to the emulator was and what it was answered.

``RequestJournal`` keeps the last ``limit`` requests (1,000 by default), oldest first. Each
entry holds the method, path, query (``api_key`` kept: it is not a secret), status, the
answer's ``X-Request-Id``, when it started (RFC 3339, UTC), how long it took (ms) and both
bodies, decoded as JSON when they are JSON, each capped at ``body_limit`` bytes (a longer
body is kept as the text of its first bytes, with ``request_body_truncated`` /
``response_body_truncated`` set). Secrets never reach it: headers are not kept at all
(``Authorization`` holds the JWT), values under secret-like keys (``api_secret``,
``secret``, ``token``, ``password``, ``authorization``, ``*_token``, ...) become ``"***"``,
and so does anything shaped like a JWT, or the emulator's own secret, anywhere in a body.

``JournalMiddleware`` records at the ASGI level, inside the app's gzip layer (bodies as the
handlers wrote them) and inside any middleware added with ``add_middleware`` (faults an
injector answers are not the emulator's answers). The emulator's own admin paths
(``/_emulator/...``) are not recorded, so reading the journal does not fill it.
"""

from __future__ import annotations

import collections
import datetime as _dt
import json
import re
import threading
import time
import zlib
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_BODY_LIMIT", "DEFAULT_JOURNAL_LIMIT", "JournalMiddleware", "RequestJournal"]

DEFAULT_JOURNAL_LIMIT = 1000
"""Requests the journal keeps (the oldest are dropped first)."""
DEFAULT_BODY_LIMIT = 16 * 1024
"""Bytes of each body the journal keeps."""
MASK = "***"

_SECRET_KEYS = frozenset(
    {
        "api_secret",
        "apisecret",
        "secret",
        "token",
        "password",
        "authorization",
        "jwt",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "private_key",
        "webhook_secret",
    }
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


def _secret_key(key: str) -> bool:
    lowered = key.lower().replace("-", "_")
    return (
        lowered in _SECRET_KEYS
        or lowered.endswith(("_token", "_secret", "_password"))
        or lowered.startswith("secret_")
    )


class _Masker:
    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = [s for s in secrets if s]

    def text(self, value: str) -> str:
        value = _JWT.sub(MASK, value)
        for secret in self._secrets:
            value = value.replace(secret, MASK)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {
                k: (MASK if isinstance(k, str) and _secret_key(k) and v else self.value(v))
                for k, v in value.items()
            }
        return value


class RequestJournal:
    """The last ``limit`` requests, oldest first (thread-safe)."""

    def __init__(
        self,
        *,
        limit: int = DEFAULT_JOURNAL_LIMIT,
        body_limit: int = DEFAULT_BODY_LIMIT,
        secrets: Iterable[str] = (),
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"journal_limit must be a whole number >= 1, got {limit!r}")
        if isinstance(body_limit, bool) or not isinstance(body_limit, int) or body_limit < 0:
            raise ValueError(f"journal_body_limit must be a whole number >= 0, got {body_limit!r}")
        self.limit = limit
        self.body_limit = body_limit
        self._masker = _Masker(secrets)
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=limit)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The entries, oldest first (the last ``limit`` of them), bodies decoded."""
        with self._lock:
            entries = list(self._entries)
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return [self._decoded(entry) for entry in entries]

    @staticmethod
    def _decoded(entry: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in entry.items() if not k.startswith("_")}
        for name in ("request_body", "response_body"):
            if entry[f"_{name}_json"]:
                out[name] = json.loads(out[name])
        return out

    def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
        return count

    def body(self, raw: bytes, content_type: str) -> tuple[str | None, bool, bool]:
        """What the journal keeps of a body, masked and capped: its text (compact JSON for
        a JSON body, decoded again when read: text takes less memory than the objects),
        whether it is JSON, whether it was cut."""
        if not raw:
            return None, False, False
        truncated = len(raw) > self.body_limit
        kept = raw[: self.body_limit]
        if not truncated and ("json" in content_type or kept[:1] in (b"{", b"[")):
            try:
                masked = self._masker.value(json.loads(kept))
            except ValueError:
                pass
            else:
                return json.dumps(masked, ensure_ascii=False, separators=(",", ":")), True, False
        return self._masker.text(kept.decode("utf-8", "replace")), False, truncated

    def record(
        self,
        *,
        method: str,
        path: str,
        query: str,
        status: int,
        request_id: str | None,
        started: float,
        duration_ms: float,
        request: tuple[bytes, str],
        response: tuple[bytes, str],
    ) -> None:
        request_body, request_json, request_cut = self.body(*request)
        response_body, response_json, response_cut = self.body(*response)
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": self._masker.text(query),
            "status": status,
            "request_id": request_id,
            "started_at": _dt.datetime.fromtimestamp(started, _dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "duration_ms": round(duration_ms, 3),
            "request_body": request_body,
            "response_body": response_body,
            "_request_body_json": request_json,
            "_response_body_json": response_json,
        }
        if request_cut:
            entry["request_body_truncated"] = True
        if response_cut:
            entry["response_body_truncated"] = True
        with self._lock:
            self._entries.append(entry)


class JournalMiddleware:
    """Records every HTTP request through ``app`` in ``journal`` (but ``/_emulator/...``)."""

    def __init__(self, app: ASGIApp, journal: RequestJournal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or path.startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        journal = self.journal
        cap = journal.body_limit + 1  # one byte over the limit tells that it was cut
        started_wall, started = time.time(), time.perf_counter()
        request_chunks: list[bytes] = []
        request_size = 0
        response_chunks: list[bytes] = []
        response_size = 0
        status = 0
        request_id: str | None = None
        response_type = ""
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        request_type = headers.get("content-type", b"").decode("latin-1")
        gzipped = headers.get("content-encoding", b"").strip().lower() in (b"gzip", b"x-gzip")

        async def receive_and_keep() -> Message:
            nonlocal request_size
            message = await receive()
            if message["type"] == "http.request" and request_size < cap:
                chunk = message.get("body", b"")[: cap - request_size]
                request_chunks.append(chunk)
                request_size += len(chunk)
            return message

        async def send_and_keep(message: Message) -> None:
            nonlocal status, request_id, response_type, response_size
            if message["type"] == "http.response.start":
                status = message["status"]
                for key, value in message.get("headers", []):
                    name = key.decode("latin-1").lower()
                    if name == "x-request-id":
                        request_id = value.decode("latin-1")
                    elif name == "content-type":
                        response_type = value.decode("latin-1")
            elif message["type"] == "http.response.body" and response_size < cap:
                chunk = message.get("body", b"")[: cap - response_size]
                response_chunks.append(chunk)
                response_size += len(chunk)
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_keep)
        finally:
            request_raw = b"".join(request_chunks)
            if gzipped and request_raw:
                try:
                    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                    request_raw = inflater.decompress(request_raw, cap)
                except zlib.error:
                    request_raw = b"(gzip body that does not inflate)"
            journal.record(
                method=scope.get("method", ""),
                path=path,
                query=scope.get("query_string", b"").decode("latin-1"),
                status=status,
                request_id=request_id,
                started=started_wall,
                duration_ms=(time.perf_counter() - started) * 1000,
                request=(request_raw, request_type),
                response=(b"".join(response_chunks), response_type),
            )
