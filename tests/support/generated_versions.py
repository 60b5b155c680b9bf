"""The generated packages the central codegen tests run against, and what they are checked with.

Nothing here names a release: ``PINNED`` is the release the lock says the committed
``stream_moderation._generated`` is built from, ``DEFAULT`` the project's release of record
(the tests fail where the emulator has no semantics for one of its operations, and only
warn for any other release), and ``OTHER`` a second release from the lock (the newest
other one; ``STREAM_TEST_OTHER_RELEASE`` names another, or none when empty), generated
into a scratch folder as ``make generate SPEC_VERSION=...`` would and imported under its
own name, so the same tests prove that regenerating after a spec update works with no
handwritten change. Each package is built once per test session.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import importlib
import os
import pkgutil
import re
import shutil
import sys
import tempfile
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import attrs

from codegen import specs
from codegen.generate import generate


def release_order(version: str) -> tuple[int, ...]:
    """Sort key of a release name (v228.10.2 < v233.27.0 < v236.0.4)."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _other_release(pinned: str) -> str | None:
    chosen = os.environ.get("STREAM_TEST_OTHER_RELEASE")
    if chosen is not None:
        return chosen or None
    others = [v for v in specs.load_lock()["versions"] if v != pinned]
    return max(others, key=release_order, default=None)


def _class_overrides() -> dict[str, str]:
    from openapi_python_client.config import ConfigFile

    from codegen.generate import CONFIG

    overrides = ConfigFile.load_from_path(CONFIG).class_overrides or {}
    return {key: o.class_name.get_untrusted_value() for key, o in overrides.items() if o.class_name}


CLASS_OVERRIDES = _class_overrides()
"""Schema key -> class name, where codegen's config names a class otherwise."""
_SCHEMA_OF_CLASS = {cls: key for key, cls in CLASS_OVERRIDES.items()}


def class_name(schema: str) -> str:
    """The name of the class generated from a component schema."""
    return CLASS_OVERRIDES.get(schema, schema)


def schema_name(cls: str) -> str:
    """The component schema a generated class comes from."""
    return _SCHEMA_OF_CLASS.get(cls, cls)


PINNED = specs.pinned_version()
DEFAULT = specs.default_version()
OTHER = _other_release(PINNED)
VERSIONS = [PINNED, *([OTHER] if OTHER else [])]
SPEC_FILES = ("moderation-serverside-api.yaml", "moderation-openapi.yaml")


@dataclass
class Generated:
    version: str
    package: types.ModuleType
    """The generated package (``..._generated``)."""
    spec: dict[str, Any]
    """The normalised, merged spec it was generated from (its spec.json)."""
    raw: dict[str, dict[str, Any]] = field(repr=False)
    """The two upstream files, as pinned, unnormalised."""

    @property
    def name(self) -> str:
        return self.package.__name__

    def module(self, relative: str) -> types.ModuleType:
        return importlib.import_module(f"{self.name}.{relative}")

    def model(self, name: str) -> Any:
        """The class of a component schema (by the schema's key)."""
        return getattr(self.module("models"), class_name(name))

    @property
    def types(self) -> types.ModuleType:
        """The runtime its models are built on (handwritten, shared by every release)."""
        return importlib.import_module("stream_moderation._types")

    @property
    def errors(self) -> types.ModuleType:
        return importlib.import_module("stream_moderation._errors")


def _raw_specs(version: str) -> dict[str, dict[str, Any]]:
    paths = specs.materialise(version)
    return {name: specs.check_spec_bytes(name, paths[name].read_bytes()) for name in SPEC_FILES}


@functools.cache
def generated(version: str) -> Generated:
    import json

    if version == PINNED:
        package = importlib.import_module("stream_moderation._generated")
        assert package.SPEC_VERSION == PINNED, (
            f"the committed package is {package.SPEC_VERSION}, the lock pins {PINNED}: "
            "run `make generate`"
        )
    else:
        # what `make generate SPEC_VERSION=...` does, into a scratch package
        scratch = Path(tempfile.mkdtemp(prefix="stream-moderation-regen-"))
        atexit.register(shutil.rmtree, scratch, True)
        name = "regenerated_" + version.replace(".", "_")
        assert generate(version, package_dir=scratch / name, api_map=scratch / "api.md") == []
        sys.path.insert(0, str(scratch))
        package = importlib.import_module(name)
        assert version == package.SPEC_VERSION
    assert package.__file__ is not None
    spec = json.loads((Path(package.__file__).parent / "spec.json").read_text())
    return Generated(version=version, package=package, spec=spec, raw=_raw_specs(version))


