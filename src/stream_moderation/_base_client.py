"""Everything about a call that is not I/O, shared by the async and the sync client.

``ClientCore`` builds the request (URL, query, headers, JSON body, timeout) once per call,
turns a response into a StreamResponse or a typed error, and decides whether and when to
try again. The clients in ``_client`` are thin drivers around it: send, sleep, repeat.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

import attrs
import httpx

from ._auth import Credentials
from ._exceptions import (
    BODY_EXCERPT_CHARS,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
    body_excerpt,
    status_error_class,
)
from ._generated.errors import ParseError
from ._generated.types import UNSET, Operation, RateLimitInfo, StreamResponse, Unset, to_wire
from ._retry import RetryPolicy, server_wait
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ClientCore",
    "Retry",
    "TimeoutTypes",
]

T = TypeVar("T")
TimeoutTypes = float | httpx.Timeout | None

DEFAULT_BASE_URL = "https://chat.stream-io-api.com"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
# One pool per client, kept warm for concurrent use (httpx keeps only 20 idle by default).
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
USER_AGENT = f"stream-moderation-python/{__version__}"
LOOPBACK_NAMES = frozenset({"localhost"})
"""Names trusted as loopback: only ``localhost`` (RFC 6761). ``localhost.localdomain`` or
``ip6-localhost`` are loopback only where /etc/hosts says so, and go to DNS elsewhere."""

logger = logging.getLogger("stream_moderation")


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


@attrs.frozen
class Retry:
    """The outcome of a failed attempt that is worth repeating after ``delay`` seconds."""

    delay: float
    error: Exception


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    """The base URL without a trailing slash; plain http only to loopback or when allowed."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"base_url is not a valid URL ({exc}): {base_url!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ValueError(
            f"refusing to send the API key and a token signed with the secret over plain http "
            f"to {url.host}: use https, a loopback host, or allow_insecure_http=True"
        )
    return base_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback  # ::ffff:127.0.0.1
    return address.is_loopback


def rate_limit_info(headers: httpx.Headers) -> RateLimitInfo | None:
    limit = headers.get("x-ratelimit-limit")
    remaining = headers.get("x-ratelimit-remaining")
    reset = headers.get("x-ratelimit-reset")
    if limit is None and remaining is None and reset is None:
        return None
    reset_at = None
    if reset is not None:
        try:
            reset_at = datetime.fromtimestamp(float(reset), tz=UTC)
        except (ValueError, OverflowError, OSError):
            reset_at = None
    return RateLimitInfo(limit=_to_int(limit), remaining=_to_int(remaining), reset=reset_at)


def _to_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


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
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.credentials = credentials
        self.base_url = base_url
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.max_retries = max_retries
        self.retry_policy = retry_policy or RetryPolicy()
        self.headers: dict[str, str] = {
            "Authorization": credentials.server_token,
            "Stream-Auth-Type": "jwt",
            "X-Stream-Client": f"stream-moderation-python-{__version__}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        self.headers.update(default_headers or {})
        self.json_headers = {**self.headers, "Content-Type": "application/json"}
        # What every call sends, built once: httpx merges these with the http client's own
        # headers and params, but does not normalise or parse them again per call.
        self._headers = httpx.Headers(self.headers)
        self._json_headers = httpx.Headers(self.json_headers)
        self._query = "?" + str(httpx.QueryParams({"api_key": credentials.api_key}))

    def build_request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        operation: Operation[Any],
        url: str,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        *,
        timeout: TimeoutTypes | Unset,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, Any] | None,
        extra_body: Mapping[str, Any] | None,
    ) -> httpx.Request:
        """The request of one call, built once and sent identically by every attempt."""
        target: httpx.URL | str
        query: dict[str, Any] | None = None
        if extra_query or http.params:
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
        headers: httpx.Headers | dict[str, str] = self._headers
        if body is not None:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            headers = self._json_headers
        if extra_headers:
            headers = {**(self.headers if body is None else self.json_headers), **extra_headers}
        return http.build_request(
            operation.method,
            target,
            params=query,
            content=content,
            headers=headers,
            timeout=self.timeout if timeout is UNSET else timeout,  # type: ignore[arg-type]
        )

    def effective_retries(self, max_retries: int | None) -> int:
        if max_retries is None:
            return self.max_retries
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        return max_retries

    def on_response(
        self,
        operation: Operation[T],
        request: httpx.Request,
        response: httpx.Response,
        *,
        attempt: int,
        max_retries: int,
        started: float,
    ) -> StreamResponse[T] | Retry:
        """The parsed response of a successful attempt, a Retry, or the typed error raised."""
        elapsed = time.perf_counter() - started
        status = response.status_code
        self._log_attempt(request, status, attempt, elapsed)
        if 200 <= status < 300:
            return self._parse_success(operation, request, response, elapsed)
        error = self._status_error(request, response)
        delay = self.retry_policy.delay(
            attempt,
            max_retries,
            status=status,
            headers=response.headers,
            unrecoverable=error.unrecoverable,
        )
        if delay is None:
            raise error
        self._log_retry(request, f"status {status}", attempt, max_retries, delay)
        return Retry(delay=delay, error=error)

    def on_exception(
        self, request: httpx.Request, exc: httpx.RequestError, *, attempt: int, max_retries: int
    ) -> Retry:
        """A Retry after a transport failure, or the typed error raised."""
        path = request.url.path
        error: APIConnectionError
        if isinstance(exc, httpx.TimeoutException):
            error = APITimeoutError(
                f"request timed out ({type(exc).__name__})", method=request.method, path=path
            )
            retryable = True
        else:
            reason = self.credentials.redact(str(exc)) or type(exc).__name__
            error = APIConnectionError(
                f"connection error: {reason}", method=request.method, path=path
            )
            retryable = not isinstance(
                exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.TooManyRedirects)
            )
        self._log_attempt(request, type(exc).__name__, attempt, None)
        delay = self.retry_policy.delay(attempt, max_retries) if retryable else None
        if delay is None:
            raise error from self._safe_cause(exc)
        self._log_retry(request, type(exc).__name__, attempt, max_retries, delay)
        return Retry(delay=delay, error=error)

    def _parse_success(
        self,
        operation: Operation[T],
        request: httpx.Request,
        response: httpx.Response,
        elapsed: float,
    ) -> StreamResponse[T]:
        content = response.content
        try:
            payload = loads_json(content)
            if operation.response_type is None:
                if not isinstance(payload, dict):
                    raise ParseError(operation.name, "expected a JSON object")
                data: Any = payload
            else:
                data = operation.response_type.from_dict(payload)  # type: ignore[attr-defined]
        # JSONDecodeError and ParseError are ValueErrors; json.loads raises RecursionError
        # for JSON nested deeper than the interpreter's recursion limit
        except (ValueError, TypeError, RecursionError) as exc:
            if isinstance(exc, RecursionError):
                reason = "the body is JSON nested too deeply to read"
            elif isinstance(exc, ParseError):
                reason = str(exc)
            else:
                reason = f"the body is not JSON ({exc})"
            raise APIResponseValidationError(
                f"unexpected response: {self.credentials.redact(reason)}",
                method=request.method,
                path=request.url.path,
                status_code=response.status_code,
                body=self._excerpt(content),
            ) from self._safe_cause(exc)
        return StreamResponse(
            data=data,
            status_code=response.status_code,
            headers=response.headers,
            rate_limit=rate_limit_info(response.headers),
            duration=elapsed,
        )

    def _status_error(self, request: httpx.Request, response: httpx.Response) -> APIStatusError:
        status = response.status_code
        content = response.content
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
        kwargs: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "status_code": status,
            "headers": response.headers,
            "body": body,
            "error": error,
            "rate_limit": rate_limit_info(response.headers),
        }
        cls = status_error_class(status)
        if cls is RateLimitError:
            return RateLimitError(message, retry_after=server_wait(429, response.headers), **kwargs)
        return cls(message, **kwargs)

    def _holds_secret(self, content: bytes) -> bool:
        return self.credentials.holds_secret(content.decode("utf-8", errors="replace"))

    def _excerpt(self, content: bytes) -> str:
        """The start of a body for an error, with the secret and the server token masked."""
        head = content[: BODY_EXCERPT_CHARS * 8]  # the excerpt is cut from a shorter start
        if not self._holds_secret(head):
            return body_excerpt(head)
        return body_excerpt(self.credentials.redact(head.decode("utf-8", "replace")).encode())

    def _safe_cause(self, exc: BaseException) -> BaseException:
        """``exc``, or a bare copy of it without the secrets when its message or attributes
        (a JSONDecodeError keeps the whole body) or those of an exception chained to it hold
        one: a cause is printed in formatted tracebacks and kept by error trackers."""
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
        self, request: httpx.Request, outcome: object, attempt: int, elapsed: float | None
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            took = f", {elapsed * 1000:.1f} ms" if elapsed is not None else ""
            logger.debug(
                "%s %s -> %s (attempt %d%s)",
                request.method,
                request.url.path,
                outcome,
                attempt + 1,
                took,
            )

    def _log_retry(
        self, request: httpx.Request, reason: str, attempt: int, max_retries: int, delay: float
    ) -> None:
        logger.info(
            "retrying %s %s in %.2f s after %s (retry %d of %d)",
            request.method,
            request.url.path,
            delay,
            reason,
            attempt + 1,
            max_retries,
        )
