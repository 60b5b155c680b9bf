"""`make spec-diff`: operations and schema fields changed between two releases."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from codegen.__main__ import main
from codegen.spec_diff import diff_specs, spec_diff, type_name


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body(name: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": ref(name)}}}


BASE: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "x", "version": "v1"},
    "paths": {
        "/check": {
            "post": {
                "operationId": "check",
                "requestBody": body("CheckRequest"),
                "responses": {"201": body("CheckResponse"), "400": body("APIError")},
            }
        },
        "/old": {"get": {"operationId": "old", "responses": {"200": body("CheckResponse")}}},
        "/items/{id}": {
            "get": {
                "operationId": "get_item",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "mode", "in": "query", "schema": {"type": "string", "enum": ["a"]}},
                ],
                "responses": {"200": body("CheckResponse")},
            }
        },
    },
    "components": {
        "schemas": {
            "APIError": {"type": "object", "properties": {"code": {"type": "integer"}}},
            "CheckRequest": {
                "type": "object",
                "required": ["entity_id"],
                "properties": {
                    "entity_id": {"type": "string"},
                    "action": {"type": "string", "enum": ["keep", "flag"]},
                    "gone": {"type": "boolean"},
                    "texts": {"type": "array", "items": {"type": "string"}},
                    "options": {
                        "type": "object",
                        "properties": {"deep": {"type": "integer", "format": "int32"}},
                    },
                },
            },
            "CheckResponse": {
                "type": "object",
                "properties": {
                    "created_at": {"type": "string", "format": "date-time"},
                    "custom": {"type": "object", "additionalProperties": {}, "x-map": True},
                },
            },
            "Color": {"type": "string", "enum": ["red", "green"]},
            "Removed": {"type": "object", "properties": {"x": {"type": "string"}}},
            "Event": {
                "oneOf": [ref("CheckResponse")],
                "discriminator": {
                    "propertyName": "type",
                    "mapping": {"a.b": "#/components/schemas/CheckResponse"},
                },
            },
        }
    },
}


def changed_spec() -> dict[str, Any]:
    new = copy.deepcopy(BASE)
    paths, schemas = new["paths"], new["components"]["schemas"]
    del paths["/old"]
    paths["/queues"] = {
        "get": {"operationId": "list_queues", "responses": {"200": body("ListQueuesResponse")}}
    }
    paths["/check"]["post"]["responses"]["201"] = body("CheckResponseV2")
    params = paths["/items/{id}"]["get"]["parameters"]
    params[1]["schema"]["enum"].append("b")
    params.append({"name": "limit", "in": "query", "schema": {"type": "integer"}})
    paths["/items/{id}"]["get"]["x-aliases"] = ["/automod/v1/items/{id}"]
    req = schemas["CheckRequest"]
    del req["properties"]["gone"]
    req["properties"]["action"]["enum"] = ["keep", "remove"]
    req["properties"]["texts"] = {"type": "array", "items": ref("Text")}
    req["properties"]["options"]["properties"]["deep"] = {"type": "string"}
    req["properties"]["new_field"] = {"type": "string", "description": "prose is ignored"}
    req["required"] = ["entity_id", "action"]
    req["description"] = "descriptions are not changes"
    schemas["CheckResponseV2"] = schemas["CheckResponse"]
    schemas["ListQueuesResponse"] = {
        "type": "object",
        "required": ["queues"],
        "properties": {"queues": {"type": "array", "items": ref("Queue")}, "d": {"type": "string"}},
    }
    schemas["Text"] = {"type": "object", "properties": {"t": {"type": "string"}}}
    schemas["Color"]["enum"] = ["red", "blue"]
    schemas["Event"]["oneOf"].append(ref("Text"))
    schemas["Event"]["discriminator"]["mapping"]["t.new"] = "#/components/schemas/Text"
    del schemas["Removed"]
    return new


EXPECTED = """\
Spec diff v1 -> v2 (normalised and merged, as the SDK is generated)
operations: 1 added, 1 removed, 2 changed; schemas: 3 added, 1 removed, 3 changed

Operations added (1)
  + GET /queues  list_queues: request -; response 200 ListQueuesResponse

Operations removed (1)
  - GET /old  old: request -; response 200 CheckResponse

Operations changed (2)
  ~ POST /check  (check)
      response 201: CheckResponse -> CheckResponseV2
  ~ GET /items/{id}  (get_item)
      + parameter query limit: integer (optional)
      ~ parameter query mode: enum values added: b
      + alias /automod/v1/items/{id}

Schemas added (3)
  + CheckResponseV2: 2 fields: created_at, custom
  + ListQueuesResponse: 2 fields: d, queues*
  + Text: 1 field: t

Schemas removed (1)
  - Removed

