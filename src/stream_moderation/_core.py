"""Everything about a call that is not I/O, shared by the async and the sync client.

``ClientCore`` builds the request (URL, query, headers, JSON body, timeout) once per call,
turns a response into a StreamResponse or a typed error, and decides whether and when to
try again. The clients in ``_client`` are thin drivers around it: send, read the body
within its limit, sleep, repeat.

Whether a failed attempt is sent again:

- a failure that provably left the request unprocessed (the connection failed before the
  request was written, or the API answered 408, 429 or 503: it refused the request) is
  retried for every operation;
- a failure after which the API may have processed the request (a 500, 502 or 504, the
  connection lost after the request was sent, an attempt's timeout or the deadline
  expiring while waiting for the answer) is retried only for the operations whose
  ``Operation.resendable`` says so (reads, idempotent writes: see ``codegen/resend.py``)
  or when the caller opted in (``retry_unsafe=True``); any other operation raises
  ``ResponseLostError`` (or the status error) instead;
- never more than ``max_retries`` times, never an error the API marks ``unrecoverable``,
  and never a wait that would end past the call's deadline: then the last error is raised
  at once (with ``retry_after`` when the API asked for a wait).

An attempt is bounded as a whole by ``timeout`` (connect, write and the whole read), and
the call, every attempt and wait included, by ``deadline``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
import zlib
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol, TypeVar

import httpx

from ._auth import Credentials
from ._body import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_RESPONSE_BYTES,
    ERROR_BODY_BYTES,
    BodyTooLarge,
    BoundedBody,
    UnsupportedEncoding,
)
from ._errors import ParseError
from ._exceptions import (
    BODY_EXCERPT_CHARS,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ArgumentTypeError,
    ArgumentValueError,
    InsecureTransportError,
    ResponseLostError,
    ResponseTooLargeError,
    StreamError,
    body_excerpt,
    status_error_class,
)
from ._logs import fields
from ._options import CLIENT_OPTIONS, RequestOptions, TimeoutTypes, check_options
from ._proxies import is_loopback
from ._retry import RetryPolicy, server_wait
from ._types import UNSET, Operation, RateLimitInfo, StreamResponse, Unset, to_wire
from ._version import __version__

__all__ = [
    "ATTEMPT_PROGRESS",
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "REFUSED_STATUSES",
    "Attempt",
    "Attempted",
    "Call",
    "ClientCore",
    "Progress",
    "Retry",
    "Wait",
    "WireRequest",
]

T = TypeVar("T")
DEFAULT_BASE_URL = "https://chat.stream-io-api.com"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
DEFAULT_DEADLINE = 60.0
"""Seconds a call may take, every attempt and wait included: the default three attempts
of at most 10 s and their backoff fit, and a server-requested wait that would end later
is not waited for."""
# One pool per client, kept warm for concurrent use (httpx keeps only 20 idle by default).
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
USER_AGENT = f"stream-moderation-python/{__version__}"

REFUSED_STATUSES = frozenset({408, 429, 503})
"""Statuses that say the request was refused, not processed, so any operation may be sent
again: 408 (the server did not receive the whole request, RFC 9110 15.5.9), 429 (rate
limited: Stream refuses every call over the limit) and 503 (unable to handle the request
now, RFC 9110 15.6.4: what a load balancer answers when it forwards nothing)."""

_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
"""Transport errors raised before any byte of the request left (when the transport does
not report its progress, these are the failures known not to be processed)."""
_NOT_WHOLE = (httpx.WriteError, httpx.WriteTimeout)
"""Writing the request failed: the server cannot have processed a request it did not get
whole."""
_NOT_RETRYABLE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.TooManyRedirects)

logger = logging.getLogger("stream_moderation")


class Progress:
    """How far an attempt got: whether the transport reported anything, and whether the
    request started to be written (after which the API may process it)."""

    __slots__ = ("reported", "sent")

    def __init__(self) -> None:
        self.reported = False
        self.sent = False

    def report(self, event: str) -> None:
        """An httpcore trace event (``http11.send_request_headers.started``, ...)."""
        self.reported = True
        if "send_request_headers" in event:
            self.sent = True


ATTEMPT_PROGRESS: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "stream_moderation_attempt_progress", default=None
)
"""The progress of the attempt in flight in this context (the transports report to it)."""


def _trace(event: str, info: dict[str, Any]) -> None:
    progress = ATTEMPT_PROGRESS.get()
    if progress is not None:
        progress.report(event)


async def _atrace(event: str, info: dict[str, Any]) -> None:
    _trace(event, info)


def _json_decoder() -> Callable[[bytes], Any]:
    """orjson's loads when the 'orjson' extra is installed (2-3x faster), else the stdlib's.

    orjson reads integers exactly from -2**63 to 2**64-1 (nanosecond timestamps included)
    and larger ones as floats; what it refuses (lone surrogates) goes to the stdlib.
    """
    try:
        import orjson
    except ImportError:
        return json.loads

    fast = orjson.loads
    refused = orjson.JSONDecodeError

    def loads(content: bytes) -> Any:
        try:
            return fast(content)
        except refused:  # not JSON, or JSON that only the stdlib takes
            return json.loads(content)

    return loads


loads_json = _json_decoder()

# Parsed URLs by their text: httpx.URL is immutable, and most calls of an app go to a few
# URLs (every check to the same one), so each is parsed once. Bounded: ids in paths vary.
_parse_url = lru_cache(maxsize=1024)(httpx.URL)


_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


# The per-call state below is plain slotted classes, not attrs ones: nothing compares or
# prints them, and attrs would compile their methods at every import of the package.


class Retry:
    """The outcome of a failed attempt that is worth repeating after ``delay`` seconds."""

    __slots__ = ("delay", "error")

    def __init__(self, delay: float, error: Exception) -> None:
        self.delay = delay
        self.error = error


class Wait:
    """A step of ``ClientCore.attempts``: before the next attempt, sleep ``seconds`` (None
    before the first), then wait for the client's rate-limit coordinator, if it has one."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds


