"""stream-moderation: an async-first SDK for Stream's Moderation API.

``AsyncStream`` and ``Stream`` are the clients; every call returns a ``StreamResponse``
whose ``data`` is the parsed model; failures raise a ``StreamError`` subclass. The models
are in ``stream_moderation.models``.
"""

import importlib as _importlib
import typing as _typing

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
from ._types import UNSET, RateLimitInfo, StreamResponse, Timestamp, Unset
from ._version import __version__

if _typing.TYPE_CHECKING:
    from ._bulk import CheckItem, CheckResult
    from ._rate_limits import CoordinatorError, LocalRateLimits, RateLimitCoordinator
    from ._redis_limits import RedisRateLimits
    from .webhooks import InvalidEventError, InvalidSignatureError, WebhookError

# What a plain check does not need loads on first use (import time: see docs/performance.md)
_LAZY = {
    "CheckItem": "._bulk",
    "CheckResult": "._bulk",
    "CoordinatorError": "._rate_limits",
    "LocalRateLimits": "._rate_limits",
    "RateLimitCoordinator": "._rate_limits",
    "RedisRateLimits": "._redis_limits",
    "InvalidEventError": ".webhooks",
    "InvalidSignatureError": ".webhooks",
    "WebhookError": ".webhooks",
}

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


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
