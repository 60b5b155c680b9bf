"""Each normalisation transform on its own, on small hand-made specs: before, after, notes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from codegen import normalise as n


def spec(paths: dict[str, Any] | None = None, **schemas: Any) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "v1"},
        "paths": paths or {},
        "components": {"schemas": schemas},
    }


def op(op_id: str, **extra: Any) -> dict[str, Any]:
    return {"operationId": op_id, "responses": {"200": {"description": "ok"}}, **extra}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# --- drop_schema_level_nullable -------------------------------------------------------


def test_drop_schema_level_nullable_only_touches_component_schemas() -> None:
    doc = spec(
        A={"type": "object", "nullable": True, "properties": {"x": {"type": "string"}}},
        B={"type": "object", "properties": {"y": {"type": "string", "nullable": True}}},
    )
    notes = n.drop_schema_level_nullable(doc)
    assert notes == ["schema A: dropped schema-level nullable"]
    assert "nullable" not in doc["components"]["schemas"]["A"]
    # field-level nullability is what the templates read as "optional": kept
    assert doc["components"]["schemas"]["B"]["properties"]["y"]["nullable"] is True


def test_drop_schema_level_nullable_also_drops_false() -> None:
    doc = spec(A={"type": "object", "nullable": False})
    assert n.drop_schema_level_nullable(doc) == ["schema A: dropped schema-level nullable"]
    assert doc["components"]["schemas"]["A"] == {"type": "object"}


def test_drop_schema_level_nullable_no_change_no_notes() -> None:
    doc = spec(A={"type": "object"})
    before = copy.deepcopy(doc)
    assert n.drop_schema_level_nullable(doc) == []
    assert doc == before


# --- drop_titles ------------------------------------------------------------------------


def test_drop_titles_everywhere() -> None:
    doc = spec(
        {
            "/x": {
                "post": op(
                    "x",
                    parameters=[
                        {"name": "q", "in": "query", "schema": {"type": "string", "title": "Q"}}
                    ],
                    requestBody={
                        "content": {"application/json": {"schema": {"title": "Body", **ref("A")}}}
                    },
                )
            }
        },
        A={
            "title": "Response",
            "type": "object",
            "properties": {
                "f": {"title": "F", "type": "array", "items": {"title": "I", "type": "string"}},
                "g": {"oneOf": [{"title": "G1", "type": "string"}]},
                "h": {"type": "object", "additionalProperties": {"title": "H", "type": "string"}},
            },
        },
        B={"title": "Response", "type": "object"},
    )
    assert n.drop_titles(doc) == ["dropped 8 schema titles"]
    assert "'title'" not in str(doc["paths"]) + str(doc["components"])
    assert doc["info"]["title"] == "t"  # the document's own title is not a schema title


def test_drop_titles_leaves_a_property_named_title() -> None:
    doc = spec(A={"type": "object", "properties": {"title": {"type": "string"}}})
    before = copy.deepcopy(doc)
    assert n.drop_titles(doc) == []
    assert doc == before


# --- declare_path_parameters --------------------------------------------------------------


def test_declare_path_parameters_adds_undeclared_ones() -> None:
    declared = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
    doc = spec(
        {
            "/rule/{id}": {"get": op("get_rule"), "delete": op("delete_rule")},
            "/config/{key}": {"get": op("get_config", parameters=[declared])},
            "/shared/{key}/{id}": {
                "parameters": [declared],
                "get": op("get_shared"),
            },
        }
    )
    notes = n.declare_path_parameters(doc)
    assert notes == [
        "GET /rule/{id}: declared path parameter id",
        "DELETE /rule/{id}: declared path parameter id",
        "GET /shared/{key}/{id}: declared path parameter id",
    ]
    param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    assert doc["paths"]["/rule/{id}"]["get"]["parameters"] == [param]
    assert doc["paths"]["/config/{key}"]["get"]["parameters"] == [declared]
    assert doc["paths"]["/shared/{key}/{id}"]["get"]["parameters"] == [param]


def test_declare_path_parameters_ignores_a_query_parameter_of_the_same_name() -> None:
    query = {"name": "id", "in": "query", "schema": {"type": "string"}}
    doc = spec({"/x/{id}": {"get": op("x", parameters=[query])}})
    assert n.declare_path_parameters(doc) == ["GET /x/{id}: declared path parameter id"]
    assert [p["in"] for p in doc["paths"]["/x/{id}"]["get"]["parameters"]] == ["path", "query"]


# --- drop_alias_operations -------------------------------------------------------------


def test_drop_alias_operations_keeps_the_canonical_path() -> None:
    doc = spec(
        {
            "/automod/v1/tasks": {"post": op("SubmitTask")},
            "/api/v1/moderation/tasks": {"post": op("SubmitTask"), "get": op("ListTasks")},
            "/automod/v1/tasks/list": {"get": op("ListTasks")},
            "/api/v1/moderation/dashboard/b": {"get": op("Dash")},
            "/api/v1/moderation/dashboard/a": {"get": op("Dash")},
        }
    )
    notes = n.drop_alias_operations(doc)
    assert notes == [
        "Dash: kept GET /api/v1/moderation/dashboard/a, "
        "dropped aliases /api/v1/moderation/dashboard/b",
        "ListTasks: kept GET /api/v1/moderation/tasks, dropped aliases /automod/v1/tasks/list",
        "SubmitTask: kept POST /api/v1/moderation/tasks, dropped aliases /automod/v1/tasks",
    ]
    assert sorted(doc["paths"]) == ["/api/v1/moderation/dashboard/a", "/api/v1/moderation/tasks"]
    tasks = doc["paths"]["/api/v1/moderation/tasks"]
    assert tasks["post"]["x-aliases"] == ["/automod/v1/tasks"]
    assert tasks["get"]["x-aliases"] == ["/automod/v1/tasks/list"]


def test_drop_alias_operations_keeps_a_path_that_still_has_other_methods() -> None:
    doc = spec(
        {
            "/api/v1/t": {"post": op("Submit")},
            "/automod/v1/t": {"post": op("Submit"), "get": op("Other")},
        }
    )
    n.drop_alias_operations(doc)
    assert doc["paths"]["/automod/v1/t"] == {"get": op("Other")}


def test_drop_alias_operations_unique_ids_untouched() -> None:
    doc = spec({"/a": {"get": op("a")}, "/b": {"get": op("b")}})
    before = copy.deepcopy(doc)
    assert n.drop_alias_operations(doc) == []
    assert doc == before


def test_drop_alias_operations_refuses_a_shared_id_across_methods() -> None:
    doc = spec({"/a": {"get": op("same")}, "/b": {"post": op("same")}})
    with pytest.raises(
        n.NormalisationError, match="operationId same is used by GET /a and POST /b"
    ):
        n.drop_alias_operations(doc)


def test_drop_alias_operations_refuses_an_operation_without_id() -> None:
    doc = spec({"/a": {"get": {"responses": {}}}})
    with pytest.raises(n.NormalisationError, match="GET /a: operation has no operationId"):
        n.drop_alias_operations(doc)


# --- number_date_time_as_timestamp --------------------------------------------------------


def test_number_date_time_as_timestamp() -> None:
    doc = spec(
        {
            "/x": {
                "get": op(
                    "x",
                    parameters=[
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"type": "number", "format": "date-time"},
                        }
                    ],
                )
            }
        },
        A={
            "type": "object",
            "properties": {
                "created_at": {"type": "number", "format": "date-time"},
                "ints": {"type": "array", "items": {"type": "integer", "format": "date-time"}},
                "already": {"type": "string", "format": "date-time"},
                "score": {"type": "number", "format": "float"},
            },
        },
    )
    assert n.number_date_time_as_timestamp(doc) == ["3 number date-time fields typed as timestamps"]
    props = doc["components"]["schemas"]["A"]["properties"]
    assert props["created_at"] == {"type": "string", "format": "date-time"}
    assert props["ints"]["items"] == {"type": "string", "format": "date-time"}
    assert props["already"] == {"type": "string", "format": "date-time"}
    assert props["score"] == {"type": "number", "format": "float"}
    param = doc["paths"]["/x"]["get"]["parameters"][0]["schema"]
    assert param == {"type": "string", "format": "date-time"}


def test_number_date_time_as_timestamp_no_change_no_notes() -> None:
    doc = spec(A={"type": "object", "properties": {"a": {"type": "number"}}})
    assert n.number_date_time_as_timestamp(doc) == []


# --- go_time_as_timestamp -----------------------------------------------------------------


def test_go_time_as_timestamp() -> None:
    doc = spec(
        Time={"type": "object"},
        A={
            "type": "object",
            "properties": {
                "at": {**ref("Time"), "description": "when"},
                "many": {"type": "array", "items": ref("Time")},
            },
        },
    )
    assert n.go_time_as_timestamp(doc) == ["2 references to Time typed as timestamps"]
    schemas = doc["components"]["schemas"]
    assert "Time" not in schemas
    assert schemas["A"]["properties"]["at"] == {
        "type": "string",
        "format": "date-time",
        "description": "when",
    }
    assert schemas["A"]["properties"]["many"]["items"] == {"type": "string", "format": "date-time"}


def test_go_time_as_timestamp_leaves_a_real_time_schema_alone() -> None:
    # a schema named Time that has fields is a model, not Go's time.Time
    doc = spec(Time={"type": "object", "properties": {"h": {"type": "integer"}}})
    before = copy.deepcopy(doc)
    assert n.go_time_as_timestamp(doc) == []
    assert doc == before


# --- mark_inline_maps -------------------------------------------------------------------


def test_mark_inline_maps_marks_inline_free_form_objects_only() -> None:
    doc = spec(
        {
            "/x": {
                "post": op(
                    "x",
                    requestBody={"content": {"application/json": {"schema": {"type": "object"}}}},
                )
            }
        },
        Empty={"type": "object"},
        A={
            "type": "object",
            "properties": {
                "custom": {"type": "object", "additionalProperties": {}},
                "labels": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
                "nested": {"type": "object", "properties": {"k": {"type": "object"}}},
                "ref": ref("Empty"),
            },
        },
    )
    assert n.mark_inline_maps(doc) == ["4 inline free-form objects typed as maps"]
    schemas = doc["components"]["schemas"]
    assert "x-map" not in schemas["Empty"]  # a named schema stays a model
    props = schemas["A"]["properties"]
    assert props["custom"]["x-map"] is True
    assert props["labels"]["x-map"] is True
    assert "x-map" not in props["nested"]  # an inline object with fields stays a model
    assert props["nested"]["properties"]["k"]["x-map"] is True
    assert "x-map" not in props["ref"]
    body = doc["paths"]["/x"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["x-map"] is True


# --- add_missing_success_responses ----------------------------------------------------------


def test_add_missing_success_responses() -> None:
    error = {"400": {"description": "bad"}}
    doc = spec(
        {
            "/dash": {"get": {"operationId": "dash", "responses": dict(error)}},
            "/none": {"post": {"operationId": "none"}},
            "/ok": {"get": {"operationId": "ok", "responses": {"201": {"description": "ok"}}}},
        }
    )
    notes = n.add_missing_success_responses(doc)
    assert notes == [
        "GET /dash: added a free-form 200 response",
        "POST /none: added a free-form 200 response",
    ]
    dash = doc["paths"]["/dash"]["get"]["responses"]
    assert dash["400"] == error["400"]
    assert dash["200"]["content"]["application/json"]["schema"] == {
        "type": "object",
        "additionalProperties": {},
    }
    assert doc["paths"]["/ok"]["get"]["responses"] == {"201": {"description": "ok"}}


# --- single_resource_tag ---------------------------------------------------------------------


def test_single_resource_tag() -> None:
    doc = spec({"/a": {"get": op("a", tags=["product:moderation"])}, "/b": {"post": op("b")}})
    assert n.single_resource_tag(doc) == []
    assert doc["paths"]["/a"]["get"]["tags"] == ["moderation"]
    assert doc["paths"]["/b"]["post"]["tags"] == ["moderation"]


# --- the pipeline -----------------------------------------------------------------------------


def test_normalise_returns_a_copy_and_prefixed_notes() -> None:
    doc = spec(
        {"/r/{id}": {"get": op("r")}},
        Time={"type": "object"},
        A={
            "type": "object",
            "nullable": True,
            "title": "Response",
            "properties": {"at": ref("Time"), "n": {"type": "number", "format": "date-time"}},
        },
    )
    before = copy.deepcopy(doc)
    out, notes = n.normalise(doc)
    assert doc == before  # the input is not changed
    assert notes == [
        "drop_schema_level_nullable: schema A: dropped schema-level nullable",
        "drop_titles: dropped 1 schema titles",
        "declare_path_parameters: GET /r/{id}: declared path parameter id",
        "number_date_time_as_timestamp: 1 number date-time fields typed as timestamps",
        "go_time_as_timestamp: 1 references to Time typed as timestamps",
    ]
    assert out["components"]["schemas"] == {
        "A": {
            "type": "object",
            "properties": {
                "at": {"type": "string", "format": "date-time"},
                "n": {"type": "string", "format": "date-time"},
            },
        }
    }
    assert out["paths"]["/r/{id}"]["get"]["tags"] == ["moderation"]


def test_normalise_is_idempotent() -> None:
    doc = spec(
        {"/api/v1/t": {"get": op("t")}, "/automod/v1/t": {"get": op("t")}},
        Time={"type": "object"},
        A={"type": "object", "nullable": True, "properties": {"c": {"type": "object"}}},
    )
    once, _ = n.normalise(doc)
    twice, notes = n.normalise(once)
    assert twice == once
    # only the transforms that mark (not change) anything speak again
    assert all(note.startswith("mark_inline_maps:") for note in notes)


def test_every_transform_has_a_docstring_saying_why() -> None:
    for transform in n.TRANSFORMS:
        assert transform.__doc__ and len(transform.__doc__.split()) > 8, transform.__name__
