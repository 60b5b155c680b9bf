"""The SDK's errors: one hierarchy, mapped from the HTTP status and the API's error body.

Every error the SDK raises is a StreamError. Errors about a response carry what the API
said (``code``, ``message``, ``more_info``, ``details``, ``exception_fields``,
``unrecoverable``) and what came with it (status, headers, rate-limit info, request id).
Nothing here ever holds the API secret or a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ._generated.types import RateLimitInfo

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamError",
]

BODY_EXCERPT_CHARS = 300


class StreamError(Exception):
    """Base of every error raised by stream-moderation."""


class APIError(StreamError):
    """A request to the API failed; ``method`` and ``path`` say which."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return f"{self.message} [{self.method} {self.path}]"


class APIConnectionError(APIError):
    """The API could not be reached, or the connection broke before a response arrived."""

    def __init__(self, message: str = "connection error", *, method: str, path: str) -> None:
        super().__init__(message, method=method, path=path)


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, write, read or pool timeout)."""

    def __init__(self, message: str = "request timed out", *, method: str, path: str) -> None:
        super().__init__(message, method=method, path=path)


class APIResponseValidationError(APIError):
    """A successful response that is not JSON or does not fit the response model."""

    def __init__(
        self, message: str, *, method: str, path: str, status_code: int, body: str
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status_code = status_code
        self.body = body


class APIStatusError(APIError):
    """The API answered with an error status; the attributes hold its error body."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status_code: int,
        headers: httpx.Headers,
        body: str,
        error: Mapping[str, Any] | None,
        rate_limit: RateLimitInfo | None,
    ) -> None:
        super().__init__(message, method=method, path=path)
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
        self.request_id: str | None = headers.get("x-request-id") or headers.get("x-amz-cf-id")

    def __str__(self) -> str:
        code = f" (code {self.code})" if self.code is not None else ""
        fields = (
            " " + ", ".join(f"{k}: {v}" for k, v in sorted(self.exception_fields.items()))
            if self.exception_fields
            else ""
        )
        return f"{self.status_code}{code}: {self.message}{fields} [{self.method} {self.path}]"


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

    def __init__(self, message: str, *, retry_after: float | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        """Seconds to wait, from Retry-After or X-RateLimit-Reset; None if neither was sent."""


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
