"""No silent loss: every operation and schema of the pinned raw specs is in the generated code.

Run against the committed package (the pinned release) and against another release of the
lock regenerated into a scratch folder: the same checks, with every count and list taken
from the raw specs, prove that a spec update regenerates completely.
"""

from __future__ import annotations

import inspect
import pkgutil
import subprocess
import sys
import typing
from typing import Any

import attrs
import pytest

from codegen.generate import _python_name
from codegen.normalise import ALIAS_PATH_PREFIX, HTTP_METHODS
from tests.support.generated_versions import (
    VERSIONS,
    Generated,
    PayloadBuilder,
    class_name,
    generated,
    import_all,
    schema_name,
)

pytestmark = pytest.mark.slow

# Component schemas that are deliberately not classes.
NOT_CLASSES = {
    "Time": "Go's time.Time (an empty object): fields referring to it are timestamps",
    "WHEvent": "the webhook event union: events.EVENT_MODELS dispatches on `type`",
}


@pytest.fixture(scope="module", params=VERSIONS)
def gen(request: pytest.FixtureRequest) -> Generated:
    return generated(request.param)


def raw_operations(gen: Generated) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """operationId -> every (METHOD, path, operation) carrying it, in both raw files."""
    ops: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for doc in gen.raw.values():
        for path, item in doc["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    op = item[method]
                    ops.setdefault(op["operationId"], []).append((method.upper(), path, op))
    return ops


def ref_name(holder: dict[str, Any]) -> str | None:
    schema = holder.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def resource_method(cls: type[Any], name: str) -> Any:
    """The function behind ``client.moderation.<name>``: the method itself, or for a
    paginated query (a method object, with ``.iter()``) its ``__call__``."""
    attribute = inspect.getattr_static(cls, name)
    if inspect.isfunction(attribute):
        return attribute
    return type(getattr(cls(None), name)).__call__


def test_operation_count(gen: Generated) -> None:
    """One SDK operation per distinct operationId of the two raw files, v2 ones included."""
    table = gen.module("api").OPERATIONS
    assert len(table) == len(raw_operations(gen))
    v2 = gen.raw["moderation-serverside-api.yaml"]
    v2_ops = {op["operationId"] for item in v2["paths"].values() for op in item.values()}
    generated_v2 = {name for name, (_, path, _) in table.items() if path.startswith("/api/v2/")}
    assert generated_v2 == {_python_name(op_id) for op_id in v2_ops}


def test_every_operation_has_an_endpoint_module_and_resource_methods(gen: Generated) -> None:
    ops = raw_operations(gen)
    resources = gen.module("resources")
    sync_resources = gen.module("sync_resources")
    table = gen.module("api").OPERATIONS
    names = {_python_name(op_id) for op_id in ops}
    assert len(names) == len(ops)  # distinct ids stay distinct as Python names
    assert set(table) == names
    modules = {m.name for m in pkgutil.iter_modules(gen.module("api.moderation").__path__)}
    assert modules == names  # nothing lost, nothing extra

    for op_id, places in sorted(ops.items()):
        name = _python_name(op_id)
        module = gen.module(f"api.moderation.{name}")
        operation = module.OPERATION
        method, path, raw = next(
            (m, p, o) for m, p, o in places if (m, p) == (operation.method, operation.path)
        )
        assert not path.startswith(ALIAS_PATH_PREFIX), f"{op_id}: kept an alias path"
        assert {m for m, _, _ in places} == {method}
        assert table[name] == (method, path, name)
        assert operation.name == name

        # the response model is the one the spec names (dashboards: free-form JSON)
        success = {c: r for c, r in raw.get("responses", {}).items() if str(c).startswith("2")}
        if success:
            code, response = min(success.items())
            assert operation.success_status == int(code)
            assert operation.response_type is gen.model(ref_name(response) or "")
        else:
            assert operation.response_type is None, op_id

        # every path and query parameter and every body field is an argument
        params = inspect.signature(module.build_request).parameters
        declared = [p for p in raw.get("parameters", []) if p.get("in") in ("path", "query")]
        undeclared_path = [
            seg
            for seg in path.split("/")
            if seg.startswith("{")
            and seg[1:-1] not in {p["name"] for p in declared if p["in"] == "path"}
        ]
        body_fields: set[str] = set()
        if "requestBody" in raw:
            body = gen.model(ref_name(raw["requestBody"]) or "")
            body_fields = {
                f.alias for f in attrs.fields(body) if f.init and f.name != "additional_properties"
            }
            assert body_fields <= set(params), f"{op_id}: body fields missing from build_request"
        assert len(params) == len(declared) + len(undeclared_path) + len(body_fields), op_id

        # async and sync resource methods with the same arguments
        async_method = resource_method(resources.AsyncModerationResource, name)
        sync_method = resource_method(sync_resources.ModerationResource, name)
        assert inspect.iscoroutinefunction(async_method), name
        assert not inspect.iscoroutinefunction(sync_method), name
        async_params = inspect.signature(async_method).parameters
        assert async_params == inspect.signature(sync_method).parameters
        assert set(params) <= set(async_params)

        # a cursor-paginated query is a method object whose .iter() takes the same
        # arguments without the cursors, plus max_items; only those are
        paginated = not inspect.isfunction(
            inspect.getattr_static(resources.AsyncModerationResource, name)
        )
        assert paginated == (operation.items_field is not None), name
        if paginated:
            expected = set(async_params) - {"next", "prev"} | {"max_items"}
            for cls in (resources.AsyncModerationResource, sync_resources.ModerationResource):
                method_object = getattr(cls(None), name)
                assert set(inspect.signature(method_object.iter).parameters) == expected - {
                    "self"
                }, name


def test_every_component_schema_has_a_model(gen: Generated) -> None:
    models = gen.module("models")
    raw_names = set().union(*(doc["components"]["schemas"] for doc in gen.raw.values()))
    missing = {name for name in raw_names if class_name(name) not in models.__all__}
    assert missing == set(NOT_CLASSES)
    merged = gen.spec["components"]["schemas"]
    for name in sorted(raw_names - set(NOT_CLASSES)):
        cls = gen.model(name)
        schema = merged[name]
        if "enum" in schema:
            assert typing.get_origin(cls) is typing.Literal, name
            assert set(typing.get_args(cls)) == set(schema["enum"]), name
            continue
        assert attrs.has(cls), name
        fields = sys.modules[cls.__module__]._FIELDS
        assert fields == set(schema.get("properties", {})), name
        # the required fields are required: a payload of just those parses; less does not
        # when read completely, and reads with the field None when read leniently
        minimal = PayloadBuilder(gen.spec, full_depth=0).build(name)
        attribute = {wire: py for py, wire in sys.modules[cls.__module__]._REQUIRED_NAMES.items()}
        # (a required name the schema does not declare, e.g. ChannelConfigWithInfo's
        # message_retention, has no type: it is kept in additional_properties)
        declared = schema.get("properties", {})
        assert set(minimal) == set(schema.get("required", [])) & set(declared), name
        cls.from_dict(minimal, strict=True)
        for field in minimal:
            less = {k: v for k, v in minimal.items() if k != field}
            with pytest.raises(gen.errors.ParseError) as info:
                cls.from_dict(less, complete=True)
            assert str(info.value) == f"{class_name(name)}.{field}: required field is missing"
            lenient = cls.from_dict(less)
            assert getattr(lenient, attribute[field]) is None, (name, field)
            assert attribute[field] not in lenient.fields_set
            assert field not in lenient.to_dict()


def test_models_package_lists_classes_only(gen: Generated) -> None:
    models = gen.module("models")
    raw_names = set().union(*(doc["components"]["schemas"] for doc in gen.raw.values()))
    for name in models.__all__:
        value = getattr(models, name)
        # a model class, or an enum: the Literal of its values
        is_enum = typing.get_origin(value) is typing.Literal
        assert is_enum or (isinstance(value, type) and value.__name__ == name), name
        assert attrs.has(value) or is_enum, name
        if schema_name(name) not in raw_names:
            # inline enums get a name of their own; inline objects (free-form maps) do not
            assert is_enum, name
    modules = {m.name for m in pkgutil.iter_modules(models.__path__)}
    assert modules == set(models._MODULES.values())
    assert set(models._MODULES) == set(models.__all__)


def test_event_table(gen: Generated) -> None:
    events = gen.module("events").EVENT_MODELS
    mapping = gen.spec["components"]["schemas"]["WHEvent"]["discriminator"]["mapping"]
    assert set(mapping) <= set(events)
    for event_type, name in events.items():
        cls = gen.model(name)
        default = attrs.fields_dict(cls)["type"].default
        if event_type in mapping:
            assert mapping[event_type].endswith(f"/{name}")
        else:
            assert default == event_type
    # every event of the raw files: the WHEvent mapping and the schemas marked as events
    raw_events = set(mapping)
    for doc in gen.raw.values():
        for schema in doc["components"]["schemas"].values():
            if schema.get("x-stream-is-event"):
                raw_events.add(schema.get("properties", {}).get("type", {}).get("default"))
    assert set(events) == raw_events - {None}


def test_every_generated_module_imports(gen: Generated) -> None:
    names = import_all(gen.package)
    assert len(names) > 300
    for name in names:
        module = sys.modules[name]
        source = (
            inspect.getsource(module) if module.__file__ and module.__file__.endswith(".py") else ""
        )
        if source:
            assert source.startswith("# Generated by stream-moderation codegen"), name


def test_spec_json_is_what_was_generated(gen: Generated) -> None:
    assert gen.spec["info"]["version"] == gen.version
    assert "Time" not in gen.spec["components"]["schemas"]


def test_models_import_lazily() -> None:
    code = (
        "import sys\n"
        "from stream_moderation.models import CheckResponse\n"
        "n = sum(1 for m in sys.modules if m.startswith('stream_moderation._generated.models.'))\n"
        "from stream_moderation._generated import models\n"
        "print(n, len(models.__all__))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, total = map(int, out.stdout.split())
    assert total > 250
    assert loaded < total / 2  # CheckResponse and what it refers to, not everything


def test_public_models_module_reexports_every_model() -> None:
    import stream_moderation.models as public
    from stream_moderation._generated import models

    for name in models.__all__:
        assert getattr(public, name) is getattr(models, name)
    assert set(public.__all__) == {*models.__all__, "ParseError", "Timestamp", "UnknownValue"}
    with pytest.raises(AttributeError):
        public.NoSuchModel  # noqa: B018


def test_api_map_lists_every_operation() -> None:
    from codegen.generate import API_MAP
    from stream_moderation._generated.api import OPERATIONS

    text = API_MAP.read_text()
    for name, (method, path, _) in OPERATIONS.items():
        assert f"| `{name}` | `{method} {path}` |" in text
