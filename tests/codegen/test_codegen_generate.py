"""`make generate` on tiny releases: it writes the package, and bad specs stop it cleanly.

Each test pins a small hand-made release in a temporary lock and generates into a
temporary package folder, so nothing here touches the committed ``_generated/``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen import __main__ as cli
from codegen import specs
from codegen.generate import GenerationError, generate

VERSION = "v9.9.9"


def ok(schema: str) -> dict[str, Any]:
    return {
        "description": "ok",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


V2: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "v2", "version": VERSION},
    "paths": {
        "/api/v2/moderation/check": {
            "post": {
                "operationId": "check",
                "tags": ["product:moderation"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/CheckRequest"}
                        }
                    },
                },
                "responses": {"201": ok("CheckResponse")},
            }
        },
        "/api/v2/moderation/rule/{id}": {
            "get": {"operationId": "get_rule", "responses": {"200": ok("CheckResponse")}}
        },
    },
    "components": {
        "schemas": {
            "CheckRequest": {
                "type": "object",
                "nullable": True,
                "title": "Request",
                "required": ["entity_id"],
                "properties": {
                    "entity_id": {"type": "string"},
                    "custom": {"type": "object", "additionalProperties": {}},
                },
            },
            "CheckResponse": {
                "type": "object",
                "title": "Response",
                "required": ["created_at", "duration"],
                "properties": {
                    "created_at": {"type": "number", "format": "date-time"},
                    "duration": {"type": "string"},
                    "at": {"$ref": "#/components/schemas/Time"},
                    "status": {"type": "string", "enum": ["complete", "partial"]},
                },
            },
            "Time": {"type": "object"},
        }
    },
}
TASKS: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "tasks", "version": VERSION},
    "paths": {
        "/api/v1/moderation/tasks": {
            "get": {"operationId": "ListTasks", "responses": {"200": ok("ListTasksResponse")}}
        },
        "/automod/v1/tasks": {
            "get": {"operationId": "ListTasks", "responses": {"200": ok("ListTasksResponse")}}
        },
        "/api/v1/moderation/dashboard/x": {
            "get": {"operationId": "Dash", "responses": {"400": {"description": "bad"}}}
        },
    },
    "components": {
        "schemas": {
            "ListTasksResponse": {
                "type": "object",
                "properties": {"tasks": {"type": "array", "items": {"type": "string"}}},
            }
        }
    },
}


@pytest.fixture
def release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Pin a release made of the given documents (or bytes) in a temporary lock."""
    openapi = tmp_path / "openapi"
    openapi.mkdir()
    lock = openapi / "specs.lock.json"
    lock.write_text(
        json.dumps({"pinned": VERSION, "upstream": {"raw_url": "{commit}/{path}"}, "versions": {}})
    )
    monkeypatch.setenv("STREAM_SPECS_LOCK", str(lock))
    monkeypatch.setenv("STREAM_SPECS_SHARED_DIR", str(tmp_path / "no-shared"))

    def make(v2: Any = V2, tasks: Any = TASKS) -> Path:
        folder = tmp_path / "release"
        folder.mkdir(exist_ok=True)
        files = {}
        for name, doc in (
            ("moderation-serverside-api.yaml", v2),
            ("moderation-openapi.yaml", tasks),
        ):
            data = doc if isinstance(doc, bytes) else yaml.safe_dump(doc).encode()
            (folder / name).write_bytes(data)
            files[name] = {"path": name, "sha256": hashlib.sha256(data).hexdigest()}
        # written directly, not with specs.pin: these tests are about what generate refuses
        entry = {"source": str(folder), "files": files}
        lock.write_text(json.dumps({**json.loads(lock.read_text()), "versions": {VERSION: entry}}))
        return openapi / VERSION

    return make


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def target(tmp_path: Path) -> dict[str, Path]:
    """A package folder and API map holding a previous generation."""
    package = tmp_path / "pkg" / "_generated"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("# previous generation\n")
    (package / "models" / "stale.py").write_text("# a model that no longer exists\n")
    api_map = tmp_path / "pkg" / "api.md"
    api_map.write_text("# previous map\n")
    return {"package": package, "api_map": api_map}


def run(target: dict[str, Path], check: bool = False) -> list[str]:
    return generate(VERSION, check=check, package_dir=target["package"], api_map=target["api_map"])


def test_generates_a_tiny_release(release: Callable[..., Path], target: dict[str, Path]) -> None:
    release()
    assert run(target) == []
    files = set(snapshot(target["package"]))
    assert "models/stale.py" not in files  # the previous generation is replaced, not merged
    assert {
        "__init__.py",
        "api/moderation/check.py",
        "api/moderation/get_rule.py",
        "api/moderation/list_tasks.py",
        "api/moderation/dash.py",
        "models/__init__.py",
        "models/check_request.py",
        "models/check_response.py",
        "models/check_response_status.py",
        "models/list_tasks_response.py",
        "resources.py",
        "sync_resources.py",
        "events.py",
        "spec.json",
        "py.typed",
    } <= files
    assert not any(f.startswith("client") or "time" in f for f in files)
    assert not {"types.py", "errors.py"} & files  # the runtime is handwritten (_types, _errors)
    api_map = target["api_map"].read_text()
    assert f"# API map (spec {VERSION})" in api_map
    assert "| `get_rule` | `GET /api/v2/moderation/rule/{id}` | id | CheckResponse |" in api_map
    assert "- `list_tasks`: /automod/v1/tasks" in api_map
    assert not list(target["package"].parent.glob("_generated.*"))  # no staging leftovers
    init = (target["package"] / "__init__.py").read_text()
    assert f'SPEC_VERSION = "{VERSION}"' in init