_BEFORE_FIRST = Wait(None)


class Attempt:
    """A step of ``ClientCore.attempts``: send the request and read its body within
    ``seconds`` (None: unbounded); the driver sends back ``(response, content, failure)``."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds


class ResponseHead(Protocol):
    """What the core reads of a response besides its body: an httpx.Response, or the
    aiohttp transport's own."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def reason_phrase(self) -> str: ...


Attempted = tuple[ResponseHead | None, bytes | None, BaseException | None]
"""What an attempt got: the response (if any), its body (if read whole) and the failure."""


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    """The base URL without a trailing slash; plain http only to loopback or when allowed."""
    if not isinstance(base_url, str):
        raise ArgumentTypeError(f"base_url must be a string, got {type(base_url).__name__}")
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ArgumentValueError(f"base_url is not a valid URL ({exc}): {base_url!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ArgumentValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise InsecureTransportError(
            f"refusing to send the API key and a token signed with the secret over plain http "
            f"to {url.host}: use https, a loopback host, or allow_insecure_http=True"
        )
    return base_url.rstrip("/")


def rate_limit_info(headers: Mapping[str, str]) -> RateLimitInfo | None:
    limit = headers.get("x-ratelimit-limit")
    remaining = headers.get("x-ratelimit-remaining")
    reset = headers.get("x-ratelimit-reset")
    if limit is None and remaining is None and reset is None:
        return None
    reset_at = None if reset is None else _reset_time(reset)
    return RateLimitInfo(limit=_to_int(limit), remaining=_to_int(remaining), reset=reset_at)