Schemas changed (+ added, - removed, ~ changed) (3)
  ~ CheckRequest
      ~ action: optional -> required
      ~ action: enum values added: remove
      ~ action: enum values removed: flag
      - gone: boolean
      + new_field: string (optional)
      ~ options.deep: type integer<int32> -> string
      ~ texts: type array[string] -> array[Text]
  ~ Color
      enum values added: blue
      enum values removed: green
  ~ Event
      oneOf members added: Text
      + t.new -> Text
"""


def test_diff_report() -> None:
    assert diff_specs(BASE, changed_spec(), old_name="v1", new_name="v2") == EXPECTED


def test_no_change() -> None:
    report = diff_specs(BASE, copy.deepcopy(BASE), old_name="v1", new_name="v1")
    assert "operations: 0 added, 0 removed, 0 changed; schemas: 0 added, 0 removed, 0 changed" in (
        report
    )
    assert report.count("  none") == 6


def test_reverse_diff_mirrors() -> None:
    report = diff_specs(changed_spec(), BASE, old_name="v2", new_name="v1")
    assert "operations: 1 added, 1 removed, 2 changed; schemas: 1 added, 3 removed" in report
    assert "  + GET /old  old:" in report
    assert "  - GET /queues  list_queues:" in report
    assert "      ~ action: required -> optional" in report


def test_inputs_are_not_changed() -> None:
    old, new = copy.deepcopy(BASE), changed_spec()
    snapshot = (repr(old), repr(new))
    diff_specs(old, new, old_name="a", new_name="b")
    assert (repr(old), repr(new)) == snapshot


@pytest.mark.parametrize(
    ("schema", "name"),
    [
        (ref("User"), "User"),
        ({"type": "string", "format": "date-time"}, "timestamp"),
        ({"type": "array", "items": {"type": "array", "items": ref("U")}}, "array[array[U]]"),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "map[integer]"),
        ({"type": "object", "additionalProperties": {}}, "map"),
        ({"type": "object"}, "map"),
        ({"type": "object", "properties": {"a": {}}}, "object"),
        ({"type": "string", "enum": ["a"]}, "string enum"),
        ({"type": "string", "nullable": True}, "string | null"),
        ({"type": "number", "format": "float"}, "number<float>"),
        ({"oneOf": [ref("A"), {"type": "string"}]}, "oneOf[A | string]"),
        ({}, "any"),
        (None, "any"),
    ],
)
def test_type_names(schema: Any, name: str) -> None:
    assert type_name(schema) == name


@pytest.fixture(scope="module")
def real_report() -> str:
    return spec_diff("v228.10.2", "v233.27.0")


def test_real_release_diff(real_report: str) -> None:
    lines = real_report.splitlines()
    assert (
        lines[0]
        == "Spec diff v228.10.2 -> v233.27.0 (normalised and merged, as the SDK is generated)"
    )
    assert lines[1].startswith("operations: 9 added, 0 removed, 3 changed; schemas: ")
    added = [line for line in lines if line.startswith("  + ") and "/api/" in line]
    assert [line.split("  ")[1][2:] for line in added] == [
        "POST /api/v2/moderation/analyze",
        "POST /api/v2/moderation/appeals/bulk_action",
        "GET /api/v2/moderation/queues",
        "POST /api/v2/moderation/queues",
        "GET /api/v2/moderation/queues/{id}",
        "PATCH /api/v2/moderation/queues/{id}",
        "POST /api/v2/moderation/queues/{id}/delete",
        "GET /api/v2/moderation/setup",
        "POST /api/v2/moderation/setup",
    ]
    assert (
        "  + GET /api/v2/moderation/queues  list_queues: request -; response 200 ListQueuesResponse"
        in lines
    )
    submit = lines[lines.index("  ~ SubmitActionRequest") :][:3]
    assert submit == [
        "  ~ SubmitActionRequest",
        "      ~ action_type: enum values added: delete_user_messages",
        "      + delete_user_messages: DeleteUserMessagesRequestPayload (optional)",
    ]
    assert (
        "      + moderation.text_analysis.complete -> ModerationTextAnalysisCompleteEvent" in lines
    )
    assert "      response 201: BanResponse -> ModerationBanResponse" in lines
    assert "      + triggered_rules: array[TriggeredRuleResponse] (optional)" in lines
    assert all(len(line) <= 100 for line in lines)


def test_real_release_diff_is_deterministic(real_report: str) -> None:
    assert spec_diff("v228.10.2", "v233.27.0") == real_report


def test_cli(capsys: pytest.CaptureFixture[str], real_report: str) -> None:
    assert main(["spec-diff", "v228.10.2", "v233.27.0"]) == 0
    assert capsys.readouterr().out == real_report
    assert main(["spec-diff", "v228.10.2", "v0.0.1"]) == 2
    assert "spec version v0.0.1 is not pinned" in capsys.readouterr().err
