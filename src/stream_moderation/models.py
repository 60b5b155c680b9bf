"""The API's models and enums under their schema names, each imported on first use.

``from stream_moderation.models import ModerationPayload, CheckResponse`` imports those two
(and the models they refer to), not all of them. Also here: the Timestamp type every
date-time field holds, UnknownValue (an enum value the SDK does not list) and ParseError
(JSON that does not fit a model).

An optional field reads None whether it was absent or null; ``model.fields_set`` tells
which fields were there. Enum fields are typed with the values the spec (or Stream's docs)
list, as a ``Literal``, or ``UnknownValue`` for a value added since.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import ParseError
from ._generated import models as _models
from ._types import Timestamp, UnknownValue

if TYPE_CHECKING:
    from ._generated.models import *  # noqa: F403 - type checkers see every model

__all__ = ["ParseError", "Timestamp", "UnknownValue", *_models.__all__]


def __getattr__(name: str) -> Any:
    return getattr(_models, name)


def __dir__() -> list[str]:
    return list(__all__)
