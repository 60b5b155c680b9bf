"""Helpers for the emulator's tests: clients whose transport checks every response against
the spec on its own (independently of the emulator's built-in check), and raw-HTTP tools."""

from __future__ import annotations

import copy
import json
import re
import time
import warnings
from collections.abc import Iterable
from typing import Any

import httpx
import jwt
import pytest

from codegen.specs import default_version
from stream_moderation import AsyncStream, Stream
from stream_moderation._generated import SPEC_VERSION
from stream_moderation._generated.api import OPERATIONS
from stream_moderation.models import APIErrorBody
from stream_moderation.testing import Emulator
from stream_moderation.testing._spec import load_spec, operations

KEY = "test-key"
SCHEMAS: dict[str, Any] = load_spec()["components"]["schemas"]
SECRET = "a-test-secret-that-is-long-enough-for-hs256"


DEFAULT_RELEASE = default_version()


class EmulationGap(UserWarning):
    """Something of the generated release the emulator has no semantics for."""


def report_gaps(what: str, names: Iterable[str]) -> None:
    """Fail for the default release (it must be emulated in full); for any other release
    (one a spec update brought in) list the gaps as a warning."""
    found = sorted(set(names))
    if not found:
        return
    message = f"{what} in {SPEC_VERSION}: {', '.join(found)}"
    if SPEC_VERSION == DEFAULT_RELEASE:
        pytest.fail(f"{message} (the default release must be emulated in full)")
    warnings.warn(message, EmulationGap, stacklevel=2)


def _decoded_headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The headers of a response whose body was already decoded (no encoding, no length)."""
    drop = {"content-encoding", "content-length"}
    return [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]


_ROUTES = [
    (method, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), name)
    for name, (method, path, _) in OPERATIONS.items()
]


def operation_for(method: str, path: str) -> str | None:
    for op_method, pattern, name in _ROUTES:
        if op_method == method and pattern.match(path.rstrip("/") or "/"):
            return name
    return None


def check_response(
    method: str,
    path: str,
    status: int,
    content: bytes,
    headers: httpx.Headers | None = None,
    *,
    allow_not_emulated: bool = False,
) -> None:
    """Fail unless ``content`` parses strictly as the operation's response (or APIError);
    an answer of the spec-driven fallback is a gap (see ``report_gaps``)."""
    name = operation_for(method, path)
    if name is None:
        return
    if headers is not None and headers.get("x-stream-emulator") == "not-emulated":
        assert 200 <= status < 300
        if not allow_not_emulated:
            report_gaps("operations answered by the spec-driven fallback", [name])
    data = json.loads(content)
    op = operations()[name]
    if 200 <= status < 300:
        assert status == op.success_status, f"{name}: status {status}"
        if op.response_model is not None:
            op.response_model.from_dict(data, strict=True)
        else:
            assert isinstance(data, dict)
    else:
        error = APIErrorBody.from_dict(data, strict=True)
        assert error.status_code == status


class ValidatingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, allow_not_emulated: bool = False) -> None:
        self.inner = inner
        self.allow_not_emulated = allow_not_emulated
        self.responses: list[tuple[str, str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        check_response(
            request.method,
            request.url.path,
            response.status_code,
            content,
            response.headers,
            allow_not_emulated=self.allow_not_emulated,
        )
        self.responses.append((request.method, request.url.path, response.status_code))
        return httpx.Response(
            response.status_code,
            headers=_decoded_headers(response),
            content=content,
            request=request,
        )


class SyncValidatingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        content = response.read()
        check_response(
            request.method, request.url.path, response.status_code, content, response.headers
        )
        return httpx.Response(
            response.status_code,
            headers=_decoded_headers(response),
            content=content,
            request=request,
        )

    def close(self) -> None:
        self.inner.close()


def async_client(
    emulator: Emulator, *, allow_not_emulated: bool = False, **options: Any
) -> AsyncStream:
    options.setdefault("max_retries", 0)
    return AsyncStream(
        emulator.api_key,
        SECRET,
        base_url="http://localhost",
        transport=ValidatingTransport(emulator.transport(), allow_not_emulated),
        **options,
    )


def sync_client(emulator: Emulator, **options: Any) -> Stream:
    options.setdefault("max_retries", 0)
    return Stream(
        emulator.api_key,
        SECRET,
        base_url="http://localhost",
        transport=SyncValidatingTransport(emulator.sync_transport()),
        **options,
    )


def token(secret: str = SECRET, **claims: Any) -> str:
    """A hand-made JWT (HS256)."""
    return jwt.encode(claims or {"server": True}, secret, algorithm="HS256")


def headers(tok: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "Authorization": tok if tok is not None else token(),
        "Stream-Auth-Type": "jwt",
        **extra,
    }


def raw_client(emu: Emulator, tok: str | None = None) -> httpx.AsyncClient:
    """Plain httpx into the in-process emulator, signed with ``tok`` (a server token by
    default): for requests the SDK would refuse to send, or endpoints beyond its spec."""
    return httpx.AsyncClient(
        transport=emu.transport(),
        base_url="http://e",
        params={"api_key": KEY},
        headers=headers(tok),
    )


def wait_until_served(process: Any, url: str, seconds: float = 20) -> None:
    """Until the served emulator at ``url`` answers its health check; fails the test with
    what the process printed when it exits first or takes longer than ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/_emulator/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"the emulator did not start: {output}")
        time.sleep(0.05)


