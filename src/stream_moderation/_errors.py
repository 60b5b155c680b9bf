"""The root of the SDK's errors and the errors the generated code raises.

``StreamError`` is defined here, with no dependency, so that the errors raised by the
generated models and endpoint modules (a value that does not fit its schema, an argument
of the wrong type) are StreamErrors too; ``_exceptions`` builds the rest of the tree on
it. Every StreamError pickles with its fields (see ``StreamError``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "ArgumentValueError",
    "ParseError",
    "StreamError",
    "UnknownFieldError",
]


def _rebuild(cls: type[StreamError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    BaseException.__init__(error, *args)
    error.__dict__.update(state)
    return error


class StreamError(Exception):
    """Base of every error raised by stream-moderation.

    Pickles and unpickles with its attributes (a worker's error reaches the process that
    waits for it), whatever its ``__init__`` takes; the chained ``__cause__`` is left
    behind, as for every exception.
    """

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ParseError(StreamError, ValueError):
    """A value does not fit the model it is read into: a response's JSON, or a dict given
    as an argument (an unknown key, a value of the wrong type).

    ``location`` names the model (or the argument) and the path of the field inside it,
    e.g. ``CheckResponse.item.flags[].created_at`` or ``moderation_payload``; ``reason``
    says what was expected and what was found.
    """

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason

    def within(self, model: str, field: str) -> ParseError:
        """The same error seen from the model that holds the failing one in ``field``."""
        inner = self.location.split(".", 1)
        rest = f".{inner[1]}" if len(inner) == 2 else ""
        return type(self)(f"{model}.{field}{rest}", self.reason)

    def rooted(self, root: str) -> ParseError:
        """The same error with its first name (the model's) replaced by ``root`` (the
        argument the model was given as)."""
        inner = self.location.split(".", 1)
        rest = f".{inner[1]}" if len(inner) == 2 else ""
        return type(self)(f"{root}{rest}", self.reason)

    @classmethod
    def from_exception(cls, model: str, field: str, exc: BaseException) -> ParseError:
        bare = field.removesuffix("[]").removesuffix("{}")  # lists and maps say so in paths
        if isinstance(exc, KeyError) and exc.args == (bare,):
            return cls(f"{model}.{bare}", "required field is missing")
        return cls(f"{model}.{field}" if field else model, str(exc) or type(exc).__name__)


class ArgumentError(StreamError):
    """An argument of a call (or of a model's constructor) cannot be sent; nothing was."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the wrong type (a list where a model or dict belongs, ...)."""


class ArgumentValueError(ArgumentError, ValueError):
    """An argument whose value cannot be sent (text that is not valid Unicode, a header
    that is not ASCII, a naive datetime, a value the spec does not allow, ...)."""


class UnknownFieldError(ParseError, ArgumentTypeError):
    """A dict given as an argument (or a model's constructor) has a key its model does not:
    ``moderation_payload: unknown field 'text' (did you mean 'texts'?)``. Nothing was sent.

    ``field`` is the key, ``suggestion`` the closest valid one (or None). To send a field
    the pinned spec does not have yet, use ``extra_body`` (or ``additional_properties``).
    """

    def __init__(self, location: str, field: str, suggestion: str | None) -> None:
        hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
        super().__init__(location, f"unknown field {field!r}{hint}")
        self.field = field
        self.suggestion = suggestion

    def within(self, model: str, field: str) -> ParseError:
        inner = self.location.split(".", 1)
        rest = f".{inner[1]}" if len(inner) == 2 else ""
        return UnknownFieldError(f"{model}.{field}{rest}", self.field, self.suggestion)

    def rooted(self, root: str) -> ParseError:
        inner = self.location.split(".", 1)
        rest = f".{inner[1]}" if len(inner) == 2 else ""
        return UnknownFieldError(f"{root}{rest}", self.field, self.suggestion)
