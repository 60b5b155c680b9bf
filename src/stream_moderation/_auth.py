"""Server-side authentication: the API key, the secret, and the JWTs signed with it.

Stream authenticates a server with an HS256 JWT signed by the app's secret, sent as is in
``Authorization`` together with ``Stream-Auth-Type: jwt`` and the public key as the
``api_key`` query parameter.

The server token carries ``iat`` (when it was signed) and ``exp``, one hour later; the
client signs a new one when the one it holds is half-way through its life. Stream's docs
recommend an ``exp`` over a token that never expires: a server token that leaks (a proxy's
log, a core dump, a debugging session) then stops working within the hour instead of
until the secret is rotated. An hour keeps the cost (one HS256 signature per half hour)
and the exposure to clock skew small: the clock may be off by up to an hour before a
token is refused as expired, which is far more than NTP-kept hosts drift.

The secret and the server token are ``Secret`` objects, whose repr and str are masked:
after the constructor no frame of the SDK binds either to a name as a plain string, so a
traceback printed with its locals (``pytest -l``, rich, an error tracker) shows ``***``.
``redact`` removes them from any text that is about to be logged or raised.
"""

from __future__ import annotations

import contextlib
import hmac
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from . import _logs
from ._errors import ArgumentTypeError, ArgumentValueError

__all__ = ["MIN_SECRET_BYTES", "Credentials", "Secret", "hs256", "warn_if_short"]

MASK = "***"
SERVER_TOKEN_LIFETIME = 3600
"""Seconds from ``iat`` to ``exp`` of the server token."""


class Secret:
    """A string that does not show itself: repr and str are masked, it does not pickle,
    and ``reveal()`` is the only way to the value (used inline, never bound to a name)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(Secret)

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


MIN_SECRET_BYTES = 32
"""HS256 wants a key of at least 32 bytes (RFC 7518, section 3.2); Stream's secrets are
longer. A shorter one is most likely a placeholder ("YOUR_API_SECRET"), or a test's."""

_warned_short = False


def warn_if_short(secret: str, who: str) -> None:
    """Warn once per process (not per call) that a secret is shorter than HS256 wants.

    The warning is pyjwt's ``InsecureKeyLengthWarning`` (filters written for it apply),
    raised where the secret was passed; pyjwt's own warning, which it raises on every
    token signed or checked with that secret, is silenced (see ``hs256``). The message
    gives the length, never the secret."""
    global _warned_short
    if _warned_short or len(secret.encode()) >= MIN_SECRET_BYTES:
        return
    _warned_short = True
    import jwt

    warnings.warn(
        f"{who}: the API secret is {len(secret.encode())} bytes, shorter than the "
        f"{MIN_SECRET_BYTES} HS256 wants (Stream's secrets are longer: is it a "
        "placeholder?); warned once",
        jwt.InsecureKeyLengthWarning,
        stacklevel=3,
    )


@contextlib.contextmanager
def hs256(secret: str) -> Iterator[None]:
    """Around a pyjwt call with ``secret``: a short secret was warned about once already
    (``warn_if_short``), so pyjwt's warning on each call is silenced; with a secret long
    enough, nothing is changed."""
    if len(secret.encode()) >= MIN_SECRET_BYTES:
        yield
        return
    import jwt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        yield


def _sign(payload: dict[str, Any], secret: Secret) -> Secret:
    """An HS256 JWT; pyjwt is imported here, when a client is made, not with the package."""
    import jwt

    with hs256(secret.reveal()):
        return Secret(jwt.encode(payload, secret.reveal(), algorithm="HS256"))


