"""Who is calling: the ``api_key`` query parameter and the HS256 JWT in ``Authorization``.

A token without a ``user_id`` claim is a server token (``{"server": true}``, or only
``iat``/``exp``); one with ``user_id`` authenticates that user, who may only call the
operations a client-side SDK may (flag, appeal, get_appeal, mute, unmute). Failures answer
401 with the documented codes: 2 wrong/missing API key, 5 missing or malformed token,
40 expired, 41 not valid yet (``nbf``), 42 issued in the future (``iat``), 43 signature
invalid; anonymous auth answers 403 (code 17).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from .._auth import hs256
from ._errors import EmulatorError, not_allowed

__all__ = ["USER_OPERATIONS", "Caller", "authenticate", "authorize"]

CLOCK_LEEWAY_SECONDS = 5
"""Tolerated clock skew for ``exp``, ``nbf`` and ``iat``."""

USER_OPERATIONS = frozenset({"flag", "appeal", "get_appeal", "mute", "unmute"})
"""Operations a user token may call; every other one needs a server token."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller: the server, or a user (from the token's user_id)."""

    user_id: str | None = None

    @property
    def is_server(self) -> bool:
        return self.user_id is None


def _auth_error(code: int, message: str) -> EmulatorError:
    return EmulatorError(401, code, message)


def authenticate(
    api_key: str | None,
    headers: Mapping[str, str],
    *,
    expected_key: str,
    secret: str,
    now: float,
) -> Caller:
    """The caller of a request, or EmulatorError (401/403) when it does not authenticate."""
    if not api_key:
        raise _auth_error(2, "api_key query parameter is missing")
    if not hmac.compare_digest(api_key.encode(), expected_key.encode()):
        raise _auth_error(2, "api_key not valid: no app with this API key")
    auth_type = headers.get("stream-auth-type", "jwt").strip().lower()
    if auth_type == "anonymous":
        raise not_allowed("anonymous access is not allowed to the moderation API")
    if auth_type != "jwt":
        raise _auth_error(5, f"Stream-Auth-Type must be 'jwt' or 'anonymous', got {auth_type!r}")
    token = headers.get("authorization", "").strip()
    if not token:
        raise _auth_error(5, "the Authorization header with a JWT is missing")
    if token.lower().startswith("bearer "):
        raise _auth_error(5, "send the JWT as is in Authorization, without a 'Bearer' prefix")
    try:
        with hs256(secret):
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
        raise _auth_error(
            43, "JWT signature is not valid: sign it with the app's API secret (HS256)"
        ) from None
    except jwt.PyJWTError as exc:
        raise _auth_error(5, f"JWT is malformed: {exc}") from None
    _check_times(claims, now)
    user_id = claims.get("user_id")
    if user_id is None or user_id == "":
        return Caller()
    if not isinstance(user_id, str):
        raise _auth_error(5, "JWT claim user_id must be a string")
    return Caller(user_id=user_id)


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _auth_error(5, f"JWT claim {name} must be a number of seconds")
    return float(value)


def _check_times(claims: Mapping[str, Any], now: float) -> None:
    exp = _number(claims, "exp")
    if exp is not None and exp < now - CLOCK_LEEWAY_SECONDS:
        raise _auth_error(40, "JWT has expired (exp is in the past)")
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf > now + CLOCK_LEEWAY_SECONDS:
        raise _auth_error(41, "JWT is not valid yet (nbf is in the future)")
    iat = _number(claims, "iat")
    if iat is not None and iat > now + CLOCK_LEEWAY_SECONDS:
        raise _auth_error(42, "JWT was issued in the future (iat is after the current time)")


def authorize(caller: Caller, operation: str) -> None:
    """Raise 403 (code 17) when a user token calls a server-side-only operation."""
    if caller.user_id is not None and operation not in USER_OPERATIONS:
        raise not_allowed(
            f"{operation} is a server-side operation: a user token (user_id "
            f"{caller.user_id!r}) may not call it"
        )
