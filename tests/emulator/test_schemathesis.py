"""The emulator checked by an independent tool: schemathesis, run against the served
emulator (which serves the merged spec at /openapi.json), authenticated with the api_key
query parameter and a server JWT, finds no 500 and no response that violates the spec.

The run is bounded so that ``make test`` stays fast (a few examples per operation, fixed
seed); ``make stress`` (``STRESS=1``) runs every phase with many more. Not checked:
``positive_data_acceptance``, since the API (and so the emulator) refuses some requests
that fit the schema for reasons the schema cannot say (``check`` needs a config that
exists, ``unmute`` a user id, ``bulk_image_moderation`` a CSV URL...): those answer 400
with the API's error body, which the spec declares.

The hooks in ``tests/support/schemathesis_hooks.py`` add what schemathesis does not generate on
its own, bodies with a lone surrogate or a NUL in a string, and a check that every query
still answers after every answer of an operation that may write.

Below the run: the emulator bugs schemathesis found, each as a test of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from stream_moderation.testing import Emulator
from stream_moderation.testing._spec import operations, served_spec
from tests.support.emulator_support import KEY, SECRET, error_of, headers

STRESS = os.environ.get("STRESS") == "1"
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "unsupported_method",
    "every_query_answers",  # tests/support/schemathesis_hooks.py
]
ROOT = Path(__file__).resolve().parents[2]
RUN = (
    ["--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "100"]
    if STRESS
    else ["--phases", "fuzzing", "--max-examples", "5"]
)


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    with Emulator(KEY, SECRET).serve() as url:
        yield url


def schemathesis_config(path: Path) -> Path:
    """Authentication as the spec's security schemes name it: ``api_key`` in the query,
    the JWT in ``Authorization``, ``Stream-Auth-Type: jwt`` (also as headers of every
    request: the spec's second security alternative leaves the JWT out)."""
    server_token = jwt.encode({"server": True}, SECRET, algorithm="HS256")
    config = path / "schemathesis.toml"
    config.write_text(
        f'headers = {{ Authorization = "{server_token}", "Stream-Auth-Type" = "jwt" }}\n'
        "[auth.openapi.api_key]\n"
        f'api_key = "{KEY}"\n'
        "[auth.openapi.JWT]\n"
        f'api_key = "{server_token}"\n'
        '[auth.openapi."stream-auth-type"]\n'
        'api_key = "jwt"\n'
    )
    return config


def test_schemathesis_finds_no_spec_violation_and_no_500(served: str, tmp_path: Path) -> None:
    config = schemathesis_config(tmp_path)
    report = tmp_path / "report.xml"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        f"{served}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--seed",
        "20250101",
        "--workers",
        "2",
        "--no-shrink",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        *RUN,
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "EMULATOR_URL": served,
        "EMULATOR_KEY": KEY,
        "EMULATOR_TOKEN": jwt.encode({"server": True}, SECRET, algorithm="HS256"),
    }
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=1200, check=False, env=env
    )
    summary = result.stdout[result.stdout.rfind("SUMMARY") :]
    print(summary)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    total = len(operations())
    assert f"Selected: {total}/{total}" in summary and f"Tested: {total}" in summary
    assert report.exists()


# -- bugs schemathesis found in the emulator ---------------------------------------------------


def test_served_spec_lists_null_among_the_values_of_nullable_enums() -> None:
    """OpenAPI 3.0.3: ``nullable`` does not widen an ``enum``; null must be one of its values.
    The served spec marked optional enum fields nullable without it, so schemathesis sent
    ``"delete_messages": null`` to ``ban`` expecting a 400 (the emulator, rightly, took
    null as not sent)."""
    missing = [
        f"{name}.{prop}"
        for name, schema in served_spec(None)["components"]["schemas"].items()
        for prop, value in schema.get("properties", {}).items()
        if value.get("nullable") and "enum" in value and None not in value["enum"]
    ]
    assert missing == []


OUT_OF_RANGE = "Python int too large to convert to C int"  # past datetime's range: the model's


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_integer_timestamps_outside_int64_are_refused(value: int) -> None:
    """A date-time field as unix nanoseconds is an int64 in the served spec: the emulator
    accepted ``reviewed_at: 2**63`` and stored a time past 2262."""
    emulator = Emulator(KEY, SECRET)
    body = {
        "entity_type": "stream:chat:v1:message",
        "entity_id": "m1",
        "entity_creator_id": "u1",
        "moderation_payload": {"texts": ["hello"]},
        "content_published_at": value,
    }
    with httpx.Client(
        transport=emulator.sync_transport(), base_url="http://emulator", params={"api_key": KEY}
    ) as http:
        response = http.post("/api/v2/moderation/check", json=body, headers=headers())
        assert response.status_code == 400
        problem = error_of(response)["exception_fields"]["content_published_at"]
        assert problem == ("does not fit in an int64" if value < 10**20 else OUT_OF_RANGE)
        task = http.post(
            "/api/v1/moderation/tasks",
            json={"content_type": "text", "payload": {"text": "hi"}},
            headers=headers(),
        )
        assert task.status_code == 201, task.text
        task_id = task.json()["task"]["id"]
        update = http.post(
            f"/api/v1/moderation/tasks/{task_id}", json={"reviewed_at": value}, headers=headers()
        )
        assert update.status_code == 400, update.text
        problem = error_of(update)["exception_fields"]["reviewed_at"]
        assert problem == ("does not fit in an int64" if value < 10**20 else OUT_OF_RANGE)
