"""stream-moderation: an async-first SDK for Stream's Moderation API.

``AsyncStream`` and ``Stream`` are the clients; every call returns a ``StreamResponse``
whose ``data`` is the parsed model; failures raise a ``StreamError`` subclass. The models
are in ``stream_moderation.models``.
"""

from ._bulk import CheckItem, CheckResult
from ._client import AsyncStream, ForkError, Stream
from ._core import (
    DEFAULT_BASE_URL,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ArgumentError,
    ArgumentTypeError,
    ArgumentValueError,
    AuthenticationError,
    BadRequestError,
    InsecureTransportError,
    InternalServerError,
    NotFoundError,
    ParseError,
    PermissionDeniedError,
    RateLimitError,
    ResponseLostError,
    ResponseTooLargeError,
    StreamError,
    UnknownFieldError,
)
from ._generated import SPEC_VERSION
from ._rate_limits import CoordinatorError, LocalRateLimits, RateLimitCoordinator
from ._redis_limits import RedisRateLimits
from ._types import UNSET, RateLimitInfo, StreamResponse, Timestamp, Unset
from ._version import __version__
from .webhooks import InvalidEventError, InvalidSignatureError, WebhookError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "SPEC_VERSION",
    "UNSET",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "ArgumentError",
    "ArgumentTypeError",
    "ArgumentValueError",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "CheckItem",
    "CheckResult",
    "CoordinatorError",
    "ForkError",
    "InsecureTransportError",
    "InternalServerError",
    "InvalidEventError",
    "InvalidSignatureError",
    "LocalRateLimits",
    "NotFoundError",
    "ParseError",
    "PermissionDeniedError",
    "RateLimitCoordinator",
    "RateLimitError",
    "RateLimitInfo",
    "RedisRateLimits",
    "ResponseLostError",
    "ResponseTooLargeError",
    "Stream",
    "StreamError",
    "StreamResponse",
    "Timestamp",
    "UnknownFieldError",
    "Unset",
    "WebhookError",
    "__version__",
]