def test_check_lists_the_files_that_differ(
    release: Callable[..., Path], target: dict[str, Path]
) -> None:
    release()
    run(target)
    assert run(target, check=True) == []
    (target["package"] / "models" / "check_response.py").write_text("# edited by hand\n")
    (target["package"] / "models" / "extra.py").write_text("")
    (target["package"] / "events.py").unlink()
    target["api_map"].write_text("edited")
    assert run(target, check=True) == [
        "_generated/events.py",
        "_generated/models/check_response.py",
        "_generated/models/extra.py",
        "api.md",
    ]
    before = snapshot(target["package"])
    run(target, check=True)
    assert snapshot(target["package"]) == before  # --check never writes


def test_check_without_a_package(release: Callable[..., Path], tmp_path: Path) -> None:
    release()
    diffs = generate(
        VERSION, check=True, package_dir=tmp_path / "none", api_map=tmp_path / "none.md"
    )
    assert diffs == ["_generated/ (missing)", "none.md"]


def with_change(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    doc = copy.deepcopy(V2)
    change(doc)
    return doc


def props(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]["CheckResponse"]["properties"]  # type: ignore[no-any-return]


BAD_SPECS: dict[str, tuple[Any, str]] = {
    "not YAML": (b"openapi: [3.0\n  : :\n", "moderation-serverside-api.yaml: not valid YAML"),
    "not OpenAPI": (
        b"swagger: '2.0'\ninfo: {}\n",
        "moderation-serverside-api.yaml: not an OpenAPI 3 document",
    ),
    "normalisation refuses": (
        with_change(
            lambda d: d["paths"]["/api/v2/moderation/check"].update(
                get={"operationId": "check", "responses": {"200": ok("CheckResponse")}}
            )
        ),
        "moderation-serverside-api.yaml: operationId check is used by GET "
        "/api/v2/moderation/check and POST /api/v2/moderation/check: not an alias",
    ),
    "generator warns": (
        with_change(lambda d: props(d).update(bad={"$ref": "#/components/schemas/Nope"})),
        "the generator reported (--fail-on-warning):\n- WARNING: ",
    ),
    "template refuses a union": (
        with_change(
            lambda d: props(d).update(u={"oneOf": [{"type": "string"}, {"type": "integer"}]})
        ),
        "template refused the spec: unsupported union u",
    ),
    "template refuses an integer enum": (
        with_change(lambda d: props(d).update(level={"type": "integer", "enum": [1, 2]})),
        "template refused the spec: integer enums are not supported: CheckResponseLevel",
    ),
    "template refuses timestamps in an array": (
        with_change(
            lambda d: props(d).update(
                times={"type": "array", "items": {"type": "number", "format": "date-time"}}
            )
        ),
        "template refused the spec: timestamps inside arrays or maps are not supported",
    ),
    "event type without schema": (
        with_change(
            lambda d: d["components"]["schemas"].update(
                WHEvent={
                    "oneOf": [{"$ref": "#/components/schemas/CheckResponse"}],
                    "discriminator": {
                        "propertyName": "type",
                        "mapping": {"x.y": "#/components/schemas/Missing"},
                    },
                }
            )
        ),
        "event types refer to schemas that do not exist: Missing",
    ),
    "ambiguous page field": (
        with_change(
            lambda d: (
                d["components"]["schemas"]["CheckRequest"]["properties"].update(
                    next={"type": "string"}
                ),
                props(d).update(
                    next={"type": "string"},
                    a={"type": "array", "items": {"$ref": "#/components/schemas/CheckRequest"}},
                    b={"type": "array", "items": {"$ref": "#/components/schemas/CheckRequest"}},
                ),
            )
        ),
        "POST /api/v2/moderation/check: paginated (next/prev), but no single page field "
        "among the response's arrays of models: ['a', 'b']",
    ),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_spec_stops_with_path_and_reason_and_writes_nothing(
    release: Callable[..., Path], target: dict[str, Path], case: str
) -> None:
    v2, reason = BAD_SPECS[case]
    spec_dir = release(v2=v2)
    before, map_before = snapshot(target["package"]), target["api_map"].read_bytes()
    with pytest.raises(GenerationError) as info:
        run(target)
    message = str(info.value)
    assert reason in message
    assert str(spec_dir / "moderation-serverside-api.yaml") in message
    assert snapshot(target["package"]) == before
    assert target["api_map"].read_bytes() == map_before
    assert sorted(p.name for p in target["package"].parent.iterdir()) == ["_generated", "api.md"]


def test_missing_spec_file_stops_generate(
    release: Callable[..., Path], target: dict[str, Path]
) -> None:
    release()
    (target["package"].parent.parent / "release" / "moderation-openapi.yaml").unlink()
    before = snapshot(target["package"])
    with pytest.raises(specs.SpecError, match=r"moderation-openapi\.yaml: not in"):
        run(target)
    assert snapshot(target["package"]) == before


def test_cli_reports_a_bad_spec(
    release: Callable[..., Path],
    target: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    release(v2=BAD_SPECS["template refuses a union"][0])
    bound = functools.partial(generate, package_dir=target["package"], api_map=target["api_map"])
    monkeypatch.setattr(cli, "generate", bound)
    assert cli.main(["generate", "--version", VERSION]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: spec {VERSION} (")
    assert "template refused the spec: unsupported union u" in err