def import_all(package: types.ModuleType) -> list[str]:
    """Import every module of a package; return their names."""
    names = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
    return names


# ---------------------------------------------------------------------------------------
# Payloads built from the spec
# ---------------------------------------------------------------------------------------

BASE_NS = 1_715_679_472_123_456_789
UNKNOWN_ENUM = "zz_value_from_the_future"
UNKNOWN_FIELD = "zz_field_from_the_future"
UNKNOWN_FIELD_VALUE: dict[str, Any] = {"nested": [1, "two", {"three": None}], "flag": True}
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
PST = dt.timezone(dt.timedelta(hours=-8))


def rfc3339(ns: int, tz: dt.tzinfo = dt.UTC) -> str:
    seconds, fraction = divmod(ns, 1_000_000_000)
    local = dt.datetime.fromtimestamp(seconds, tz)
    offset = local.strftime("%z")
    zone = "Z" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}"
    return f"{local:%Y-%m-%dT%H:%M:%S}.{fraction:09d}{zone}"


class PayloadBuilder:
    """Real-shaped JSON for any schema of a spec: every field, nested models, maps, arrays.

    - ``timestamps``: "ns" (integers), "rfc3339" (strings, 9 digits, UTC), "numeric"
      (digits in a string) or "mixed" (the three, RFC 3339 with +05:30 and -08:00 offsets).
      Every timestamp is distinct; ``stamps`` lists their unix nanoseconds in order.
    - ``enum``: a value for enum fields other than the spec's (an unknown value);
      ``enum_fields`` counts them, ``spec_enum_fields`` those the spec itself enumerates.
    - ``nulls``: optional object, array and map fields are null.
    - ``unknown_fields``: every object gets a field the spec does not describe.
    - below ``full_depth`` nested models only get their required fields.
    """

    def __init__(
        self,
        spec: dict[str, Any],
        *,
        timestamps: str = "ns",
        enum: str | None = None,
        nulls: bool = False,
        unknown_fields: bool = False,
        full_depth: int = 2,
    ) -> None:
        self.schemas = spec["components"]["schemas"]
        self.timestamps = timestamps
        self.enum = enum
        self.nulls = nulls
        self.unknown_fields = unknown_fields
        self.full_depth = full_depth
        self.stamps: list[int] = []
        self.enum_fields = 0
        self.spec_enum_fields = 0  # not counting the documented ones (x-documented-enum)

    def build(self, name: str) -> dict[str, Any]:
        return self._named(name, 0)

    def _named(self, name: str, depth: int) -> Any:
        schema = self.schemas[name]
        if schema.get("type") == "object" or "properties" in schema:
            return self._object(schema, depth)  # a model, even with no fields
        return self._value(schema, depth, name)

    def _timestamp(self) -> int | str:
        ns = BASE_NS + 1_000_003 * len(self.stamps) * (1 if len(self.stamps) % 2 else -1)
        self.stamps.append(ns)
        mode = self.timestamps
        if mode == "mixed":
            mode = ("ns", "rfc3339", "numeric", "ist", "pst")[len(self.stamps) % 5]
        if mode == "ns":
            return ns
        if mode == "numeric":
            return str(ns)
        return rfc3339(ns, {"ist": IST, "pst": PST}.get(mode, dt.UTC))

    def _value(self, schema: dict[str, Any], depth: int, name: str) -> Any:
        if "$ref" in schema:
            return self._named(schema["$ref"].rsplit("/", 1)[-1], depth + 1)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self._value(schema[key][0], depth, name)
        kind = schema.get("type")
        if "enum" in schema:
            self.enum_fields += 1
            self.spec_enum_fields += "x-documented-enum" not in schema
            return self.enum if self.enum is not None else schema["enum"][-1]
        if kind == "string" and schema.get("format") == "date-time":
            return self._timestamp()
        if kind == "string":
            return f"{name}-value"
        if kind == "integer":
            return 7
        if kind == "number":
            return 2.5
        if kind == "boolean":
            return True
        if kind == "array":
            return [self._value(schema.get("items", {}), depth, name)]
        if kind == "object" and not schema.get("properties"):
            values = schema.get("additionalProperties")
            if isinstance(values, dict) and values:
                return {"key1": self._value(values, depth, name)}
            return {"custom_field": "x", "score": 1, "nested": {"a": [1, 2]}}
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        return {"any": ["json", 1]}

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for prop, sub in sorted(schema.get("properties", {}).items()):
            if prop not in required and depth >= self.full_depth:
                continue
            if self.nulls and prop not in required and self._is_container(sub):
                out[prop] = None
                continue
            out[prop] = self._value(sub, depth, prop)
        if self.unknown_fields:
            out[UNKNOWN_FIELD] = UNKNOWN_FIELD_VALUE
        return out

    def _is_container(self, schema: dict[str, Any]) -> bool:
        if "$ref" in schema:
            target = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
            return target.get("type") == "object" or "properties" in target
        return schema.get("type") in ("object", "array")


