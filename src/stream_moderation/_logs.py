"""The SDK's logging: what goes to the logger ``stream_moderation``, with secrets masked.

Records (all on ``stream_moderation``; the emulator logs to ``stream_moderation.testing``):

- DEBUG, one per attempt: ``GET /api/v2/... -> 200 (attempt 1, 12.3 ms)``, with the
  fields below as record attributes;
- INFO when a failed attempt is retried (and why, and after how long), when a 429
  pauses a rate-limit coordinator's key, and when a call waits for its coordinator;
- WARNING when a call fails after it was retried, and once per model and field when a
  response lacks a field the spec requires (lenient parsing).

The structured fields are attributes of the record named ``stream_<field>``
(``stream_operation``, ``stream_method``, ``stream_path``, ``stream_status``,
``stream_attempt``, ``stream_elapsed`` in seconds, ``stream_request_id``, ...), so a
``logging.Formatter`` or a log shipper can read them; ``JsonFormatter`` writes them as
one JSON object per line, without the prefix.

Without code, two environment variables, read when the client module is first imported:
``STREAM_MODERATION_LOG=debug|info|warning|error`` adds a handler (stderr) to the logger
at that level, and ``STREAM_MODERATION_LOG_FORMAT=json`` makes it write JSON lines
(default ``text``).

Every record of these loggers passes ``RedactingFilter`` first, installed on them at
import: the API secret of every client made in the process, anything shaped like a JWT
(the server token, user tokens) and any 64-hex-digit string (webhook signatures,
HMAC-SHA256 digests) are replaced by ``***`` in the message, its arguments and the
structured fields.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._auth import Credentials

__all__ = [
    "ENV_FORMAT",
    "ENV_LEVEL",
    "FIELD_PREFIX",
    "LOGGER_NAME",
    "JsonFormatter",
    "RedactingFilter",
    "configure_from_env",
    "fields",
    "redact",
    "remember",
]

LOGGER_NAME = "stream_moderation"
ENV_LEVEL = "STREAM_MODERATION_LOG"
ENV_FORMAT = "STREAM_MODERATION_LOG_FORMAT"
FIELD_PREFIX = "stream_"
MASK = "***"

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
# A JWT: base64url header (a JSON object, so "eyJ"), payload and signature. Also matches
# one pasted after "Bearer ".
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# An HMAC-SHA256 in hex (X-Signature), not inside a longer run of hex digits.
_HEX_SIGNATURE = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")

# The credentials of every client made in this process, weakly: their secrets are masked.
_credentials: weakref.WeakSet[Credentials] = weakref.WeakSet()
_lock = threading.Lock()


def remember(credentials: Credentials) -> None:
    """Mask this client's secret and server token in every record from now on."""
    with _lock:
        _credentials.add(credentials)


def redact(text: str) -> str:
    """``text`` with the known secrets, JWTs and hex signatures masked."""
    with _lock:
        known = list(_credentials)
    for credentials in known:
        text = credentials.redact(text)
    text = _JWT.sub(MASK, text)
    return _HEX_SIGNATURE.sub(MASK, text)


def fields(**values: Any) -> dict[str, Any]:
    """The structured fields of a record, as ``extra=``: ``stream_``-prefixed, Nones left
    out."""
    return {FIELD_PREFIX + k: v for k, v in values.items() if v is not None}


class RedactingFilter(logging.Filter):
    """Masks secrets in a record before any handler sees it: the message is formatted with
    its arguments once, masked, and the arguments dropped; string fields are masked too."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format: keep what can be kept
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        for name, value in list(vars(record).items()):
            if name.startswith(FIELD_PREFIX) and isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, RFC 3339), ``level``, ``logger``,
    ``message``, the structured fields (without their ``stream_`` prefix) and, when there
    is one, ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        when = _dt.datetime.fromtimestamp(record.created, tz=_dt.UTC)
        out: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name.startswith(FIELD_PREFIX) and name not in _STANDARD:
                out[name[len(FIELD_PREFIX) :]] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FILTER = RedactingFilter()
_configured: logging.Handler | None = None


def _install_filters() -> None:
    for name in (LOGGER_NAME, LOGGER_NAME + ".testing"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def configure_from_env(environ: Any = None) -> logging.Handler | None:
    """Install the redaction filter; with ``STREAM_MODERATION_LOG`` set, also a handler on
    stderr at that level (text, or JSON lines with ``STREAM_MODERATION_LOG_FORMAT=json``).
    The handler's records do not propagate to the root logger, so they are not written
    twice. Returns the handler installed (None: none). Idempotent."""
    global _configured
    _install_filters()
    env = os.environ if environ is None else environ
    wanted = (env.get(ENV_LEVEL) or "").strip().lower()
    if not wanted or wanted in ("off", "none", "0"):
        return None
    level = _LEVELS.get(wanted)
    if level is None:
        sys.stderr.write(
            f"stream_moderation: {ENV_LEVEL}={wanted!r} is not one of "
            f"{', '.join(sorted(_LEVELS))} (or off); logging is left as configured\n"
        )
        return None
    fmt = (env.get(ENV_FORMAT) or "text").strip().lower()
    logger = logging.getLogger(LOGGER_NAME)
    with _lock:
        if _configured is not None:
            logger.removeHandler(_configured)
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(_FILTER)
        handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
        _configured = handler
    return handler
