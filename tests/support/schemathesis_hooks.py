"""Hooks for the schemathesis run of ``tests/emulator/test_schemathesis.py``
(``SCHEMATHESIS_HOOKS``).

- ``flatmap_body``: besides each generated body, the same body with a lone surrogate or a
  NUL character added to its first string. Schemathesis generates only encodable text,
  so on its own it never sends what once poisoned the emulator (a flag whose reason held
  ``"\\udfff"``, stored, then every query answered 500).
- ``every_query_answers``: a check run after every answer of an operation that may
  write: every query of the emulator (derived from the spec) still answers with its
  success status. The run passes the emulator's URL and credentials in the environment.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis
from hypothesis import strategies as st

from stream_moderation.testing._spec import operations
from tests.support.emulator_support import query_operations

NOT_TEXT = ("\udfff", "\x00")


def _with_bad_text(value: Any, bad: str) -> tuple[Any, bool]:
    """``value`` with ``bad`` appended to its first string (depth first); whether one was."""
    if isinstance(value, str):
        return value + bad, True
    if isinstance(value, dict):
        for key, item in value.items():
            changed, found = _with_bad_text(item, bad)
            if found:
                return {**value, key: changed}, True
    if isinstance(value, list):
        for index, item in enumerate(value):
            changed, found = _with_bad_text(item, bad)
            if found:
                return [*value[:index], changed, *value[index + 1 :]], True
    return value, False


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    variants = [body]
    for bad in NOT_TEXT:
        changed, found = _with_bad_text(body, bad)
        if found:
            variants.append(changed)
    return st.sampled_from(variants)


@schemathesis.check
def every_query_answers(ctx: Any, response: Any, case: Any) -> bool | None:
    if case.operation.method.upper() == "GET":
        return None
    url = os.environ["EMULATOR_URL"]
    headers = {"Authorization": os.environ["EMULATOR_TOKEN"], "Stream-Auth-Type": "jwt"}
    with httpx.Client(base_url=url, params={"api_key": os.environ["EMULATOR_KEY"]}) as http:
        for name in query_operations():
            op = operations()[name]
            answer = http.request(
                op.method, op.path, json={} if op.request_schema else None, headers=headers
            )
            if answer.status_code != op.success_status:
                raise AssertionError(
                    f"after {case.operation.method.upper()} {case.operation.path} answered "
                    f"{response.status_code}, {name} answers {answer.status_code}: "
                    f"{answer.text[:300]}"
                )
    return None
