"""stream-moderation: an async-first SDK for Stream's Moderation API.

``AsyncStream`` and ``Stream`` are the clients; every call returns a ``StreamResponse``
whose ``data`` is the parsed model; failures raise a ``StreamError`` subclass. The models
are in ``stream_moderation.models``.
"""

from ._base_client import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._bulk import CheckItem, CheckResult
from ._client import AsyncStream, Stream
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
)
from ._generated import SPEC_VERSION
from ._generated.errors import ParseError
from ._generated.types import UNSET, RateLimitInfo, StreamResponse, Timestamp, Unset
from ._version import __version__
from .webhooks import InvalidEventError, InvalidSignatureError, WebhookError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "SPEC_VERSION",
    "UNSET",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "CheckItem",
    "CheckResult",
    "InternalServerError",
    "InvalidEventError",
    "InvalidSignatureError",
    "NotFoundError",
    "ParseError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitInfo",
    "Stream",
    "StreamError",
    "StreamResponse",
    "Timestamp",
    "Unset",
    "WebhookError",
    "__version__",
]
