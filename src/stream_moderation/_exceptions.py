"""The SDK's errors: one hierarchy, mapped from the HTTP status and the API's error body.

Everything the SDK raises because of its arguments, the response, the network or the
server is a StreamError::

    StreamError
    ├── ArgumentError ················ an argument cannot be sent; nothing was sent
    │   ├── ArgumentTypeError ······· (also TypeError) a value of the wrong type
    │   │   └── UnknownFieldError ··· (also ParseError) a key the spec does not have
    │   └── ArgumentValueError ······ (also ValueError) a value that cannot be sent
    │       └── InsecureTransportError  plain http (or a plain-http proxy) off loopback
    ├── ParseError ··················· (also ValueError) a value that does not fit its model
    ├── APIError ····················· a request to the API failed: operation, host, attempts
    │   ├── APIConnectionError ······· no (whole) response
    │   │   ├── APITimeoutError ······ an attempt's timeout or the call's deadline expired
    │   │   └── ResponseLostError ···· may have been processed, so not sent again
    │   ├── APIResponseValidationError a 2xx body that is not JSON or not its model
    │   │   └── ResponseTooLargeError  a body over the client's size limit
    │   └── APIStatusError ··········· an error status, with the API's error body
    │       ├── BadRequestError ······ 400
    │       ├── AuthenticationError ·· 401
    │       ├── PermissionDeniedError  403
    │       ├── NotFoundError ········ 404
    │       ├── RateLimitError ······· 429
    │       └── InternalServerError ·· 5xx
    ├── ForkError ···················· a given pool used in a forked child
    └── WebhookError ················· (stream_moderation.webhooks) a webhook call

Errors about a response carry what the API said (``code``, ``message``, ``more_info``,
``details``, ``exception_fields``, ``unrecoverable``) and what came with it (status,
headers, rate-limit info, request id, ``retry_after``). Every one pickles and unpickles
with its fields (see ``StreamError``), and none holds the API secret or a token: a request
chained to one (``__cause__``) has its ``Authorization`` header masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ._errors import (
    ArgumentError,
    ArgumentTypeError,
    ArgumentValueError,
    ParseError,
    StreamError,
    UnknownFieldError,
)
from ._types import RateLimitInfo

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "ArgumentError",
    "ArgumentTypeError",
    "ArgumentValueError",
    "AuthenticationError",
    "BadRequestError",
    "InsecureTransportError",
    "InternalServerError",
    "NotFoundError",
    "ParseError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseLostError",
    "ResponseTooLargeError",
    "StreamError",
    "UnknownFieldError",
]

BODY_EXCERPT_CHARS = 300


class InsecureTransportError(ArgumentValueError):
    """Credentials would travel in clear text off this host: a plain ``http://`` base URL,
    or a plain-http proxy, that is not loopback (pass ``allow_insecure_http=True`` to
    allow it)."""


class APIError(StreamError):
    """A request to the API failed. ``operation``, ``method``, ``host`` and ``path`` say
    which, ``attempts`` how many were sent (or started)."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        host: str = "",
        operation: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.host = host
        self.operation = operation
        self.attempts = attempts

    def _where(self) -> str:
        name = f"{self.operation}: " if self.operation else ""
        tries = f"; {self.attempts} attempt{'' if self.attempts == 1 else 's'}"
        return f"[{name}{self.method} {self.host}{self.path}{tries}]"

    def __str__(self) -> str:
        return f"{self.message} {self._where()}"