def now_s() -> int:
    return int(time.time())


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The API error body of a raw response, checked against the APIError schema."""
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    APIErrorBody.from_dict(body, strict=True)
    assert body["StatusCode"] == response.status_code
    return body


# -- operations by what they do, a minimal valid request of each, and the state -------------


def _required_params(op: Any) -> bool:
    return any(p.required for p in op.params)


def query_operations() -> list[str]:
    """Every operation that only reads and needs no argument: the GETs without required
    parameters and the POST ``query_*`` searches (an empty body is a valid search)."""
    return sorted(
        name
        for name, op in operations().items()
        if not _required_params(op) and (op.method == "GET" or name.startswith("query_"))
    )


def write_operations() -> list[str]:
    """Every operation that may change the state: all but the GETs (``query_review_queue``
    included, since it can lock items)."""
    return sorted(name for name, op in operations().items() if op.method != "GET")


def minimal_instance(schema: dict[str, Any], depth: int = 0) -> Any:
    """The smallest value that fits ``schema``: required fields only, first enum values,
    minimum numbers, minItems items, unix-nanosecond date-times."""
    if "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if schema.get("format") == "date-time":
        return time.time_ns() if kind != "string" else "2024-01-02T03:04:05Z"
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "array":
        count = schema.get("minItems", 0)
        return [minimal_instance(schema.get("items", {}), depth + 1) for _ in range(count)]
    properties = schema.get("properties", {})
    return {
        name: minimal_instance(properties[name], depth + 1)
        for name in schema.get("required", [])
        if name in properties
    }


def minimal_request(name: str) -> tuple[str, dict[str, str], Any]:
    """(path, query, JSON body or None) of a minimal valid request of an operation."""
    op = operations()[name]
    path = op.path
    query: dict[str, str] = {}
    for param in op.params:
        if param.location == "path":
            path = path.replace("{" + param.name + "}", "x")
        elif param.required:
            query[param.name] = "x"
    body = minimal_instance(SCHEMAS[op.request_schema]) if op.request_schema else None
    return path, query, body


def state_snapshot(emulator: Emulator) -> dict[str, Any]:
    """A deep copy of every stored collection, to compare. Not the private counters, nor
    ``check_counts``: like ``emulator.calls``, it counts the checks received (refused ones
    too), the emulator's bookkeeping rather than anything the API stores or answers."""
    with emulator.backend.lock:
        state = vars(emulator.state)
        return copy.deepcopy(
            {k: v for k, v in state.items() if not k.startswith("_") and k != "check_counts"}
        )


def raw_json(body: Any) -> bytes:
    """JSON with every non-ASCII character escaped: lone surrogates included, which
    httpx's own encoder cannot write."""
    return json.dumps(body, ensure_ascii=True).encode()