@lru_cache(maxsize=64)  # the same value on every response of a rate-limit window
def _reset_time(reset: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(reset), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _to_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def attempt_seconds(timeout: httpx.Timeout) -> float | None:
    """How long one attempt may take, whole: the largest of its phase timeouts."""
    phases = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
    return max(phases) if phases else None


def phase_timeouts(timeout: httpx.Timeout, limit: float | None) -> dict[str, float | None]:
    """The phase timeouts of an attempt bounded by ``limit`` seconds as a whole (None:
    unbounded), as httpcore and the aiohttp transport read them."""
    phases = timeout.as_dict()
    if limit is None:
        return phases
    return {k: limit if v is None else min(v, limit) for k, v in phases.items()}


def _seconds(value: float) -> str:
    return f"{value:g} s"


class WireRequest:
    """A request for a transport that sends it itself, without httpx's client (the
    aiohttp transport): what goes on the wire, built once per call like an httpx.Request.
    Its repr names method and path only: the headers hold the server token."""

    __slots__ = ("content", "extensions", "headers", "method", "target", "url")

    def __init__(
        self,
        method: str,
        url: httpx.URL,
        target: str,
        headers: Mapping[str, str],
        content: bytes | None,
    ) -> None:
        self.method = method
        self.url = url
        """The URL, parsed (for errors and logs)."""
        self.target = target
        """The same URL as text, as the transport sends it."""
        self.headers = headers
        self.content = content
        self.extensions: dict[str, Any] = {}
        """Set per attempt: ``timeout`` (the phase timeouts) and ``trace``."""

    def __repr__(self) -> str:
        return f"<WireRequest {self.method} {self.url.path}>"


class Call:
    """One call in progress: its request, its limits and how far it got."""

    __slots__ = (
        "attempt_binding",
        "attempt_ends",
        "attempt_limit",
        "attempt_phases",
        "attempt_started",
        "attempts",
        "complete",
        "deadline",
        "max_retries",
        "operation",
        "progress",
        "request",
        "retry_unsafe",
        "started",
        "timeout",
    )

    def __init__(
        self,
        *,
        operation: Operation[Any],
        request: httpx.Request | WireRequest,
        max_retries: int,
        retry_unsafe: bool,
        timeout: httpx.Timeout,
        attempt_limit: float | None,
        attempt_phases: dict[str, float | None],
        deadline: float | None,
        started: float,
        complete: bool = False,
    ) -> None:
        self.operation = operation
        self.request = request
        self.max_retries = max_retries
        self.retry_unsafe = retry_unsafe
        self.timeout = timeout
        self.attempt_limit = attempt_limit
        """Seconds per attempt (None: unbounded)."""
        self.attempt_phases = attempt_phases
        """The phase timeouts of an attempt the timeout bounds (shared: never changed)."""
        self.deadline = deadline
        """Seconds for the whole call (None: unbounded)."""
        self.started = started
        """``time.monotonic()`` when the call started."""
        self.complete = complete
        """Whether a response lacking a field the spec requires is an error
        (``strict_response_validation``) rather than read with the field None."""
        self.attempts = 0
        """Attempts started so far."""
        self.attempt_started = 0.0
        """``time.monotonic()`` when the attempt in progress started."""
        self.attempt_ends: float | None = None
        """``time.monotonic()`` at which the attempt in progress must end."""
        self.attempt_binding = "timeout"
        """Which limit ends the attempt in progress: ``timeout`` or ``deadline``."""
        self.progress = Progress()

    @property
    def ends(self) -> float | None:
        return None if self.deadline is None else self.started + self.deadline

    @property
    def resendable(self) -> bool:
        """Whether the request may be sent again after it may have been processed."""
        return self.operation.resendable or self.retry_unsafe


class ClientCore:
    """The settings of a client and the logic of one call, without any I/O."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str,
        timeout: TimeoutTypes,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        retry_policy: RetryPolicy | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        retry_unsafe: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        strict_response_validation: bool = False,
    ) -> None:
        self.credentials = credentials
        self.base_url = base_url
        self.timeout = _timeout(timeout)
        self._attempt_limit = attempt_seconds(self.timeout)
        self._attempt_phases = phase_timeouts(self.timeout, self._attempt_limit)
        self.max_retries = _retries(max_retries)
        self.deadline = _deadline(deadline)
        if not isinstance(retry_unsafe, bool):
            raise ArgumentTypeError("retry_unsafe must be True or False")
        self.retry_unsafe = retry_unsafe
        if not isinstance(strict_response_validation, bool):
            raise ArgumentTypeError("strict_response_validation must be True or False")
        self.strict_response_validation = strict_response_validation
        if (
            not isinstance(max_response_bytes, int)
            or isinstance(max_response_bytes, bool)
            or max_response_bytes < 1
        ):
            raise ArgumentValueError("max_response_bytes must be a positive integer")
        self.max_response_bytes = max_response_bytes
        self.retry_policy = retry_policy or RetryPolicy()
        self.default_headers = httpx.Headers(
            {
                "X-Stream-Client": f"stream-moderation-python-{__version__}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
            }
        )
        try:
            self.default_headers.update(default_headers or {})
        except (UnicodeEncodeError, TypeError, AttributeError) as exc:
            raise _header_error(exc, "default_headers") from None
        self._sign_headers()

    def _sign_headers(self) -> None:
        # What every call sends, built once: httpx merges these with the http client's own
        # headers and params, but does not normalise or parse them again per call. Only
        # httpx.Headers hold the token: their repr masks Authorization.
        self._headers = httpx.Headers(
            {
                "Authorization": self.credentials.server_token_secret.reveal(),
                "Stream-Auth-Type": "jwt",
            }
        )
        self._headers.update(self.default_headers)
        self._json_headers = self._headers.copy()
        self._json_headers["Content-Type"] = "application/json"
        # the same as plain dicts, for a transport that is not httpx's
        self._wire_headers = dict(self._headers.items())
        self._wire_json_headers = dict(self._json_headers.items())
        self._query = "?" + str(httpx.QueryParams({"api_key": self.credentials.api_key}))

    def build_request(
        self,
        http: httpx.Client | httpx.AsyncClient | None,
        operation: Operation[Any],
        url: str,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        *,
        timeout: TimeoutTypes | Unset,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, Any] | None,
        extra_body: Mapping[str, Any] | None,
    ) -> httpx.Request | WireRequest:
        """The request of one call, built once and sent identically by every attempt: an
        httpx.Request for an httpx client, a WireRequest when ``http`` is None (a
        transport that sends it itself).

        An argument that cannot be sent (text that is not valid Unicode, a header that is
        not ASCII) raises an ArgumentError here: nothing is sent."""
        if self.credentials.renew_server_token():
            self._sign_headers()
        target: httpx.URL | str
        query: dict[str, Any] | None = None
        if extra_query or (http is not None and http.params):
            # merged by httpx (which drops a URL's own query when the client has params)
            query = {"api_key": self.credentials.api_key, **params}
            if extra_query:
                query.update(to_wire(dict(extra_query)))
            target = self.base_url + url
        elif params:
            target = _parse_url(
                self.base_url + url + self._query + "&" + str(httpx.QueryParams(params))
            )
        else:
            target = _parse_url(self.base_url + url + self._query)
        if extra_body:
            body = {**(body or {}), **to_wire(dict(extra_body))}
        content = None
        headers = self._headers
        if body is not None:
            try:
                content = _encode_json(body).encode()
            except UnicodeEncodeError as exc:
                raise ArgumentValueError(
                    f"{operation.name}: a text argument is not valid Unicode ({exc.reason} "
                    f"at position {exc.start}: a lone surrogate?); nothing was sent"
                ) from None
            except (TypeError, ValueError) as exc:
                raise ArgumentTypeError(f"{operation.name}: cannot send as JSON: {exc}") from None
            headers = self._json_headers
        if extra_headers:
            headers = headers.copy()
            try:
                headers.update(extra_headers)
            except (UnicodeEncodeError, TypeError, AttributeError) as exc:
                raise _header_error(exc, "extra_headers") from None
        if http is None:
            return self._wire_request(operation, target, query, content, headers)
        try:
            return http.build_request(
                operation.method,
                target,
                params=query,
                content=content,
                headers=headers,
                timeout=self.timeout if timeout is UNSET else _timeout(timeout),
            )
        except (UnicodeEncodeError, TypeError) as exc:
            raise _header_error(exc, "extra_query") from None

    def _wire_request(
        self,
        operation: Operation[Any],
        target: httpx.URL | str,
        query: dict[str, Any] | None,
        content: bytes | None,
        headers: httpx.Headers,
    ) -> WireRequest:
        try:
            if query is not None:
                url = httpx.URL(str(target), params=query)
            else:
                url = target if isinstance(target, httpx.URL) else _parse_url(target)
        except (UnicodeEncodeError, TypeError) as exc:
            raise _header_error(exc, "extra_query") from None
        if headers is self._headers:
            plain: Mapping[str, str] = self._wire_headers
        elif headers is self._json_headers:
            plain = self._wire_json_headers
        else:
            plain = dict(headers.items())
        return WireRequest(operation.method, url, str(url), plain, content)

    def start(
        self,
        operation: Operation[Any],
        request: httpx.Request | WireRequest,
        *,
        timeout: httpx.Timeout,
        max_retries: int | None,
        deadline: float | Unset | None,
        retry_unsafe: bool | None,
        strict_response_validation: bool | None = None,
    ) -> Call:
        """The state of a call about to make its first attempt."""
        if timeout is self.timeout:
            limit, phases = self._attempt_limit, self._attempt_phases
        else:
            limit = attempt_seconds(timeout)
            phases = phase_timeouts(timeout, limit)
        return Call(
            operation=operation,
            request=request,
            max_retries=self.max_retries if max_retries is None else _retries(max_retries),
            retry_unsafe=self.retry_unsafe if retry_unsafe is None else bool(retry_unsafe),
            timeout=timeout,
            attempt_limit=limit,
            attempt_phases=phases,
            deadline=self.deadline if deadline is UNSET else _deadline(deadline),
            started=time.monotonic(),
            complete=(
                self.strict_response_validation
                if strict_response_validation is None
                else bool(strict_response_validation)
            ),
        )

    def start_call(
        self,
        http: httpx.Client | httpx.AsyncClient | None,
        operation: Operation[Any],
        url: str,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        options: RequestOptions,
    ) -> Call:
        """Build the request of a call with its per-call options, and start the call."""
        given: Mapping[str, Any]
        if options:
            check_options(options)
            given = {**CLIENT_OPTIONS, **options}
        else:
            given = CLIENT_OPTIONS
        timeout = self.timeout if given["timeout"] is UNSET else _timeout(given["timeout"])
        request = self.build_request(
            http,
            operation,
            url,
            params,
            body,
            timeout=timeout,
            extra_headers=given["extra_headers"],
            extra_query=given["extra_query"],
            extra_body=given["extra_body"],
        )
        return self.start(
            operation,
            request,
            timeout=timeout,
            max_retries=given["max_retries"],
            deadline=given["deadline"],
            retry_unsafe=given["retry_unsafe"],
            strict_response_validation=given["strict_response_validation"],
        )

    def attempts(
        self, call: Call, *, asynchronous: bool, coordinated: bool = False
    ) -> Generator[Wait | Attempt, Attempted | None, StreamResponse[Any]]:
        """The attempts of one call, as steps for a client to carry out (the way httpx
        drives an ``Auth.auth_flow``): a ``Wait``, then an ``Attempt`` to which the client
        sends what it got, and so on until it returns the response or raises the typed
        error. Every decision is taken here; the sync and async clients only do the I/O.
        A client with a rate-limit coordinator (``coordinated``) gets a ``Wait`` before
        every attempt; one without gets only those that sleep."""
        wait = _BEFORE_FIRST
        try:
            while True:
                if coordinated or wait.seconds is not None:
                    yield wait
                seconds = self.begin_attempt(call, asynchronous=asynchronous)
                attempted = yield Attempt(seconds)
                assert attempted is not None
                outcome = self.after_attempt(call, *attempted)
                if not isinstance(outcome, Retry):
                    return outcome
                wait = Wait(outcome.delay)
        except StreamError as error:
            if call.attempts > 1:
                self._log_failed(call, error)
            raise

    def begin_attempt(self, call: Call, *, asynchronous: bool) -> float | None:
        """Seconds the next attempt may take (None: unbounded); sets its phase timeouts
        and progress report. Raises APITimeoutError when the deadline has passed."""
        now = time.monotonic()
        limit, binding = call.attempt_limit, "timeout"
        ends = call.ends
        if ends is not None:
            left = ends - now
            if left <= 0:
                raise self._timeout_error(call, "deadline", call.deadline, sent=False)
            if limit is None or left < limit:
                limit, binding = left, "deadline"
        call.attempts += 1
        call.attempt_started = now
        call.attempt_binding = binding
        call.attempt_ends = None if limit is None else now + limit
        call.progress = Progress()
        call.request.extensions["timeout"] = (
            call.attempt_phases if binding == "timeout" else phase_timeouts(call.timeout, limit)
        )
        call.request.extensions["trace"] = _atrace if asynchronous else _trace
        return limit

    def deadline_error(self, call: Call) -> APIConnectionError:
        """The call's deadline expired before its next attempt could start."""
        return self._timeout_error(call, "deadline", call.deadline, sent=False)

    def body_for(self, call: Call, response: ResponseHead) -> BoundedBody:
        """Where an attempt's body is read into: a 2xx whole up to the size limit (else
        BodyTooLarge), an error body only up to ERROR_BODY_BYTES."""
        success = 200 <= response.status_code < 300
        return BoundedBody(
            self.max_response_bytes if success else ERROR_BODY_BYTES,
            content_encoding=response.headers.get("content-encoding"),
            content_length=response.headers.get("content-length"),
            truncate=not success,
        )

    def after_attempt(
        self,
        call: Call,
        response: ResponseHead | None,
        content: bytes | None,
        failure: BaseException | None,
    ) -> StreamResponse[Any] | Retry:
        """The response of a successful attempt, a Retry, or the typed error raised."""
        if failure is None:
            assert response is not None and content is not None
            return self.on_response(call, response, content)
        if isinstance(failure, TimeoutError):  # the attempt's cancel scope expired
            return self._on_attempt_timeout(call)
        if isinstance(failure, (BodyTooLarge, UnsupportedEncoding, zlib.error)):
            assert response is not None
            raise self._body_error(call, response, failure)
        assert isinstance(failure, httpx.RequestError), failure
        return self.on_exception(call, failure)

    # -- outcomes -------------------------------------------------------------------------

    def on_response(
        self, call: Call, response: ResponseHead, content: bytes
    ) -> StreamResponse[Any] | Retry:
        now = time.monotonic()
        elapsed = now - call.started
        status = response.status_code
        self._log_attempt(call, status, now - call.attempt_started, response)
        if 200 <= status < 300:
            return self._parse_success(call, response, content, elapsed)
        error = self._status_error(call, response, content)
        refused = status in REFUSED_STATUSES
        delay = self.retry_policy.delay(
            call.attempts - 1,
            call.max_retries,
            status=status,
            headers=response.headers,
            unrecoverable=error.unrecoverable,
        )
        if delay is None or not (refused or call.resendable):
            raise error
        self._check_wait(call, delay, error)
        self._log_retry(call, f"status {status}", delay)
        return Retry(delay=delay, error=error)

    def on_exception(self, call: Call, exc: httpx.RequestError) -> Retry:
        """A Retry after a transport failure, or the typed error raised."""
        self._log_attempt(call, type(exc).__name__, None)
        sent = not self._not_processed(call, exc)
        if isinstance(exc, httpx.TimeoutException):
            limit, seconds = self._expired(call, exc)
            error: APIConnectionError = self._timeout_error(call, limit, seconds, sent=sent)
        else:
            error = self._connection_error(call, exc, sent=sent)
        retryable = not isinstance(exc, _NOT_RETRYABLE)
        if sent and not call.resendable:
            retryable = False
        delay = self.retry_policy.delay(call.attempts - 1, call.max_retries) if retryable else None
        if delay is None:
            raise error from self._safe_cause(exc)
        self._check_wait(call, delay, error, cause=exc)
        self._log_retry(call, type(exc).__name__, delay)
        return Retry(delay=delay, error=error)

    def _on_attempt_timeout(self, call: Call) -> Retry:
        self._log_attempt(call, "timeout", None)
        sent = call.progress.sent or not call.progress.reported
        seconds = call.attempt_limit if call.attempt_binding == "timeout" else call.deadline
        error = self._timeout_error(call, call.attempt_binding, seconds, sent=sent)
        retryable = call.attempt_binding == "timeout" and (call.resendable or not sent)
        delay = self.retry_policy.delay(call.attempts - 1, call.max_retries) if retryable else None
        if delay is None:
            raise error
        self._check_wait(call, delay, error)
        self._log_retry(call, "timeout", delay)
        return Retry(delay=delay, error=error)

    def _not_processed(self, call: Call, exc: httpx.RequestError) -> bool:
        """Whether the failure provably left the request unprocessed."""
        if isinstance(exc, _NOT_WHOLE):
            return True
        if call.progress.reported:
            return not call.progress.sent
        return isinstance(exc, _NOT_SENT)

    def _check_wait(
        self, call: Call, delay: float, error: Exception, cause: BaseException | None = None
    ) -> None:
        """A wait that would end past the deadline is not started: the error is raised."""
        ends = call.ends
        if ends is not None and time.monotonic() + delay >= ends:
            logger.info(
                "not retrying %s: the wait of %.2f s would end past the deadline of %s",
                call.operation.name,
                delay,
                _seconds(call.deadline or 0),
            )
            if cause is not None:
                raise error from self._safe_cause(cause)
            raise error

    def _expired(self, call: Call, exc: httpx.TimeoutException) -> tuple[str, float | None]:
        """Which limit an httpx timeout was: the attempt's bound, or one phase's."""
        if call.attempt_ends is not None and time.monotonic() >= call.attempt_ends - 0.005:
            binding = call.attempt_binding
            return binding, call.attempt_limit if binding == "timeout" else call.deadline
        phase = {
            httpx.ConnectTimeout: "connect",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }.get(type(exc), "read")
        return phase, getattr(call.timeout, phase)

    # -- errors ---------------------------------------------------------------------------

    def _where(self, call: Call) -> dict[str, Any]:
        url = call.request.url
        return {
            "method": call.request.method,
            "path": url.path,
            "host": url.netloc.decode("ascii", "replace"),
            "operation": call.operation.name,
            "attempts": call.attempts,
        }

    def _timeout_error(
        self, call: Call, limit: str, seconds: float | None, *, sent: bool
    ) -> APIConnectionError:
        what = {
            "timeout": "the timeout of {} per attempt",
            "deadline": "the deadline of {} for the call",
        }.get(limit, limit + " timeout of {}")
        expired = what.format(_seconds(seconds) if seconds is not None else "(none)")
        if sent and not call.resendable:
            return ResponseLostError(
                f"{call.operation.name} may have been processed: {expired} expired after the "
                f"request was sent, and {call.operation.name} is not sent again after that "
                "(retry_unsafe=True would)",
                timeout=seconds,
                **self._where(call),
            )
        return APITimeoutError(
            f"timed out: {expired} expired",
            timeout=seconds,
            limit=limit,
            may_have_been_processed=sent,
            **self._where(call),
        )

    def _connection_error(
        self, call: Call, exc: httpx.RequestError, *, sent: bool
    ) -> APIConnectionError:
        reason = self.credentials.redact(str(exc)) or type(exc).__name__
        if sent and not call.resendable:
            return ResponseLostError(
                f"{call.operation.name} may have been processed: the connection failed "
                f"after the request was sent ({type(exc).__name__}: {reason}), and "
                f"{call.operation.name} is not sent again after that (retry_unsafe=True would)",
                **self._where(call),
            )
        return APIConnectionError(
            f"connection error: {reason}", may_have_been_processed=sent, **self._where(call)
        )

    def _body_error(
        self, call: Call, response: ResponseHead, failure: BaseException
    ) -> APIResponseValidationError:
        where = self._where(call)
        if isinstance(failure, BodyTooLarge):
            return ResponseTooLargeError(
                f"the response body is larger than max_response_bytes ({failure.limit} "
                f"bytes{', decoded' if response.headers.get('content-encoding') else ''}); "
                f"read stopped at the limit",
                limit=failure.limit,
                status_code=response.status_code,
                body="",
                **where,
            )
        reason = (
            str(failure)
            if isinstance(failure, UnsupportedEncoding)
            else f"the body does not decode as {response.headers.get('content-encoding')}"
        )
        return APIResponseValidationError(
            f"unexpected response: {reason}", status_code=response.status_code, body="", **where
        )

    def _parse_success(
        self, call: Call, response: ResponseHead, content: bytes, elapsed: float
    ) -> StreamResponse[Any]:
        operation = call.operation
        try:
            payload = loads_json(content)
            if operation.response_type is None:
                if not isinstance(payload, dict):
                    raise ParseError(operation.name, "expected a JSON object")
                data: Any = payload
            else:
                data = operation.response_type.from_dict(payload, False, call.complete)
        # JSONDecodeError and ParseError are ValueErrors; json.loads raises RecursionError
        # for JSON nested deeper than the interpreter's recursion limit
        except (ValueError, TypeError, RecursionError) as exc:
            if isinstance(exc, RecursionError):
                reason = "the body is JSON nested too deeply to read"
            elif isinstance(exc, ParseError):
                reason = str(exc)
            else:
                reason = f"the body is not JSON ({exc})"
            error = APIResponseValidationError(
                f"unexpected response: {self.credentials.redact(reason)}",
                status_code=response.status_code,
                body=self._excerpt(content),
                **self._where(call),
            )
            cause = self._safe_cause(exc)
        else:
            return StreamResponse(
                data=data,
                status_code=response.status_code,
                headers=response.headers,
                rate_limit=rate_limit_info(response.headers),
                duration=elapsed,
            )
        raise error from cause

    def _status_error(self, call: Call, response: ResponseHead, content: bytes) -> APIStatusError:
        status = response.status_code
        error: dict[str, Any] | None = None
        body = self._excerpt(content)
        try:
            parsed = json.loads(content) if content else None
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            # what the API said, minus any secret it echoed back (the token, in an error
            # message from a proxy, or anywhere else in the body)
            error = self.credentials.redact_json(parsed) if self._holds_secret(content) else parsed
            body = json.dumps(error)
        message = error.get("message") if error else None
        if not isinstance(message, str) or not message:
            reason = response.reason_phrase or "error"
            message = f"{reason}: {body}" if body else reason
        cls = status_error_class(status)
        return cls(
            message,
            status_code=status,
            headers=_error_headers(response.headers),
            body=body,
            error=error,
            rate_limit=rate_limit_info(response.headers),
            retry_after=server_wait(status, response.headers),
            **self._where(call),
        )

    def _holds_secret(self, content: bytes) -> bool:
        return self.credentials.holds_secret(content.decode("utf-8", errors="replace"))

    def _excerpt(self, content: bytes) -> str:
        """The start of a body for an error, with the secret and the server token masked."""
        head = content[: BODY_EXCERPT_CHARS * 8]  # the excerpt is cut from a shorter start
        if not self._holds_secret(head):
            return body_excerpt(head)
        return body_excerpt(self.credentials.redact(head.decode("utf-8", "replace")).encode())

    def _safe_cause(self, exc: BaseException) -> BaseException:
        """What to chain to a raised error as its ``__cause__``: ``exc`` without what must
        not travel with an error. An httpx error's request is replaced by a copy with its
        Authorization header masked; a cause whose message or attributes (a JSONDecodeError
        keeps the whole body) or chained exceptions hold a secret becomes a bare copy. A
        cause is printed in formatted tracebacks and kept by error trackers."""
        if isinstance(exc, httpx.RequestError):
            masked = _masked_request(exc)
            text = self.credentials.redact(str(exc))
            try:
                copy: BaseException = type(exc)(text, request=masked)
            except TypeError:
                copy = httpx.TransportError(text, request=masked)
            return copy
        link: BaseException | None = exc
        seen: set[int] = set()
        while link is not None and id(link) not in seen:
            texts = [str(link), *(v for v in vars(link).values() if isinstance(v, str))]
            if any(self.credentials.holds_secret(text) for text in texts):
                break
            seen.add(id(link))
            link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
        else:
            return exc
        if isinstance(exc, ParseError):
            return ParseError(exc.location, self.credentials.redact(exc.reason))
        text = self.credentials.redact(str(exc))
        if isinstance(exc, json.JSONDecodeError):
            return ValueError(f"JSONDecodeError: {text}")  # without the document
        try:
            return type(exc)(text)
        except TypeError:  # an exception class that wants other arguments
            return RuntimeError(f"{type(exc).__name__}: {text}")

    def _log_attempt(
        self,
        call: Call,
        outcome: object,
        elapsed: float | None,
        response: ResponseHead | None = None,
    ) -> None:
        """The DEBUG record of one attempt: its outcome (a status, or the failure's name)
        and how long it took."""
        if not logger.isEnabledFor(logging.DEBUG):
            return
        took = time.monotonic() - call.attempt_started if elapsed is None else elapsed
        request_id = None
        if response is not None:
            request_id = response.headers.get("x-request-id") or response.headers.get("x-amz-cf-id")
        logger.debug(
            "%s %s -> %s (attempt %d, %.1f ms)",
            call.request.method,
            call.request.url.path,
            outcome,
            call.attempts,
            took * 1000,
            extra=fields(
                **self._log_fields(call),
                status=response.status_code if response is not None else None,
                outcome=None if response is not None else str(outcome),
                elapsed=round(took, 6),
                request_id=request_id,
            ),
        )

    def _log_fields(self, call: Call) -> dict[str, Any]:
        return {
            "operation": call.operation.name,
            "method": call.request.method,
            "path": call.request.url.path,
            "attempt": call.attempts,
        }

    def _log_retry(self, call: Call, reason: str, delay: float) -> None:
        logger.info(
            "retrying %s %s in %.2f s after %s (retry %d of %d)",
            call.request.method,
            call.request.url.path,
            delay,
            reason,
            call.attempts,
            call.max_retries,
            extra=fields(
                **self._log_fields(call),
                reason=reason,
                delay=round(delay, 3),
                max_retries=call.max_retries,
            ),
        )

    def _log_failed(self, call: Call, error: StreamError) -> None:
        status = getattr(error, "status_code", None)
        logger.warning(
            "%s %s failed after %d attempts: %s",
            call.request.method,
            call.request.url.path,
            call.attempts,
            type(error).__name__,
            extra=fields(
                **self._log_fields(call),
                status=status,
                error=type(error).__name__,
                elapsed=round(time.monotonic() - call.started, 6),
                request_id=getattr(error, "request_id", None),
            ),
        )


def _error_headers(headers: Mapping[str, str]) -> httpx.Headers:
    """An error's copy of the headers: an httpx.Headers whatever the transport (an
    error pickles, and aiohttp's headers proxy does not)."""
    if isinstance(headers, httpx.Headers):
        return headers
    return httpx.Headers(list(headers.items()))


MASKED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def _masked_request(exc: httpx.RequestError) -> httpx.Request | None:
    """A copy of an error's request (method, URL, headers) with the credentials masked."""
    try:
        request = exc.request
    except RuntimeError:  # an httpx error raised without a request
        return None
    headers = [(k, "***" if k.lower() in MASKED_HEADERS else v) for k, v in request.headers.items()]
    return httpx.Request(request.method, request.url, headers=headers)


def _header_error(exc: BaseException, where: str) -> Exception:
    if isinstance(exc, UnicodeEncodeError):
        return ArgumentValueError(
            f"{where}: header names and values must be ASCII (RFC 9110), got "
            f"{exc.object[exc.start : exc.end]!r}; nothing was sent"
        )
    return ArgumentTypeError(f"{where}: header names and values must be strings ({exc})")


def _timeout(value: Any) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        if value is not None and value <= 0:
            raise ArgumentValueError(f"timeout must be positive, got {value}")
        return httpx.Timeout(value)
    raise ArgumentTypeError(f"timeout must be seconds, an httpx.Timeout or None, got {value!r}")


def _deadline(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ArgumentValueError(
        f"deadline must be a positive number of seconds or None, got {value!r}"
    )


def _retries(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ArgumentValueError(f"max_retries must be an integer >= 0, got {value!r}")
