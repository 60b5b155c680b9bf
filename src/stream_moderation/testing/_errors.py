"""The API's error body, and the exception the emulator's handlers raise to answer with it.

Stream answers every failure with one JSON shape (``APIError`` in the spec): ``code`` (a
Stream error code), ``message``, ``StatusCode`` (the HTTP status), ``duration``,
``more_info``, ``details``, and optionally ``exception_fields`` (field -> problem) and
``unrecoverable``. The codes used here are the documented ones: 4 input error, 2 bad API
key, 5 authentication error, 40-43 token problems, 17 not allowed, 16 does not exist,
22 payload too big, 9 rate limited, -1 internal error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MORE_INFO",
    "EmulatorError",
    "error_body",
    "input_error",
    "not_allowed",
    "not_found",
]

MORE_INFO = "https://getstream.io/chat/docs/api_errors_response"


class EmulatorError(Exception):
    """An API error answer: raised anywhere while handling a request, rendered as the body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        fields: Mapping[str, str] | None = None,
        unrecoverable: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = dict(fields or {})
        # Retrying the same request cannot help for a client mistake; it can for 429/5xx.
        self.unrecoverable = (
            unrecoverable if unrecoverable is not None else status < 500 and status != 429
        )
        self.headers = dict(headers or {})


def input_error(message: str, fields: Mapping[str, str] | None = None) -> EmulatorError:
    """400, code 4: the request does not fit the spec or the emulator's rules."""
    return EmulatorError(400, 4, message, fields=fields)


def not_found(what: str, fields: Mapping[str, str] | None = None) -> EmulatorError:
    """404, code 16 (Does Not Exist)."""
    return EmulatorError(404, 16, f"{what} does not exist", fields=fields)


def not_allowed(message: str) -> EmulatorError:
    """403, code 17 (Not Allowed)."""
    return EmulatorError(403, 17, message)


def error_body(error: EmulatorError, duration: str, operation_title: str | None) -> dict[str, Any]:
    """The JSON body of an error answer, shaped like the spec's APIError."""
    message = error.message
    if operation_title is not None:
        message = f'{operation_title} failed with error: "{message}"'
    body: dict[str, Any] = {
        "code": error.code,
        "message": message,
        "StatusCode": error.status,
        "duration": duration,
        "more_info": MORE_INFO,
        "details": [],
        "unrecoverable": error.unrecoverable,
    }
    if error.fields:
        body["exception_fields"] = dict(error.fields)
    return body
