"""Merging the two specs of a release: the v2 spec wins, real conflicts are reported."""

from __future__ import annotations

from typing import Any

from codegen.merge import merge, schema_difference


def doc(paths: dict[str, Any] | None = None, **schemas: Any) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "x", "version": "v1"},
        "paths": paths or {},
        "components": {"schemas": schemas},
    }


def run(primary: dict[str, Any], secondary: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return merge(primary, secondary, primary_name="v2", secondary_name="tasks")


USER = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}


def test_union_of_paths_and_schemas_sorted() -> None:
    v2 = doc({"/b": {"get": {"operationId": "b"}}}, B=USER)
    tasks = doc({"/a": {"post": {"operationId": "a"}}}, A=USER)
    merged, conflicts = run(v2, tasks)
    assert conflicts == []
    assert list(merged["paths"]) == ["/a", "/b"]
    assert list(merged["components"]["schemas"]) == ["A", "B"]
    assert merged["info"] == v2["info"]  # top-level keys come from the v2 spec


def test_identical_definitions_are_silent() -> None:
    merged, conflicts = run(doc(User=USER), doc(User=dict(USER)))
    assert conflicts == []
    assert merged["components"]["schemas"]["User"] == USER


def test_cosmetic_differences_are_silent() -> None:
    documented = {
        **USER,
        "description": "A user",
        "title": "User",
        "x-stream-index": "001",
        "properties": {"id": {"type": "string", "description": "the id", "example": "u1"}},
    }
    merged, conflicts = run(doc(User=USER), doc(User=documented))
    assert conflicts == []
    assert merged["components"]["schemas"]["User"] is USER  # v2's definition, as is


def test_v2_wins_and_the_conflict_is_reported() -> None:
    theirs = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
        },
        "required": [],
    }
    ours = {**USER, "properties": {**USER["properties"], "role": {"type": "string"}}}
    merged, conflicts = run(doc(User=ours), doc(User=theirs))
    assert merged["components"]["schemas"]["User"] is ours
    assert conflicts == [
        "schemas User: v2 and tasks differ (fields only in v2: role; "
        "fields only in the other spec: name; fields defined differently: id; "
        "required fields differ); v2 wins"
    ]


def test_schema_keyword_conflicts_are_named() -> None:
    ours = {"type": "string", "enum": ["a", "b"]}
    theirs = {"type": "string", "enum": ["a"]}
    assert schema_difference(ours, theirs) == "schema keywords differ: enum"
    assert schema_difference({"type": "string"}, {"type": "string", "format": "date-time"}) == (
        "schema keywords differ: format"
    )
    assert schema_difference(ours, {"description": "x", **ours}) is None


def test_same_path_and_method_in_both_v2_wins() -> None:
    v2 = doc({"/x": {"get": {"operationId": "v2_x"}}})
    tasks = doc({"/x": {"get": {"operationId": "task_x"}, "post": {"operationId": "task_post"}}})
    merged, conflicts = run(v2, tasks)
    assert merged["paths"]["/x"] == {
        "get": {"operationId": "v2_x"},
        "post": {"operationId": "task_post"},
    }
    assert conflicts == ["path GET /x: defined in both; v2 wins"]


def test_other_component_sections_are_merged_too() -> None:
    v2 = doc()
    v2["components"]["securitySchemes"] = {"JWT": {"type": "http", "scheme": "bearer"}}
    tasks = doc()
    tasks["components"]["securitySchemes"] = {
        "JWT": {"type": "apiKey", "in": "header", "name": "Authorization"},
        "api_key": {"type": "apiKey", "in": "query", "name": "api_key"},
    }
    merged, conflicts = run(v2, tasks)
    assert merged["components"]["securitySchemes"] == {
        "JWT": {"type": "http", "scheme": "bearer"},
        "api_key": {"type": "apiKey", "in": "query", "name": "api_key"},
    }
    assert len(conflicts) == 1
    assert conflicts[0] == (
        "securitySchemes JWT: v2 and tasks differ "
        "(schema keywords differ: in, name, scheme, type); v2 wins"
    )


def test_inputs_are_not_changed() -> None:
    v2 = doc({"/x": {"get": {"operationId": "x"}}}, User=USER)
    tasks = doc({"/x": {"post": {"operationId": "y"}}}, Other=USER)
    snapshot = (repr(v2), repr(tasks))
    run(v2, tasks)
    assert (repr(v2), repr(tasks)) == snapshot
