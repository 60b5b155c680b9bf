"""The HTTP face of the emulator: Starlette routing over the operations of the spec.

Every request goes through the same steps: route (unknown path 404, wrong method 405),
rate limit, a declared body over the size limit (413), authenticate (401/403: headers
and query only, the body is read and thrown away unseen), read the body, inflating gzip
as it streams in and stopping at the size limit (413 over it, 415 for another encoding),
then, in a worker thread so that the event loop keeps serving other requests: parse it
(415 when it is not JSON, 400 when it does not parse), refuse text no API stores (a NUL
or a lone surrogate anywhere, 400 naming the field), validate the body and query against
the spec through the generated models with ``strict=True`` (400 naming the field), run
the operation's handler and encode its response under the state lock, check the
response against the response model; then deliver webhooks and answer. A client's
mistake always gets the API's error body, never a 500.

An operation of the release with no handler (a spec update added it) is answered from its
response schema (``_fallback``), with an ``X-Stream-Emulator: not-emulated`` header; a
required response field a handler did not set is filled from the schema. Both are counted
(``not_emulated_calls``, ``filled_fields``) and logged, and neither is ever a 500.

``add_middleware`` wraps the whole app (outermost last): the hook for fault injection.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import threading
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio.to_thread
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from .._errors import ParseError
from .._generated import SPEC_VERSION
from .._generated.events import EVENT_MODELS
from ._auth import Caller, authenticate, authorize
from ._backend import Backend
from ._console import PREFIX as CONSOLE_PREFIX
from ._console import Console
from ._errors import EmulatorError, error_body, input_error
from ._fallback import fallback_body, fill_required
from ._journal import DEFAULT_BODY_LIMIT, DEFAULT_JOURNAL_LIMIT, JournalMiddleware, RequestJournal
from ._ops import Call, Handler, load_handlers
from ._persist import StateFormatError, export_state, import_state, save_dir
from ._spec import (
    OperationSpec,
    ParamSpec,
    constraint_violation,
    drop_nulls,
    operations,
    served_spec,
)
from ._surface import NOT_SERVED, surface_operations, user_token_operations
from ._webhooks import WebhookSender
from ._wire import TimestampMode, decode_json, encode_json, parse_form, text_problem, ts

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_RATE_WINDOW",
    "MAX_BODY_BYTES",
    "NOT_EMULATED_HEADER",
    "EmulatorApp",
    "Middleware",
]

logger = logging.getLogger("stream_moderation.testing")

MAX_BODY_BYTES = 5 * 1024 * 1024
"""Larger request bodies answer 413 (code 22)."""
DEFAULT_RATE_LIMIT = 100_000
"""Requests per app and operation per window before 429 (code 9)."""
DEFAULT_RATE_WINDOW = 60
"""Seconds per rate-limit window: Stream's windows are one minute."""

Middleware = Callable[[ASGIApp], ASGIApp]
Endpoint = Callable[[Request], Awaitable[Response]]

_JSON = "application/json; charset=utf-8"
NOT_EMULATED_HEADER = "X-Stream-Emulator"
"""Set to ``not-emulated`` on the answers of operations the emulator has no semantics for."""


def _duration(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.2f}ms"


def _json_response(
    status: int, body: dict[str, Any], mode: TimestampMode, headers: dict[str, str]
) -> Response:
    return Response(encode_json(body, mode), status_code=status, headers=headers, media_type=_JSON)


class _RateLimiter:
    """Stream-like rate limits: per app (API key) and per operation, in fixed windows of
    ``window`` seconds aligned on the epoch (one minute by default), as the X-RateLimit-*
    headers describe: ``Limit`` the window's quota, ``Remaining`` what is left of it,
    ``Reset`` the window's end (unix seconds). Over the quota: 429 with ``Retry-After``."""

    def __init__(
        self, limit: int, *, window: int = 60, limits: Mapping[str, int] | None = None
    ) -> None:
        self.limit = _positive("rate_limit", limit)
        self.window = _positive("rate_window", window)
        self.limits = {op: _positive(f"rate_limits[{op!r}]", n) for op, n in (limits or {}).items()}
        """Per operation, a quota other than ``limit``."""
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}
        self.rejected: dict[str, dict[int, int]] = {}
        """Per operation, the requests answered 429 in each window (by its reset)."""
        self._lock = threading.Lock()

    def limit_of(self, operation: str) -> int:
        return self.limits.get(operation, self.limit)

    def take(self, app: str, operation: str, now: float) -> tuple[bool, dict[str, str]]:
        limit = self.limit_of(operation)
        window = int(now // self.window) * self.window
        reset = window + self.window
        with self._lock:
            start, used = self._windows.get((app, operation), (window, 0))
            if start != window:
                start, used = window, 0
            allowed = used < limit
            if allowed:
                used += 1
            else:
                counts = self.rejected.setdefault(operation, {})
                counts[reset] = counts.get(reset, 0) + 1
            self._windows[(app, operation)] = (start, used)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": str(reset),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
        return allowed, headers

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                op: {str(reset): n for reset, n in sorted(counts.items())}
                for op, counts in sorted(self.rejected.items())
            }


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