# ---------------------------------------------------------------------------------------
# Walking parsed models
# ---------------------------------------------------------------------------------------


@dataclass
class Walk:
    """What a walk over a parsed model found."""

    models: int = 0
    stamps: list[int] = field(default_factory=list)
    unknown_enums: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def walk(model: Any, gen: Generated) -> Walk:
    """Check every field of a parsed model against its declared type, recursively.

    A dict where a model is declared (or a str where an enum is) is a problem; every
    timestamp is read (as a Timestamp) and its unix nanoseconds collected.
    """
    result = Walk()
    _walk_model(model, gen, result, type(model).__name__)
    return result


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _walk_model(model: Any, gen: Generated, result: Walk, path: str) -> None:
    result.models += 1
    cls = type(model)
    hints = _hints(cls)
    timestamp_type = gen.types.Timestamp
    for f in attrs.fields(cls):
        if not f.init:  # the model's own bookkeeping (nulls received, nulls dropped)
            continue
        if f.name == "additional_properties":
            if not isinstance(model.additional_properties, dict):
                result.problems.append(f"{path}.additional_properties is not a dict")
            continue
        where = f"{path}.{f.alias}"
        stamp_converters = (gen.types.timestamp_to_wire, gen.types.optional_timestamp_to_wire)
        if f.name.startswith("_") and f.converter not in stamp_converters:
            # a field of models, kept as received until its property (the alias) reads it
            hint = typing.get_type_hints(getattr(cls, f.alias).fget)["return"]
            _walk_value(getattr(model, f.alias), hint, gen, result, where)
            continue
        if f.name.startswith("_"):  # a timestamp: stored as received, read as Timestamp
            value = getattr(model, f.alias)
            if value is None:
                continue
            if type(value) is not timestamp_type or value.tzinfo is None:
                result.problems.append(f"{where} read as {type(value).__name__}")
            else:
                result.stamps.append(value.unix_ns)
            continue
        _walk_value(getattr(model, f.name), hints[f.name], gen, result, where)


def _walk_value(value: Any, hint: Any, gen: Generated, result: Walk, where: str) -> None:
    if value is None:
        return
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        literals = [a for a in members if typing.get_origin(a) is typing.Literal]
        if literals and gen.types.UnknownValue in members:  # an enum: listed or unknown
            listed = {v for literal in literals for v in typing.get_args(literal)}
            if isinstance(value, gen.types.UnknownValue):
                result.unknown_enums.append(where)
            elif type(value) is not str or value not in listed:
                result.problems.append(f"{where}: {value!r} is neither listed nor UnknownValue")
            return
        assert len(members) == 1, f"{where}: unexpected union {hint}"
        hint = members[0]
        origin = typing.get_origin(hint)
    if origin is list:
        if type(value) is not list:
            result.problems.append(f"{where}: {type(value).__name__} where a list is declared")
            return
        for item in value:
            _walk_value(item, typing.get_args(hint)[0], gen, result, f"{where}[]")
    elif origin is dict:
        if type(value) is not dict:
            result.problems.append(f"{where}: {type(value).__name__} where a dict is declared")
            return
        for item in value.values():
            _walk_value(item, typing.get_args(hint)[1], gen, result, f"{where}{{}}")
    elif hint is Any:
        if attrs.has(type(value)):
            result.problems.append(f"{where}: a model where free JSON is declared")
    elif attrs.has(hint):
        if not isinstance(value, hint):
            result.problems.append(f"{where}: {type(value).__name__} poses as {hint.__name__}")
            return
        _walk_model(value, gen, result, where)
    elif hint is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            result.problems.append(f"{where}: {value!r} is not a number")
    elif hint in (str, int, bool):
        if type(value) is not hint:
            result.problems.append(f"{where}: {value!r} is not {hint.__name__}")
    else:
        result.problems.append(f"{where}: unexpected declared type {hint!r}")