class APIConnectionError(APIError):
    """The API could not be reached, or the connection broke before a whole response came.

    ``may_have_been_processed`` is True when the request had been sent (in part or whole)
    when it failed: the API may have acted on it.
    """

    def __init__(
        self,
        message: str = "connection error",
        *,
        may_have_been_processed: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.may_have_been_processed = may_have_been_processed


class APITimeoutError(APIConnectionError):
    """An attempt ran past its ``timeout``, or the call past its ``deadline``; ``timeout``
    is the number of seconds that expired and ``limit`` which one it was (``"timeout"``,
    ``"deadline"``, or the httpx phase: ``"connect"``, ``"read"``, ...)."""

    def __init__(
        self,
        message: str = "request timed out",
        *,
        timeout: float | None = None,
        limit: str = "timeout",
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.timeout = timeout
        self.limit = limit


class ResponseLostError(APIConnectionError):
    """The request was sent, then its response was lost (the connection broke, or an
    attempt's timeout or the call's deadline expired while waiting): the API **may have
    processed it**. The operation is not one that may be sent again after that (see the
    README's retry classification), so it was not: look before you act again (e.g. query
    the review queue), or pass ``retry_unsafe=True`` to have such calls resent.

    ``may_have_been_processed`` is always True; ``timeout`` is the seconds that expired
    when a limit did, else None.
    """

    def __init__(
        self,
        message: str = "the response was lost",
        *,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs["may_have_been_processed"] = True
        super().__init__(message, **kwargs)
        self.timeout = timeout


class APIResponseValidationError(APIError):
    """A successful response that is not JSON or does not fit the response model."""

    def __init__(self, message: str, *, status_code: int, body: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code
        self.body = body


class ResponseTooLargeError(APIResponseValidationError):
    """The response body is larger than the client's ``max_response_bytes`` (decoded, for
    a compressed body); reading stopped at the limit. ``limit`` is that number of bytes."""

    def __init__(self, message: str, *, limit: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit


class APIStatusError(APIError):
    """The API answered with an error status; the attributes hold its error body."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        headers: httpx.Headers,
        body: str,
        error: Mapping[str, Any] | None,
        rate_limit: RateLimitInfo | None,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        error = error or {}
        self.status_code = status_code
        self.headers = headers
        self.body = body
        """The response body (an excerpt when it was not a JSON error body)."""
        self.code: int | None = _int_or_none(error.get("code"))
        """Stream's error code (4 input error, 5 authentication, 9 rate limit, ...)."""
        self.more_info: str | None = _str_or_none(error.get("more_info"))
        details = error.get("details")
        self.details: list[Any] = list(details) if isinstance(details, list) else []
        fields = error.get("exception_fields")
        self.exception_fields: dict[str, str] = (
            {str(k): str(v) for k, v in fields.items()} if isinstance(fields, Mapping) else {}
        )
        self.unrecoverable: bool = error.get("unrecoverable") is True
        """True when the API says retrying this request is pointless."""
        self.duration: str | None = _str_or_none(error.get("duration"))
        self.rate_limit = rate_limit
        self.retry_after = retry_after
        """Seconds the API asked to wait (Retry-After, or X-RateLimit-Reset on a 429)."""
        self.request_id: str | None = headers.get("x-request-id") or headers.get("x-amz-cf-id")

    def __str__(self) -> str:
        code = f" (code {self.code})" if self.code is not None else ""
        fields = (
            " " + ", ".join(f"{k}: {v}" for k, v in sorted(self.exception_fields.items()))
            if self.exception_fields
            else ""
        )
        wait = f"; retry_after={self.retry_after:g} s" if self.retry_after is not None else ""
        return f"{self.status_code}{code}: {self.message}{fields}{wait} {self._where()}"


class BadRequestError(APIStatusError):
    """400: the request is invalid (Stream code 4 and others)."""


class AuthenticationError(APIStatusError):
    """401: wrong API key, or a token that does not verify with the secret."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed (or the app is suspended)."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` says how long the API asked to wait."""


class InternalServerError(APIStatusError):
    """5xx: the API (or a proxy in front of it) failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    if status_code >= 500:
        return InternalServerError
    return _BY_STATUS.get(status_code, APIStatusError)


def body_excerpt(content: bytes) -> str:
    """A printable start of a response body, for errors about bodies that are not JSON."""
    text = content[: BODY_EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text if len(text) <= BODY_EXCERPT_CHARS else text[:BODY_EXCERPT_CHARS] + "..."


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