class EmulatorApp:
    """The ASGI application of one emulator."""

    def __init__(
        self,
        backend: Backend,
        webhooks: WebhookSender,
        *,
        api_key: str,
        api_secret: str,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        rate_limits: Mapping[str, int] | None = None,
        rate_window: int = DEFAULT_RATE_WINDOW,
        validate_responses: bool = True,
        max_body_bytes: int = MAX_BODY_BYTES,
        journal_limit: int = DEFAULT_JOURNAL_LIMIT,
        journal_body_limit: int = DEFAULT_BODY_LIMIT,
    ) -> None:
        self.backend = backend
        self.webhooks = webhooks
        self.api_key = api_key
        self._secret = api_secret
        self.validate_responses = validate_responses
        self.max_body_bytes = max_body_bytes
        known = operations()
        for name in rate_limits or {}:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"rate_limits: no operation named {name!r}{hint}")
        self.limiter = _RateLimiter(rate_limit, window=rate_window, limits=rate_limits)
        self.calls: dict[str, int] = {}
        """Requests received per operation (whatever their outcome)."""
        self._calls_lock = threading.Lock()
        self.not_emulated_calls: dict[str, int] = {}
        """Answers built from the response schema, per operation without a handler."""
        self.filled_fields: dict[str, int] = {}
        """Required response fields the handlers left out, filled from the schema, by path."""
        handlers = load_handlers()
        self._handlers = {name: h for name, h in handlers.items() if name in operations()}
        spec_paths = {(o.method, p) for o in operations().values() for p in (o.path, *o.aliases)}
        self._surface = [
            op
            for op, _ in surface_operations()
            if op.name not in operations() and (op.method, op.path) not in spec_paths
        ]
        """The operations served beyond the spec (``_surface.SURFACE``) this release does not
        have itself."""
        for op, surface_handler in surface_operations():
            if op in self._surface:
                self._handlers[op.name] = surface_handler
        self._user_surface = user_token_operations()
        self.not_emulated = sorted(set(operations()) - set(handlers))
        """The operations of this release answered by the spec-driven fallback."""
        self.unused_handlers = sorted(set(handlers) - set(operations()))
        """Handlers of operations this release does not have (left unused)."""
        _log_coverage(self.not_emulated, self.unused_handlers)
        self.console = Console(self, api_key=api_key, api_secret=api_secret)
        """The browser console at /_emulator/ui (``_console``)."""
        self.router = Router(
            routes=self._routes(), redirect_slashes=False, default=self._unknown_route
        )
        self.export_dir: str | None = None
        """Where ``POST /_emulator/state/save`` writes the state (``--export-on-exit``)."""
        self.journal = RequestJournal(
            limit=journal_limit, body_limit=journal_body_limit, secrets=[api_secret]
        )
        """The last requests and their answers (``GET /_emulator/requests``)."""
        self._stack: ASGIApp = GZipMiddleware(
            JournalMiddleware(self._core, self.journal), minimum_size=1024
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._stack(scope, receive, send)

    def add_middleware(self, middleware: Middleware) -> None:
        """Wrap the app in ``middleware`` (an ASGI app factory); the last added runs first."""
        self._stack = middleware(self._stack)

    async def _core(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            if len(path) > 1 and path.endswith("/"):
                scope = {**scope, "path": path.rstrip("/")}
        await self.router(scope, receive, send)

    # -- routing --------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for op in [*operations().values(), *self._surface]:
            for path in (op.path, *op.aliases):
                by_path.setdefault(path, {})[op.method] = self._operation_endpoint(op)
        by_path["/openapi.json"] = {"GET": self._openapi}
        by_path["/_emulator/health"] = {"GET": self._health}
        by_path["/_emulator/reset"] = {"POST": self._admin(self._reset)}
        by_path["/_emulator/stats"] = {"GET": self._admin(self._stats)}
        blocklist = self._admin(self._blocklist)
        by_path["/_emulator/blocklists/{name}"] = {"PUT": blocklist, "POST": blocklist}
        by_path["/_emulator/users"] = {"POST": self._admin(self._users)}
        by_path["/_emulator/state"] = {
            "GET": self._admin(self._export),
            "PUT": self._admin(self._import),
        }
        by_path["/_emulator/state/save"] = {"POST": self._admin(self._save)}
        by_path["/_emulator/requests"] = {
            "GET": self._admin(self._requests),
            "DELETE": self._admin(self._clear_requests),
        }
        return [
            Route(path, _MethodDispatch(self, methods), methods=None)
            for path, methods in sorted(by_path.items())
        ] + [
            Route(CONSOLE_PREFIX, self.console, methods=None),
            Route(CONSOLE_PREFIX + "/{rest:path}", self.console, methods=None),
        ]

    async def _unknown_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        error = EmulatorError(
            404,
            16,
            f"{scope['method']} {scope['path']}: no such endpoint in the emulator, which "
            "serves the Moderation API and the users and chat endpoints moderation uses "
            "(the rest is not emulated: see docs/emulator.md)",
        )
        headers = {NOT_EMULATED_HEADER: NOT_SERVED}
        response = self._error(error, None, time.perf_counter(), headers)
        await response(scope, receive, send)

    def _operation_endpoint(self, op: OperationSpec) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await self.handle(op, request)

        return endpoint

    def method_not_allowed(self, request: Request, allowed: list[str]) -> Response:
        error = EmulatorError(
            405,
            4,
            f"{request.method} is not allowed on {request.url.path}; use " + ", ".join(allowed),
            headers={"Allow": ", ".join(allowed)},
        )
        return self._error(error, None, time.perf_counter(), {})

    # -- the pipeline ---------------------------------------------------------------------

    def _mode(self, op: OperationSpec | None) -> TimestampMode:
        return "rfc3339" if op is not None and op.automod else self.backend.timestamps

    def _error(
        self,
        error: EmulatorError,
        op: OperationSpec | None,
        started: float,
        headers: dict[str, str],
    ) -> Response:
        body = error_body(error, _duration(started), op.title if op else None)
        return _json_response(
            error.status,
            body,
            self._mode(op),
            {**headers, **error.headers, "X-Request-Id": str(uuid.uuid4())},
        )

    async def handle(self, op: OperationSpec, request: Request) -> Response:
        started = time.perf_counter()
        with self._calls_lock:
            self.calls[op.name] = self.calls.get(op.name, 0) + 1
        app = request.query_params.get("api_key", "")
        allowed, headers = self.limiter.take(app, op.name, time.time())
        try:
            if not allowed:
                raise EmulatorError(
                    429,
                    9,
                    f"too many requests: {self.limiter.limit_of(op.name)} per "
                    f"{self.limiter.window} s for {op.name}",
                )
            caller = await self._caller(request, lambda: self._authenticate(request, op.name))
            raw = await self._read_body(request)
            content, call, events, not_emulated = await anyio.to_thread.run_sync(
                self._process, op, request, raw, caller, started
            )
            if not_emulated:
                headers[NOT_EMULATED_HEADER] = "not-emulated"
            await self.webhooks.send(events, call.now, self.backend.timestamps)
        except EmulatorError as error:
            return self._error(error, op, started, headers)
        except Exception:
            logger.exception("emulator failure in %s", op.name)
            failure = EmulatorError(500, -1, f"internal error of the emulator in {op.name}")
            return self._error(failure, op, started, headers)
        headers["X-Request-Id"] = str(uuid.uuid4())
        return Response(content, status_code=op.success_status, headers=headers, media_type=_JSON)

    def _process(
        self, op: OperationSpec, request: Request, raw: bytes, caller: Caller, started: float
    ) -> tuple[bytes, Call, list[tuple[str, dict[str, Any]]], bool]:
        """Everything that costs CPU in proportion to the request (run in a worker thread):
        parse and validate, run the handler (or the spec-driven fallback) and encode its
        answer under the state lock, check the answer against the spec. Returns the body,
        the call, the webhook events to send and whether the fallback answered."""
        files: dict[str, tuple[str, bytes]] = {}
        body = self._parse_body(op, request, raw, files)
        query = self._parse_query(op, request)
        path = {k: str(v) for k, v in request.path_params.items()}
        for name, value in path.items():
            if "\x00" in value:
                raise input_error(
                    f"path parameter {name} holds a NUL character", {name: "holds a NUL"}
                )
        call = Call(
            op=op,
            body=body,
            query=query,
            path=path,
            caller=caller,
            now=0,
            backend=self.backend,
            files=files,
        )
        handler: Handler | None = self._handlers.get(op.name)
        with self.backend.lock, self.backend.state.transaction():
            call.now = self.backend.now()
            if handler is None:
                sent = {**call.body, **call.query, **call.path}
                result = fallback_body(op.response_schema, sent, call.now)
                self.not_emulated_calls[op.name] = self.not_emulated_calls.get(op.name, 0) + 1
            else:
                result = handler(call)
            self._fill(op.response_schema, result)
            # an event type the release does not have is not sent (see _log_coverage)
            events = [
                (t, self._fill_event(t, p, call.now)) for t, p in call.events if t in EVENT_MODELS
            ]
            result["duration"] = _duration(started)
            # encoded under the lock: the result may share objects with the state
            content = encode_json(result, self._mode(op))
        if self.validate_responses and op.response_model is not None:
            self._check_response(op, content)
        return content, call, events, handler is None

    async def _caller(self, request: Request, authenticate: Callable[[], Caller]) -> Caller:
        """Who calls, from the headers and query alone, before any of the body is decoded.
        A declared body over the limit is refused first; the body of a request that does
        not authenticate is read (up to the limit) and thrown away, so that the client
        gets the answer rather than a connection reset."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_big()
        try:
            return authenticate()
        except EmulatorError:
            received = 0
            async for chunk in request.stream():
                received += len(chunk)
                if received > self.max_body_bytes:
                    break
            raise

    async def _read_body(self, request: Request) -> bytes:
        """The body, gzip inflated as it streams in: at most ``max_body_bytes`` on the wire
        and after inflating, whatever the compression ratio (413 past it)."""
        encoding = request.headers.get("content-encoding", "").strip().lower()
        inflater = None
        if encoding in ("gzip", "x-gzip"):
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        chunks: list[bytes] = []
        received = size = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > self.max_body_bytes:
                raise self._too_big()
            if inflater is not None and chunk:
                if inflater.eof:
                    raise input_error("the body has bytes after the end of its gzip stream")
                try:
                    chunk = inflater.decompress(chunk, self.max_body_bytes + 1 - size)
                except zlib.error:
                    raise input_error("the body is not valid gzip") from None
                if inflater.unconsumed_tail:
                    raise self._too_big()
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_big()
            chunks.append(chunk)
        if received and inflater is not None and not (inflater.eof and not inflater.unused_data):
            raise input_error("the body is not valid gzip (truncated, or bytes after its end)")
        if received and inflater is None and encoding not in ("", "identity"):
            raise EmulatorError(415, 4, f"unsupported Content-Encoding {encoding!r}")
        return b"".join(chunks)

    def _too_big(self) -> EmulatorError:
        return EmulatorError(413, 22, f"the body is larger than {self.max_body_bytes} bytes")

    def _authenticate(self, request: Request, operation: str) -> Caller:
        caller = authenticate(
            request.query_params.get("api_key"),
            request.headers,
            expected_key=self.api_key,
            secret=self._secret,
            now=time.time(),
        )
        if not (caller.user_id is not None and operation in self._user_surface):
            authorize(caller, operation)
        return caller

    def _parse_body(
        self,
        op: OperationSpec,
        request: Request,
        raw: bytes,
        files: dict[str, tuple[str, bytes]],
    ) -> dict[str, Any]:
        if op.method in ("GET", "DELETE", "HEAD"):
            return {}
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if raw.strip() and media == "multipart/form-data" and op.request_schema is not None:
            data: Any = parse_form(raw, request.headers["content-type"], op.request_schema, files)
        elif raw.strip():
            if media != "application/json" and not media.endswith("+json"):
                raise EmulatorError(
                    415,
                    4,
                    f"the body must be JSON (Content-Type: application/json), got "
                    f"{media or 'no Content-Type'}",
                )
            try:
                data = decode_json(raw)
            except ValueError as exc:
                raise input_error(f"the body is not valid JSON: {exc}") from None
        elif op.body_required:
            raise input_error("the request body (a JSON object) is required", {"body": "required"})
        else:
            data = {}
        problem = text_problem(data)
        if problem is not None:
            field, reason = problem
            raise input_error(f"{field} {reason}", {field: reason})
        if not isinstance(data, dict):
            raise input_error("the body must be a JSON object", {"body": "expected an object"})
        body: dict[str, Any] = data
        if op.request_model is not None:
            try:
                op.request_model.from_dict(body, strict=True)
            except ParseError as exc:
                field = exc.location.split(".", 1)[1] if "." in exc.location else exc.location
                raise input_error(f"{field}: {exc.reason}", {field: exc.reason}) from None
            assert op.request_schema is not None
            violation = constraint_violation(op.request_schema, body)
            if violation is not None:
                field, reason = violation
                raise input_error(f"{field} {reason}", {field: reason})
            body = drop_nulls(op.request_schema, body)
        return body

    def _parse_query(self, op: OperationSpec, request: Request) -> dict[str, Any]:
        params = request.query_params
        query: dict[str, Any] = {k: v for k, v in params.items() if k != "api_key"}
        for name, value in query.items():
            if "\x00" in name or "\x00" in value:
                raise input_error(
                    f"query parameter {name!r} holds a NUL character", {"query": "holds a NUL"}
                )
        for spec in op.params:
            if spec.location != "query":
                continue
            value = params.get(spec.name)
            if value is None:
                if spec.required:
                    raise input_error(
                        f"query parameter {spec.name} is required",
                        {spec.name: "required query parameter is missing"},
                    )
                continue
            query[spec.name] = _query_value(spec, value)
        return query

    def _fill(self, schema: str | None, value: dict[str, Any]) -> None:
        if schema is None:
            return
        value.setdefault("duration", "")  # set once the call is timed
        filled = fill_required(schema, value)
        if value["duration"] == "":
            del value["duration"]
        for path in filled:
            if path not in self.filled_fields:
                logger.info("filled %s from the spec: the emulator does not set it", path)
            self.filled_fields[path] = self.filled_fields.get(path, 0) + 1

    def _fill_event(self, event_type: str, payload: dict[str, Any], now: int) -> dict[str, Any]:
        schema = EVENT_MODELS.get(event_type)
        full = {"type": event_type, "created_at": ts(now), "custom": {}, **payload}
        self._fill(schema, full)
        return full

    def _check_response(self, op: OperationSpec, content: bytes) -> None:
        try:
            op.response_model.from_dict(json.loads(content), strict=True)
        except ParseError as exc:
            logger.error("emulator response of %s does not fit the spec: %s", op.name, exc)
            raise EmulatorError(
                500, -1, f"the emulator's response does not fit the spec: {exc}"
            ) from None

    # -- extra endpoints ------------------------------------------------------------------

    async def _openapi(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return Response(json.dumps(served_spec(base)).encode(), media_type=_JSON, headers={})

    async def _health(self, request: Request) -> Response:
        body = {"status": "ok", "spec_version": SPEC_VERSION, "duration": "0.00ms"}
        return _json_response(200, body, "unix_ns", {})

    def _admin(self, action: Callable[[Request, Any], dict[str, Any]]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            try:
                await self._caller(request, lambda: self._admin_caller(request))
                raw = await self._read_body(request)
                try:
                    data = decode_json(raw) if raw.strip() else {}
                except ValueError as exc:
                    raise input_error(f"the body is not valid JSON: {exc}") from None
                problem = text_problem(data)
                if problem is not None:
                    raise input_error(f"{problem[0]} {problem[1]}", {problem[0]: problem[1]})
                result = action(request, data)
            except EmulatorError as error:
                return self._error(error, None, started, {})
            result["duration"] = _duration(started)
            return _json_response(200, result, "unix_ns", {})

        return endpoint

    def _admin_caller(self, request: Request) -> Caller:
        caller = authenticate(
            request.query_params.get("api_key"),
            request.headers,
            expected_key=self.api_key,
            secret=self._secret,
            now=time.time(),
        )
        if not caller.is_server:
            raise EmulatorError(403, 17, "the emulator's admin API needs a server token")
        return caller

    def _reset(self, request: Request, data: Any) -> dict[str, Any]:
        self.backend.reset()
        self.webhooks.deliveries.clear()
        return {}

    def _stats(self, request: Request, data: Any) -> dict[str, Any]:
        with self.backend.lock, self._calls_lock:
            return {
                "calls": dict(sorted(self.calls.items())),
                "check_counts": dict(self.backend.state.check_counts),
                "rate_limited": self.limiter.snapshot(),
                "not_emulated": self.not_emulated,
                "not_emulated_calls": dict(sorted(self.not_emulated_calls.items())),
                "filled_fields": dict(sorted(self.filled_fields.items())),
            }

    def _export(self, request: Request, data: Any) -> dict[str, Any]:
        return export_state(self.backend)

    def _import(self, request: Request, data: Any) -> dict[str, Any]:
        document = (
            {k: v for k, v in data.items() if k != "duration"} if isinstance(data, dict) else data
        )
        try:
            import_state(self.backend, document)
        except StateFormatError as exc:
            raise input_error(f"not a loadable state: {exc}", {"state": str(exc)}) from None
        return {}

    def _save(self, request: Request, data: Any) -> dict[str, Any]:
        if self.export_dir is None:
            raise input_error(
                "no export directory: start the emulator with --export-on-exit DIR "
                "(or set Emulator.export_dir)",
                {"export_dir": "not set"},
            )
        path = save_dir(self.backend, self.export_dir)
        return {"path": str(path)}

    def _requests(self, request: Request, data: Any) -> dict[str, Any]:
        raw = request.query_params.get("limit")
        limit = None
        if raw is not None:
            if not raw.isdigit():
                raise input_error("limit must be a whole number", {"limit": "expected a number"})
            limit = int(raw)
        return {"requests": self.journal.entries(limit)}

    def _clear_requests(self, request: Request, data: Any) -> dict[str, Any]:
        return {"cleared": self.journal.clear()}

    def _users(self, request: Request, data: Any) -> dict[str, Any]:
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, list):
            raise input_error(
                'the body must be {"users": [ids or {"id": ..., ...}]}', {"users": "required"}
            )
        try:
            return {"users": self.backend.add_users(users)}
        except ValueError as exc:
            raise input_error(str(exc), {"users": str(exc)}) from None

    def _blocklist(self, request: Request, data: Any) -> dict[str, Any]:
        words = data.get("words") if isinstance(data, dict) else None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise input_error('the body must be {"words": [strings]}', {"words": "required"})
        self.backend.add_blocklist(request.path_params["name"], words)
        return {}


def _log_coverage(not_emulated: list[str], unused: list[str]) -> None:
    if not_emulated:
        logger.warning(
            "%d operation(s) of %s not emulated (answered from their response schema): %s",
            len(not_emulated),
            SPEC_VERSION,
            ", ".join(not_emulated),
        )
    if unused:
        logger.info(
            "%s has no %s: %s handler(s) left unused",
            SPEC_VERSION,
            ", ".join(unused),
            len(unused),
        )


class _MethodDispatch:
    """The ASGI app of one path: the endpoint of the request's method, or a 405 body."""

    def __init__(self, app: EmulatorApp, methods: dict[str, Endpoint]) -> None:
        self.app = app
        self.methods = methods
        self.allowed = sorted(methods)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        method = "GET" if request.method == "HEAD" else request.method
        endpoint = self.methods.get(method)
        if endpoint is None:
            response = self.app.method_not_allowed(request, self.allowed)
        else:
            response = await endpoint(request)
        await response(scope, receive, send)


def _query_value(spec: ParamSpec, value: str) -> Any:
    if spec.type == "boolean":
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
        raise input_error(
            f"query parameter {spec.name} must be true or false", {spec.name: "expected a boolean"}
        )
    if spec.type in ("integer", "number"):
        try:
            return int(value) if spec.type == "integer" else float(value)
        except ValueError:
            raise input_error(
                f"query parameter {spec.name} must be a number", {spec.name: "expected a number"}
            ) from None
    return value
