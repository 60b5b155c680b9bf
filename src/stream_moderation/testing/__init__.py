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

# The public names and the module each lives in: the one list of this package's surface.
# They are imported on first use, so that the pytest plugin (a submodule) loads without
# Starlette.
_WHERE = {
    "BODY_TIMESTAMP_NS": "_bodies",
    "BUILTIN_BLOCKLISTS": "_classifier",
    "DEFAULT_API_KEY": "_emulator",
    "DEFAULT_API_SECRET": "_emulator",
    "DEFAULT_TRIGGERS": "_classifier",
    "Classifier": "_classifier",
    "Detection": "_classifier",
    "DropConnection": "_faults",
    "Emulator": "_emulator",
    "Fault": "_faults",
    "FaultInjector": "_injector",
    "FaultRule": "_injector",
    "KeywordClassifier": "_classifier",
    "LostResponse": "_faults",
    "NotJSON": "_faults",
    "RateLimited": "_faults",
    "ServerError": "_faults",
    "Stall": "_faults",
    "StateFormatError": "_persist",
    "SyncASGITransport": "_transport",
    "TrickledBody": "_faults",
    "Trigger": "_classifier",
    "TruncatedBody": "_faults",
    "WebhookDelivery": "_webhooks",
    "WrongContentType": "_faults",
    "api_error_body": "_bodies",
    "complete_body": "_bodies",
    "model_body": "_bodies",
    "parse_rule": "_injector",
    "response_body": "_bodies",
    "sign": "_webhooks",
}
__all__ = list(_WHERE)

if TYPE_CHECKING:  # the same names for type checkers; tests/emulator/test_emulator_docs.py compares
    from ._bodies import BODY_TIMESTAMP_NS as BODY_TIMESTAMP_NS
    from ._bodies import api_error_body as api_error_body
    from ._bodies import complete_body as complete_body
    from ._bodies import model_body as model_body
    from ._bodies import response_body as response_body
    from ._classifier import BUILTIN_BLOCKLISTS as BUILTIN_BLOCKLISTS
    from ._classifier import DEFAULT_TRIGGERS as DEFAULT_TRIGGERS
    from ._classifier import Classifier as Classifier
    from ._classifier import Detection as Detection
    from ._classifier import KeywordClassifier as KeywordClassifier
    from ._classifier import Trigger as Trigger
    from ._emulator import DEFAULT_API_KEY as DEFAULT_API_KEY
    from ._emulator import DEFAULT_API_SECRET as DEFAULT_API_SECRET
    from ._emulator import Emulator as Emulator
    from ._faults import DropConnection as DropConnection
    from ._faults import Fault as Fault
    from ._faults import LostResponse as LostResponse
    from ._faults import NotJSON as NotJSON
    from ._faults import RateLimited as RateLimited
    from ._faults import ServerError as ServerError
    from ._faults import Stall as Stall
    from ._faults import TrickledBody as TrickledBody
    from ._faults import TruncatedBody as TruncatedBody
    from ._faults import WrongContentType as WrongContentType
    from ._injector import FaultInjector as FaultInjector
    from ._injector import FaultRule as FaultRule
    from ._injector import parse_rule as parse_rule
    from ._persist import StateFormatError as StateFormatError
    from ._transport import SyncASGITransport as SyncASGITransport
    from ._webhooks import WebhookDelivery as WebhookDelivery
    from ._webhooks import sign as sign


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return list(__all__)
