"""The emulator's back end: state, settings, clock and ids, with no HTTP in sight.

``Backend`` is what the operation handlers work on. It is shared by the ASGI app (async,
any event loop) and by the sync transport's thread, so a lock serialises the handlers;
they never await while holding it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._classifier import BUILTIN_BLOCKLISTS, Classifier, KeywordClassifier
from ._state import State
from ._wire import TimestampMode

__all__ = ["Backend"]

_USER_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "image": (str,),
    "role": (str,),
    "language": (str,),
    "invisible": (bool,),
    "teams": (list,),
    "custom": (dict,),
}
"""The UserRequest fields the emulator keeps, and their JSON types."""


class Backend:
    def __init__(
        self,
        *,
        classifier: Classifier | None = None,
        timestamps: TimestampMode = "unix_ns",
        clock: Callable[[], int] | None = None,
        id_factory: Callable[[], str] | None = None,
    ) -> None:
        if timestamps not in ("unix_ns", "rfc3339"):
            raise ValueError(f"timestamps must be 'unix_ns' or 'rfc3339', got {timestamps!r}")
        self.classifier: Classifier = classifier or KeywordClassifier()
        self.timestamps: TimestampMode = timestamps
        self.clock: Callable[[], int] = clock or time.time_ns
        self._id_factory = id_factory or (lambda: str(uuid.uuid4()))
        self.lock = threading.RLock()
        self.state = State()
        self.blocklists: dict[str, tuple[str, ...]] = dict(BUILTIN_BLOCKLISTS)

    def new_id(self) -> str:
        return self._id_factory()

    def now(self) -> int:
        return int(self.clock())

    def add_blocklist(self, name: str, words: Iterable[str]) -> None:
        if not name:
            raise ValueError("a block list needs a name")
        entries = tuple(w for w in words if isinstance(w, str) and w.strip())
        with self.lock:
            self.blocklists[name] = entries

    def add_users(self, users: Iterable[str | Mapping[str, Any]]) -> list[str]:
        """Make users known, as if created through Stream's users API: ids, or objects
        shaped like the spec's UserRequest (``id`` plus ``name``, ``role``, ``teams``,
        ``custom``, ...). All are checked before any is added; returns their ids."""
        checked: list[tuple[str, dict[str, Any] | None]] = []
        for index, user in enumerate(users):
            details = dict(user) if isinstance(user, Mapping) else None
            user_id = details.get("id") if details is not None else user
            if not isinstance(user_id, str) or not user_id.strip():
                raise ValueError(f"users[{index}]: a user is an id or an object with an id")
            for name, kinds in _USER_FIELDS.items():
                value = (details or {}).get(name)
                if value is not None and not isinstance(value, kinds):
                    raise ValueError(f"users[{index}].{name}: expected {kinds[0].__name__}")
            checked.append((user_id, details))
        with self.lock:
            now = self.now()
            for user_id, details in checked:
                self.state.user(user_id, now, details)
        return [user_id for user_id, _ in checked]

    def reset(self) -> None:
        """Forget every stored record (block lists and settings stay)."""
        with self.lock:
            self.state = State()
