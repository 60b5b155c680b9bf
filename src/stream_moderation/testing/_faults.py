"""The faults the emulator can inject: what goes on the wire instead of, or around, an answer.

Most faults answer *before* the operation's handler runs, so a request that got one was
not processed and retrying it processes it once: server errors (JSON or HTML body), 429s,
dropped connections, stalls and non-JSON bodies. Four run the handler, so the request
*was* processed (``reaches_handler``): truncated bodies, wrong content types and trickled
bodies alter its answer, and a lost response drops it (a client that resends the request
then has it processed twice).

Dropping a connection needs a socket. Served (``Emulator.serve()``, the command line), the
server offers the app a way to close the connection (the ``CLOSE_CONNECTION`` scope
extension) and the fault uses it, before the response or after its headers and half its
body. In process (httpx's ASGI transport) there is no connection, so the fault raises the
httpx error a closed connection gives (``RemoteProtocolError``); a stall, which a served
client ends with its own read timeout, raises ``ReadTimeout`` after its delay.
"""

from __future__ import annotations

import abc
import email.utils
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, ClassVar

import anyio
import attrs
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import EmulatorError, error_body
from ._wire import encode_json

__all__ = [
    "CLOSE_CONNECTION",
    "DropConnection",
    "Fault",
    "LostResponse",
    "NotJSON",
    "RateLimited",
    "ServerError",
    "Stall",
    "TrickledBody",
    "TruncatedBody",
    "WrongContentType",
]

CLOSE_CONNECTION = "stream_moderation.close_connection"
"""Scope extension set by the emulator's server: a callable that closes the connection."""

Headers = list[tuple[bytes, bytes]]

_JSON = b"application/json; charset=utf-8"
_HTML = b"text/html; charset=utf-8"
_HTML_PAGE = (
    "<html><head><title>{status} {phrase}</title></head><body><center><h1>{status} "
    "{phrase}</h1></center><hr><center>nginx</center></body></html>\n"
)
_HALF_ANSWER = b'{"recommended_action":"keep","status":"complete","duration":"0.10ms"}'


def _seconds(value: float) -> str:
    """A number of seconds as a header value: ``2``, or ``0.25`` when not whole."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


# -- ASGI helpers ---------------------------------------------------------------------------


async def drain(receive: Receive) -> None:
    """Read the request body to its end (a fault answers without the handler reading it)."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def respond(send: Send, status: int, headers: Headers, body: bytes) -> None:
    """A whole response, with its Content-Length."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_without(headers, b"content-length"), _content_length(len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, Headers, bytes]:
    """The handler's answer (status, headers, body), asked for without compression."""
    plain: Scope = {**scope, "headers": _without(scope["headers"], b"accept-encoding")}
    status = 500
    headers: Headers = []
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(plain, receive, collect)
    return status, headers, b"".join(chunks)


def _without(headers: Any, name: bytes) -> Headers:
    return [(k, v) for k, v in headers if k.lower() != name]


def _content_length(size: int) -> tuple[bytes, bytes]:
    return (b"content-length", str(size).encode())


def _closer(scope: Scope) -> Callable[[], None] | None:
    closer: Callable[[], None] | None = (scope.get("extensions") or {}).get(CLOSE_CONNECTION)
    return closer


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def hang_up(scope: Scope, receive: Receive, in_process_error: Exception) -> None:
    """Close the connection (served), or raise what httpx raises when it closes (in process)."""
    close = _closer(scope)
    if close is None:
        raise in_process_error
    close()
    await _wait_for_disconnect(receive)


# -- the faults -----------------------------------------------------------------------------


class Fault(abc.ABC):
    """One way of misbehaving, applied to one request in place of the normal answer."""

    reaches_handler: ClassVar[bool] = False
    """Whether the operation's handler runs (the request is processed) under this fault."""

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """A short name, used to count what was injected (``503``, ``drop-before``, ...)."""

    @abc.abstractmethod
    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer ``scope``'s request (``app`` is the emulator, for the faults that run it)."""


@attrs.frozen
class ServerError(Fault):
    """A 5xx with the API's JSON error body, or the HTML page of a proxy in front of it."""

    status: int = attrs.field(default=503, validator=attrs.validators.in_(range(500, 600)))
    html: bool = False

    @property
    def label(self) -> str:
        return f"{self.status}-html" if self.html else str(self.status)

    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        phrase = _phrase(self.status)
        if self.html:
            page = _HTML_PAGE.format(status=self.status, phrase=phrase).encode()
            await respond(send, self.status, [(b"content-type", _HTML)], page)
            return
        error = EmulatorError(self.status, -1, f"{phrase} (a fault injected by the emulator)")
        body = encode_json(error_body(error, "0.00ms", None), "unix_ns")
        await respond(send, self.status, [(b"content-type", _JSON)], body)


