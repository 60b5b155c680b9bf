"""The API's models and enums under their schema names, each imported on first use.

``from stream_moderation.models import ModerationPayload, CheckResponse`` imports those two
(and the models they refer to), not all of them. Also here: the Timestamp type every
date-time field holds, the OpenStrEnum base of the enums, UNSET (a field that was not
sent) and ParseError (JSON that does not fit a model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._generated import models as _models
from ._generated.errors import ParseError
from ._generated.types import UNSET, OpenStrEnum, Timestamp, Unset

if TYPE_CHECKING:
    from ._generated.models import *  # noqa: F403 - type checkers see every model

__all__ = ["UNSET", "OpenStrEnum", "ParseError", "Timestamp", "Unset", *_models.__all__]


def __getattr__(name: str) -> Any:
    return getattr(_models, name)


def __dir__() -> list[str]:
    return list(__all__)
