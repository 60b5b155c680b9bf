"""``Emulator``: the in-memory Moderation API, and the ways to reach it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt

from .._auth import hs256, warn_if_short
from .._client import AsyncStream, Stream
from ._app import DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW, EmulatorApp, Middleware
from ._backend import Backend
from ._classifier import Classifier
from ._persist import export_state, import_state, load_dir, save_dir
from ._server import serve_in_thread
from ._state import State
from ._transport import SyncASGITransport
from ._webhooks import WebhookCallback, WebhookDelivery, WebhookSender
from ._wire import TimestampMode

__all__ = ["DEFAULT_API_KEY", "DEFAULT_API_SECRET", "Emulator"]

DEFAULT_API_KEY = "emulator-key"
DEFAULT_API_SECRET = "emulator-secret-not-for-production-use"
_LOCAL_URL = "http://localhost"


class Emulator:
    """An in-memory emulator of Stream's Moderation API.

    ``Emulator(api_key=..., api_secret=...)`` accepts requests carrying that key and a JWT
    signed with that secret. Reach it in process with ``client()`` / ``sync_client()`` (or
    ``transport()`` / ``sync_transport()`` for your own client), or on a port with
    ``serve()``; ``app`` is the ASGI application.

    Options: ``timestamps`` ("unix_ns" like the v2 API, or "rfc3339"), ``classifier``
    (replaces the keyword classifier), ``blocklists`` (name -> words, added to the built-in
    ``profanity_en``), ``webhook_url`` / ``webhook_callback`` (receive signed events),
    ``rate_limit`` (requests per app and operation per window; ``rate_limits`` per operation,
    e.g. ``{"check": 20}``; ``rate_window`` seconds, 60 by default: see ``rate_limited``),
    ``validate_responses`` (check every answer against the spec; on by default),
    ``journal_limit`` / ``journal_body_limit`` (requests and bytes per body the request
    journal keeps: ``requests()``), ``clock``
    (unix nanoseconds), ``id_factory``.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        *,
        timestamps: TimestampMode = "unix_ns",
        classifier: Classifier | None = None,
        blocklists: Mapping[str, Iterable[str]] | None = None,
        webhook_url: str | None = None,
        webhook_callback: WebhookCallback | None = None,
        webhook_retry_delays: Sequence[float] = (0.05, 0.25),
        rate_limit: int = DEFAULT_RATE_LIMIT,
        rate_limits: Mapping[str, int] | None = None,
        rate_window: int = DEFAULT_RATE_WINDOW,
        validate_responses: bool = True,
        journal_limit: int = 1000,
        journal_body_limit: int = 16 * 1024,
        clock: Callable[[], int] | None = None,
        id_factory: Callable[[], str] | None = None,
    ) -> None:
        if not api_key or not api_secret:
            raise ValueError("the emulator needs an api_key and an api_secret")
        warn_if_short(api_secret, "Emulator")
        self.api_key = api_key
        self._secret = api_secret
        self.backend = Backend(
            classifier=classifier, timestamps=timestamps, clock=clock, id_factory=id_factory
        )
        for name, words in (blocklists or {}).items():
            self.backend.add_blocklist(name, words)
        self.webhooks = WebhookSender(
            api_key=api_key,
            api_secret=api_secret,
            url=webhook_url,
            callback=webhook_callback,
            retry_delays=webhook_retry_delays,
        )
        self.app = EmulatorApp(
            self.backend,
            self.webhooks,
            api_key=api_key,
            api_secret=api_secret,
            rate_limit=rate_limit,
            rate_limits=rate_limits,
            rate_window=rate_window,
            validate_responses=validate_responses,
            journal_limit=journal_limit,
            journal_body_limit=journal_body_limit,
        )

    def __repr__(self) -> str:
        return (
            f"Emulator(api_key={self.api_key!r}, api_secret='***', "
            f"timestamps={self.backend.timestamps!r})"
        )

    # -- state and settings ---------------------------------------------------------------

    @property
    def state(self) -> State:
        """Everything the emulator stores (configs, items, flags, bans, ...), for assertions."""
        return self.backend.state

    @property
    def timestamps(self) -> TimestampMode:
        return self.backend.timestamps

    @timestamps.setter
    def timestamps(self, mode: TimestampMode) -> None:
        if mode not in ("unix_ns", "rfc3339"):
            raise ValueError(f"timestamps must be 'unix_ns' or 'rfc3339', got {mode!r}")
        self.backend.timestamps = mode

    @property
    def classifier(self) -> Classifier:
        return self.backend.classifier

    @classifier.setter
    def classifier(self, classifier: Classifier) -> None:
        self.backend.classifier = classifier

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook sent so far, in order."""
        return self.webhooks.deliveries

    @property
    def calls(self) -> dict[str, int]:
        """Requests received per operation name."""
        return self.app.calls

    @property
    def rate_limited(self) -> dict[str, dict[str, int]]:
        """Requests answered 429 by the rate limit, per operation and per window (the
        window's end, unix seconds, as text: ``X-RateLimit-Reset``); faults not included."""
        return self.app.limiter.snapshot()

    def add_blocklist(self, name: str, words: Iterable[str]) -> None:
        """Register (or replace) a block list that configs can name in block_list_config."""
        self.backend.add_blocklist(name, words)

    def add_users(self, users: Iterable[str | Mapping[str, Any]]) -> list[str]:
        """Make users known to the emulator, as if created through Stream's users API (so
        that ``mute`` finds them, for instance): ids or UserRequest-shaped objects
        (``{"id": "u1", "name": "Ann", "role": "admin", "teams": [...], "custom": {...}}``).
        Returns their ids; a malformed entry raises ValueError and adds none."""
        return self.backend.add_users(users)

    @property
    def not_emulated(self) -> list[str]:
        """The operations of this release the emulator answers from their response schema
        (it has no semantics for them)."""
        return list(self.app.not_emulated)

    @property
    def filled_fields(self) -> dict[str, int]:
        """Required response fields the emulator did not set and filled from the schema
        (``UpsertConfigResponse.config.ai_audio_config.enabled``), with how often."""
        return self.app.filled_fields

    # -- saving and loading the state ------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """Everything the emulator stores, as a versioned JSON document (format
        ``stream-moderation-emulator-state``, version 1: see docs/emulator.md, "State")."""
        return export_state(self.backend)

    def import_state(self, document: Mapping[str, Any]) -> None:
        """Replace the state with a document from ``export_state`` (or a state file's);
        ``StateFormatError`` (a ValueError) for one it cannot load, leaving the state as is."""
        import_state(self.backend, document)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the state to ``directory/state.json``; returns the file's path."""
        return save_dir(self.backend, directory)

    def load(self, directory: str | os.PathLike[str]) -> Path:
        """Load ``directory/state.json`` (what ``save`` or ``--export-on-exit`` wrote)."""
        return load_dir(self.backend, directory)

    @property
    def export_dir(self) -> str | None:
        """Where ``POST /_emulator/state/save`` writes the state (None: refused)."""
        return self.app.export_dir

    @export_dir.setter
    def export_dir(self, directory: str | os.PathLike[str] | None) -> None:
        self.app.export_dir = None if directory is None else os.fspath(directory)

    def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The requests received (the last ``limit``, or all the journal keeps), oldest
        first: ``method``, ``path``, ``query``, ``status``, ``request_id``, ``started_at``
        (RFC 3339), ``duration_ms``, ``request_body``, ``response_body`` (JSON decoded,
        secrets masked, capped). See docs/emulator.md, "Request journal"."""
        return self.app.journal.entries(limit)

    def clear_requests(self) -> int:
        """Empty the request journal; returns how many entries it held."""
        return self.app.journal.clear()

    def add_middleware(self, middleware: Middleware) -> None:
        """Wrap the ASGI app (e.g. to inject faults); the last one added runs first."""
        self.app.add_middleware(middleware)

    def reset(self) -> None:
        """Forget every stored record and webhook delivery (settings and block lists stay)."""
        self.backend.reset()
        self.webhooks.deliveries.clear()

    def create_token(self, user_id: str | None = None, **claims: Any) -> str:
        """A JWT the emulator accepts: a server token, or a user token for ``user_id``."""
        payload: dict[str, Any] = dict(claims)
        if user_id is None:
            payload.setdefault("server", True)
        else:
            payload["user_id"] = user_id
        with hs256(self._secret):
            return jwt.encode(payload, self._secret, algorithm="HS256")

    # -- ways in --------------------------------------------------------------------------

    def transport(self) -> httpx.ASGITransport:
        """An async httpx transport into the emulator (``AsyncStream(transport=...)``)."""
        return httpx.ASGITransport(app=self.app)

    def sync_transport(self) -> SyncASGITransport:
        """A sync httpx transport into the emulator (``Stream(transport=...)``)."""
        return SyncASGITransport(self.app)

    def client(self, **options: Any) -> AsyncStream:
        """An AsyncStream connected to this emulator in process."""
        options.setdefault("base_url", _LOCAL_URL)
        return AsyncStream(self.api_key, self._secret, transport=self.transport(), **options)

    def sync_client(self, **options: Any) -> Stream:
        """A Stream (sync) client connected to this emulator in process; close it after use."""
        options.setdefault("base_url", _LOCAL_URL)
        return Stream(self.api_key, self._secret, transport=self.sync_transport(), **options)

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve on a real port in a background thread; yields the base URL."""
        with serve_in_thread(self.app, host=host, port=port) as url:
            yield url
