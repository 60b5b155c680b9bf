"""The emulator's state as a versioned JSON document, to save, load and move between runs.

A state directory holds one file, ``state.json``::

    {
      "format": "stream-moderation-emulator-state",
      "version": 1,
      "spec_version": "v236.0.4",          # the release that wrote it (informative)
      "exported_at": "2026-12-07T15:00:00.000Z",
      "blocklists": {"brands": ["acme"]},  # those added to the built-in ones
      "state": {"users": ..., "items": ..., ...}
    }

``state`` holds each collection of ``_state.State`` under its attribute name, plus
``next_seq`` (the next creation number). Values are plain JSON, but for what JSON has no
form of, written as one-key objects: a record ``{"$type": "User", ...fields}``, a record
seen before ``{"$ref": n}`` (the n-th record written: a review item's flags are the same
records as ``flags``), a map with keys that are not strings (or that start with ``$``)
``{"$map": [[key, value], ...]}``, a tuple ``{"$tuple": [...]}``, a set ``{"$set": [...]}``,
a bounded queue ``{"$deque": [...], "maxlen": n}``, a response timestamp ``{"$ts": ns}``.
Timestamps of records are ints of unix nanoseconds, as in memory.

Loading checks everything before it replaces anything: a file of another format or
version, a collection or record type this emulator does not have, or a record field it
does not know is a ``StateFormatError`` naming where, and the emulator is left as it was.
What is not state is not saved: settings, the classifier, the request journal, webhook
deliveries, call counts and rate-limit windows.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as _dt
import itertools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .._generated import SPEC_VERSION
from .._types import Timestamp
from . import _state
from ._backend import Backend
from ._classifier import BUILTIN_BLOCKLISTS

__all__ = [
    "FORMAT",
    "STATE_FILE",
    "VERSION",
    "StateFormatError",
    "export_state",
    "import_state",
    "load_dir",
    "save_dir",
]

FORMAT = "stream-moderation-emulator-state"
VERSION = 1
STATE_FILE = "state.json"

_RECORDS: dict[str, type] = {
    name: getattr(_state, name)
    for name in _state.__all__
    if dataclasses.is_dataclass(getattr(_state, name)) and name != "State"
}
_SKIP = frozenset({"_seq", "_undo"})


class StateFormatError(ValueError):
    """A state document (or file) the emulator cannot load, and why."""


def _state_fields() -> list[str]:
    return [name for name in vars(_state.State()) if name not in _SKIP]


class _Encoder:
    def __init__(self) -> None:
        self._seen: dict[int, int] = {}

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Timestamp):
            return {"$ts": value.unix_ns}
        if isinstance(value, _dt.datetime):
            return {"$ts": Timestamp.from_datetime(value).unix_ns}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            key = id(value)
            if key in self._seen:
                return {"$ref": self._seen[key]}
            self._seen[key] = len(self._seen)
            out: dict[str, Any] = {"$type": type(value).__name__}
            for f in dataclasses.fields(value):
                out[f.name] = self.encode(getattr(value, f.name))
            return out
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v) for v in value]}
        if isinstance(value, (set, frozenset)):
            items = [self.encode(v) for v in value]
            return {"$set": sorted(items, key=lambda v: json.dumps(v, sort_keys=True))}
        if isinstance(value, collections.deque):
            return {"$deque": [self.encode(v) for v in value], "maxlen": value.maxlen}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: self.encode(v) for k, v in value.items()}
            return {"$map": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        raise TypeError(f"the emulator's state holds a {type(value).__name__}, not saveable")


class _Decoder:
    def __init__(self) -> None:
        self._records: list[Any] = []

    def decode(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if "$type" in value:
            return self._record(value, where)
        if len(value) == 1 and "$ref" in value:
            ref = value["$ref"]
            if not isinstance(ref, int) or not 0 <= ref < len(self._records):
                raise StateFormatError(f"{where}: $ref {ref!r} names no record written before")
            return self._records[ref]
        if len(value) == 1 and "$ts" in value:
            if not isinstance(value["$ts"], int):
                raise StateFormatError(f"{where}: $ts must be unix nanoseconds (an integer)")
            return Timestamp.from_unix_ns(value["$ts"])
        if len(value) == 1 and "$tuple" in value:
            return tuple(self.decode(v, where) for v in self._list(value["$tuple"], where))
        if len(value) == 1 and "$set" in value:
            return {self._hashable(self.decode(v, where), where) for v in value["$set"]}
        if set(value) == {"$deque", "maxlen"}:
            return collections.deque(
                self.decode(self._list(value["$deque"], where), where), maxlen=value["maxlen"]
            )
        if len(value) == 1 and "$map" in value:
            out = {}
            for index, pair in enumerate(self._list(value["$map"], where)):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise StateFormatError(f"{where}.$map[{index}] must be a [key, value] pair")
                key = self._hashable(self.decode(pair[0], where), where)
                out[key] = self.decode(pair[1], f"{where}[{key!r}]")
            return out
        special = [k for k in value if k.startswith("$")]
        if special:
            raise StateFormatError(f"{where}: unknown marker {special[0]!r}")
        return {k: self.decode(v, f"{where}.{k}") for k, v in value.items()}

    @staticmethod
    def _list(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise StateFormatError(f"{where}: expected an array")
        return value

    @staticmethod
    def _hashable(value: Any, where: str) -> Any:
        try:
            hash(value)
        except TypeError:
            raise StateFormatError(f"{where}: a key or set member must be a value") from None
        return value

    def _record(self, value: dict[str, Any], where: str) -> Any:
        name = value["$type"]
        cls = _RECORDS.get(name) if isinstance(name, str) else None
        if cls is None:
            known = ", ".join(sorted(_RECORDS))
            raise StateFormatError(f"{where}: unknown record type {name!r} (known: {known})")
        slot = len(self._records)
        self._records.append(None)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, raw in value.items():
            if key == "$type":
                continue
            if key not in fields:
                raise StateFormatError(f"{where}: {name} has no field {key!r}")
            kwargs[key] = self.decode(raw, f"{where}.{key}")
        try:
            record = cls(**kwargs)
        except TypeError as exc:
            raise StateFormatError(f"{where}: {name} is incomplete: {exc}") from None
        self._records[slot] = record
        return record


def export_state(backend: Backend) -> dict[str, Any]:
    """The state of ``backend`` as a state document (see the module docstring)."""
    with backend.lock:
        state = backend.state
        encoder = _Encoder()
        body = {name: encoder.encode(getattr(state, name)) for name in _state_fields()}
        # next() consumes a number: put it back by recreating the counter from it
        next_seq = next(state._seq)
        state._seq = itertools.count(next_seq)
        body["next_seq"] = next_seq
        blocklists = {
            name: list(words)
            for name, words in sorted(backend.blocklists.items())
            if BUILTIN_BLOCKLISTS.get(name) != words
        }
    return {
        "format": FORMAT,
        "version": VERSION,
        "spec_version": SPEC_VERSION,
        "exported_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
        "blocklists": blocklists,
        "state": body,
    }


def _check_header(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise StateFormatError("a state document is a JSON object")
    if document.get("format") != FORMAT:
        raise StateFormatError(
            f"not an emulator state: format is {document.get('format')!r}, expected {FORMAT!r}"
        )
    version = document.get("version")
    if version != VERSION:
        raise StateFormatError(
            f"state format version {version!r}: this emulator reads version {VERSION} only"
        )
    body = document.get("state")
    if not isinstance(body, dict):
        raise StateFormatError("state must be an object of collections")
    blocklists = document.get("blocklists", {})
    if not isinstance(blocklists, dict) or not all(
        isinstance(words, list) and all(isinstance(w, str) for w in words)
        for words in blocklists.values()
    ):
        raise StateFormatError("blocklists must map names to arrays of words")
    return body


def import_state(backend: Backend, document: Any) -> None:
    """Replace the state of ``backend`` with a state document's (all checked first)."""
    body = _check_header(document)
    fresh = _state.State()
    known = _state_fields()
    unknown = sorted(set(body) - set(known) - {"next_seq"})
    if unknown:
        raise StateFormatError(f"state.{unknown[0]}: the emulator has no such collection")
    decoder = _Decoder()
    for name in known:
        if name not in body:
            continue
        value = decoder.decode(body[name], f"state.{name}")
        default = getattr(fresh, name)
        if default is not None and value is not None and type(value) is not type(default):
            raise StateFormatError(
                f"state.{name}: expected {type(default).__name__}, got {type(value).__name__}"
            )
        setattr(fresh, name, value)
    next_seq = body.get("next_seq", 1)
    if isinstance(next_seq, bool) or not isinstance(next_seq, int) or next_seq < 1:
        raise StateFormatError("state.next_seq must be a whole number >= 1")
    fresh._seq = itertools.count(next_seq)
    with backend.lock:
        backend.state = fresh
        for name, words in document.get("blocklists", {}).items():
            backend.blocklists[name] = tuple(words)


def save_dir(backend: Backend, directory: str | os.PathLike[str]) -> Path:
    """Write the state to ``directory/state.json`` (atomically); returns the file's path."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / STATE_FILE
    text = json.dumps(export_state(backend), ensure_ascii=False, separators=(",", ":"))
    fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_dir(backend: Backend, directory: str | os.PathLike[str]) -> Path:
    """Load ``directory/state.json`` (or the file itself when given one)."""
    path = Path(directory)
    if path.is_dir():
        path = path / STATE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StateFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise StateFormatError(f"{path} is not JSON: {exc}") from None
    try:
        import_state(backend, document)
    except StateFormatError as exc:
        raise StateFormatError(f"{path}: {exc}") from None
    return path
