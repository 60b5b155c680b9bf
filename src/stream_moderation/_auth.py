"""Server-side authentication: the API key, the secret, and the JWTs signed with it.

Stream authenticates a server with an HS256 JWT signed by the app's secret, sent as is in
``Authorization`` together with ``Stream-Auth-Type: jwt`` and the public key as the
``api_key`` query parameter. The server token carries no expiry, so it is built once per
client. The secret and every token stay inside this object: its repr masks them, and
``redact`` removes them from any text that is about to be logged or raised.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Credentials"]

MASK = "***"


def _encode(payload: dict[str, Any], secret: str) -> str:
    """An HS256 JWT; pyjwt is imported here, when a client is made, not with the package."""
    import jwt

    return jwt.encode(payload, secret, algorithm="HS256")


class Credentials:
    """An app's API key and secret."""

    __slots__ = ("_secret", "_server_token", "api_key")

    def __init__(self, api_key: str, api_secret: str) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("api_key is required: pass api_key= or set STREAM_API_KEY")
        if not isinstance(api_secret, str) or not api_secret.strip():
            raise ValueError("api_secret is required: pass api_secret= or set STREAM_API_SECRET")
        self.api_key = api_key
        self._secret = api_secret
        self._server_token = _encode({"server": True}, api_secret)

    @property
    def server_token(self) -> str:
        """The server-side JWT (no expiry), as sent in ``Authorization``."""
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
            raise ValueError("user_id must be a non-empty string")
        now = int(time.time())
        payload: dict[str, Any] = dict(claims or {})
        payload["user_id"] = user_id
        payload["iat"] = int(issued_at.timestamp()) if issued_at is not None else now
        if expiration is not None:
            if isinstance(expiration, datetime):
                if expiration.tzinfo is None:
                    raise ValueError("expiration must be a timezone-aware datetime")
                payload["exp"] = int(expiration.timestamp())
            elif isinstance(expiration, timedelta):
                payload["exp"] = now + int(expiration.total_seconds())
            else:
                payload["exp"] = now + int(expiration)
        return _encode(payload, self._secret)

    @property
    def secret(self) -> str:
        """The API secret; only for code that must sign with it (webhook verification)."""
        return self._secret

    def redact(self, text: str) -> str:
        """``text`` with the secret and the server token masked."""
        for value in (self._server_token, self._secret):
            if value and value in text:
                text = text.replace(value, MASK)
        return text

    def holds_secret(self, text: str) -> bool:
        """Whether ``text`` contains the secret or the server token."""
        return any(value and value in text for value in (self._server_token, self._secret))

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