@attrs.frozen
class RateLimited(Fault):
    """429 (code 9) with ``X-RateLimit-*`` and ``Retry-After`` in seconds or as an HTTP date.

    ``retry_after`` None sends no ``Retry-After``: the client then has ``X-RateLimit-Reset``
    (``reset_after`` seconds from now, by default ``retry_after`` or 60). An HTTP date and
    ``X-RateLimit-Reset`` have a resolution of one second: they name the second nearest
    to the moment meant.
    """

    retry_after: float | None = 1.0
    http_date: bool = False
    reset_after: float | None = None
    limit: int = 1000

    @property
    def label(self) -> str:
        return "429"

    def headers(self, now: float) -> Headers:
        reset_in = self.reset_after if self.reset_after is not None else self.retry_after
        headers: Headers = [
            (b"content-type", _JSON),
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", b"0"),
            (b"x-ratelimit-reset", str(round(now + _or(reset_in, 60.0))).encode()),
        ]
        if self.retry_after is not None:
            if self.http_date:
                moment = datetime.fromtimestamp(round(now + self.retry_after), tz=UTC)
                value = email.utils.format_datetime(moment, usegmt=True)
            else:
                value = _seconds(self.retry_after)
            headers.append((b"retry-after", value.encode()))
        return headers

    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        error = EmulatorError(429, 9, "too many requests (a fault injected by the emulator)")
        body = encode_json(error_body(error, "0.00ms", None), "unix_ns")
        await respond(send, 429, self.headers(time.time()), body)


@attrs.frozen
class DropConnection(Fault):
    """The connection closes before any byte of the response, or (``midway``) after the
    headers and half of the body."""

    midway: bool = False

    @property
    def label(self) -> str:
        return "drop-mid" if self.midway else "drop-before"

    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        if not self.midway:
            error = httpx.RemoteProtocolError("Server disconnected without sending a response.")
            await hang_up(scope, receive, error)
            return
        half = len(_HALF_ANSWER) // 2
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", _JSON), _content_length(len(_HALF_ANSWER))],
            }
        )
        await send({"type": "http.response.body", "body": _HALF_ANSWER[:half], "more_body": True})
        error = httpx.RemoteProtocolError(
            f"peer closed connection without sending complete message body "
            f"(received {half} bytes, expected {len(_HALF_ANSWER)})"
        )
        await hang_up(scope, receive, error)


@attrs.frozen
class Stall(Fault):
    """No answer for ``seconds`` (past the client's read timeout), then the connection closes;
    served, the stall ends early when the client gives up and disconnects."""

    seconds: float = 30.0

    @property
    def label(self) -> str:
        return "stall"

    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        served = _closer(scope) is not None
        with anyio.move_on_after(self.seconds):
            if served:
                await _wait_for_disconnect(receive)
            else:
                await anyio.sleep_forever()
        error = httpx.ReadTimeout(f"no answer within {_seconds(self.seconds)} s (stall fault)")
        await hang_up(scope, receive, error)


@attrs.frozen
class LostResponse(Fault):
    """The handler runs (the request is processed), then its answer is lost: the
    connection closes before any byte of it, or, with ``seconds``, after that long with
    nothing sent (past the client's timeout; served, earlier if the client gives up).

    What a client sees is what ``DropConnection`` or ``Stall`` give it, but the operation
    *was* processed: a client that sends it again does it twice."""

    seconds: float = 0.0
    reaches_handler: ClassVar[bool] = True

    @property
    def label(self) -> str:
        return "lost-response"

    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        await capture(app, scope, receive)  # processed; the answer goes nowhere
        if self.seconds > 0:
            served = _closer(scope) is not None
            with anyio.move_on_after(self.seconds):
                if served:
                    await _wait_for_disconnect(receive)
                else:
                    await anyio.sleep_forever()
            error: Exception = httpx.ReadTimeout(
                f"no answer within {_seconds(self.seconds)} s (lost-response fault)"
            )
        else:
            error = httpx.RemoteProtocolError("Server disconnected without sending a response.")
        await hang_up(scope, receive, error)


@attrs.frozen
class NotJSON(Fault):
    """A 200 whose body is an HTML page (a captive portal or a misrouted proxy)."""

    @property
    def label(self) -> str:
        return "not-json"

    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        page = b"<!DOCTYPE html><html><body><h1>Welcome</h1><p>Please sign in.</p></body></html>"
        await respond(send, 200, [(b"content-type", _HTML)], page)


@attrs.frozen
class TruncatedBody(Fault):
    """The handler's answer, its body cut to ``keep`` of its length (a complete HTTP
    message whose JSON ends too early)."""

    keep: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0.0)])
    reaches_handler: ClassVar[bool] = True

    def __attrs_post_init__(self) -> None:
        if self.keep >= 1.0:
            raise ValueError("keep must be less than 1 (a fraction of the body)")

    @property
    def label(self) -> str:
        return "truncate"

    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        status, headers, body = await capture(app, scope, receive)
        await respond(send, status, headers, body[: int(len(body) * self.keep)])


@attrs.frozen
class WrongContentType(Fault):
    """The handler's answer with another Content-Type (the body is unchanged)."""

    content_type: str = "text/html; charset=utf-8"
    reaches_handler: ClassVar[bool] = True

    @property
    def label(self) -> str:
        return "wrong-content-type"

    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        status, headers, body = await capture(app, scope, receive)
        headers = [
            *_without(headers, b"content-type"),
            (b"content-type", self.content_type.encode()),
        ]
        await respond(send, status, headers, body)


@attrs.frozen
class TrickledBody(Fault):
    """The handler's answer, its body sent in ``chunks`` pieces spread over ``seconds``."""

    seconds: float = 1.0
    chunks: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    reaches_handler: ClassVar[bool] = True

    @property
    def label(self) -> str:
        return "trickle"

    async def apply(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        status, headers, body = await capture(app, scope, receive)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*_without(headers, b"content-length"), _content_length(len(body))],
            }
        )
        size = max(1, math.ceil(len(body) / self.chunks))
        pieces = [body[start : start + size] for start in range(0, len(body), size)] or [b""]
        for piece in pieces:
            await anyio.sleep(self.seconds / len(pieces))
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"