class Credentials:
    """An app's API key and secret, and the server token signed with it."""

    __slots__ = ("__weakref__", "_lock", "_secret", "_server_token", "_token_renew_at", "api_key")

    def __init__(self, api_key: str, api_secret: str | Secret) -> None:
        if not isinstance(api_key, str):
            raise ArgumentTypeError(f"api_key must be a string, got {type(api_key).__name__}")
        if not api_key.strip():
            raise ArgumentValueError("api_key is required: pass api_key= or set STREAM_API_KEY")
        secret = api_secret if isinstance(api_secret, Secret) else None
        if secret is None:
            if not isinstance(api_secret, str):
                raise ArgumentTypeError(
                    f"api_secret must be a string, got {type(api_secret).__name__}"
                )
            secret = Secret(api_secret)
        del api_secret  # from here on, only the masked object
        if not secret.reveal().strip():
            raise ArgumentValueError(
                "api_secret is required: pass api_secret= or set STREAM_API_SECRET"
            )
        warn_if_short(secret.reveal(), "stream_moderation")
        self.api_key = api_key
        self._secret = secret
        self._lock = threading.Lock()
        self._server_token = Secret("")
        self._token_renew_at = 0.0
        self._sign_server_token()
        _logs.remember(self)  # masked in every log record of the SDK

    def _sign_server_token(self) -> None:
        now = int(time.time())
        self._server_token = _sign(
            {"server": True, "iat": now, "exp": now + SERVER_TOKEN_LIFETIME}, self._secret
        )
        self._token_renew_at = time.monotonic() + SERVER_TOKEN_LIFETIME / 2

    def renew_server_token(self) -> bool:
        """Sign a new server token when the one held is half-way through its life; whether
        it did (the caller then rebuilds the headers that carry it)."""
        if time.monotonic() < self._token_renew_at:
            return False
        with self._lock:
            if time.monotonic() >= self._token_renew_at:
                self._sign_server_token()
        return True

    @property
    def server_token(self) -> str:
        """The server-side JWT, as sent in ``Authorization``."""
        return self._server_token.reveal()

    @property
    def server_token_secret(self) -> Secret:
        """The server-side JWT, masked."""
        return self._server_token

    def create_token(
        self,
        user_id: str,
        *,
        expiration: int | float | timedelta | datetime | None = None,
        issued_at: datetime | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A user token for client-side SDKs: an HS256 JWT with ``user_id``.

        ``expiration`` is a lifetime (seconds or timedelta) or an absolute datetime; without
        it the token does not expire. ``claims`` adds others (e.g. ``channel_cids``, ``role``).
        """
        if not isinstance(user_id, str) or not user_id:
            raise ArgumentValueError("user_id must be a non-empty string")
        now = int(time.time())
        payload: dict[str, Any] = dict(claims or {})
        payload["user_id"] = user_id
        payload["iat"] = int(issued_at.timestamp()) if issued_at is not None else now
        if expiration is not None:
            if isinstance(expiration, datetime):
                if expiration.tzinfo is None:
                    raise ArgumentValueError("expiration must be a timezone-aware datetime")
                payload["exp"] = int(expiration.timestamp())
            elif isinstance(expiration, timedelta):
                payload["exp"] = now + int(expiration.total_seconds())
            else:
                payload["exp"] = now + int(expiration)
        return _sign(payload, self._secret).reveal()

    @property
    def secret(self) -> Secret:
        """The API secret, masked; for code that must sign with it (webhook verification)."""
        return self._secret

    def redact(self, text: str) -> str:
        """``text`` with the secret and the server token masked."""
        for secret in (self._server_token, self._secret):
            if secret and secret.reveal() in text:
                text = text.replace(secret.reveal(), MASK)
        return text

    def holds_secret(self, text: str) -> bool:
        """Whether ``text`` contains the secret or the server token."""
        return any(s and s.reveal() in text for s in (self._server_token, self._secret))

    def redact_json(self, value: Any) -> Any:
        """Parsed JSON with the secret and the server token masked in every key and string."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_json(item) for item in value]
        if isinstance(value, dict):
            return {self.redact_json(k): self.redact_json(v) for k, v in value.items()}
        return value

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.api_key!r}, api_secret={MASK!r})"

    def __reduce__(self) -> Any:
        raise TypeError("Credentials cannot be pickled: they hold the API secret")
