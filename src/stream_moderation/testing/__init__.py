"""A local emulator of Stream's Moderation API, for tests and demos without a Stream account.

In process::

    from stream_moderation.testing import Emulator

    emulator = Emulator()
    async with emulator.client() as client:      # an AsyncStream
        await client.moderation.check(...)

On a port: ``python -m stream_moderation.testing --port 8080`` (or the
``stream-moderation-emulator`` command). In pytest: the ``emulator`` and
``moderation_client`` fixtures. Needs the ``testing`` extra (Starlette, uvicorn).

Faults (server errors, 429s, dropped connections, stalls, bad bodies)::

    faults = FaultInjector()
    emulator.add_middleware(faults)
    faults.inject(ServerError(503), times=2, operations=["check"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._classifier import (
        BUILTIN_BLOCKLISTS,
        DEFAULT_TRIGGERS,
        Classifier,
        Detection,
        KeywordClassifier,
        Trigger,
    )
    from ._emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, Emulator
    from ._faults import (
        DropConnection,
        Fault,
        LostResponse,
        NotJSON,
        RateLimited,
        ServerError,
        Stall,
        TrickledBody,
        TruncatedBody,
        WrongContentType,
    )
    from ._injector import FaultInjector, FaultRule, parse_rule
    from ._transport import SyncASGITransport
    from ._webhooks import WebhookDelivery, sign

__all__ = [
    "BUILTIN_BLOCKLISTS",
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEFAULT_TRIGGERS",
    "Classifier",
    "Detection",
    "DropConnection",
    "Emulator",
    "Fault",
    "FaultInjector",
    "FaultRule",
    "KeywordClassifier",
    "LostResponse",
    "NotJSON",
    "RateLimited",
    "ServerError",
    "Stall",
    "SyncASGITransport",
    "TrickledBody",
    "Trigger",
    "TruncatedBody",
    "WebhookDelivery",
    "WrongContentType",
    "parse_rule",
    "sign",
]

# Imported on first use, so that the pytest plugin (a submodule) loads without Starlette.
_WHERE = {
    "BUILTIN_BLOCKLISTS": "_classifier",
    "DEFAULT_TRIGGERS": "_classifier",
    "Classifier": "_classifier",
    "Detection": "_classifier",
    "KeywordClassifier": "_classifier",
    "Trigger": "_classifier",
    "DEFAULT_API_KEY": "_emulator",
    "DEFAULT_API_SECRET": "_emulator",
    "Emulator": "_emulator",
    "SyncASGITransport": "_transport",
    "DropConnection": "_faults",
    "Fault": "_faults",
    "LostResponse": "_faults",
    "NotJSON": "_faults",
    "RateLimited": "_faults",
    "ServerError": "_faults",
    "Stall": "_faults",
    "TrickledBody": "_faults",
    "TruncatedBody": "_faults",
    "WrongContentType": "_faults",
    "FaultInjector": "_injector",
    "FaultRule": "_injector",
    "parse_rule": "_injector",
    "WebhookDelivery": "_webhooks",
    "sign": "_webhooks",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return list(__all__)
