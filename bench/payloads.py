"""The response bodies the benchmarks use, as bytes, built from the shared fixtures.

- ``lean``: a CheckResponse with mostly required fields (RFC 3339 timestamps, ~6 KB);
- ``heavy``: a CheckResponse with a full review queue item (~85 nested objects, ~16 users,
  ~140 timestamps, unix nanoseconds, ~21 KB): the benchmark's heavy body;
- ``queue_page``: a QueryReviewQueueResponse of 100 such items (distinct ids);
- ``*_ns``: the same content with every RFC 3339 timestamp as unix nanoseconds, for
  ``getstream``, whose models require nanoseconds.

The fixtures are read from ``$STREAM_MODERATION_FIXTURES``, else ``../shared/fixtures`` next
to the repository (the figures the project has recorded were measured on those), else the
repository's own ``tests/fixtures`` (built from the spec by ``tests/fixtures/build.py``).
Each is completed from the generated release's spec (``stream_moderation.testing.
complete_body``): a no-op unless that release requires a field the fixture lacks.
"""

from __future__ import annotations

import calendar
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from stream_moderation.testing import complete_body, response_body

__all__ = ["BODIES", "FIXTURES", "body", "to_unix_ns"]

ROOT = Path(__file__).resolve().parent.parent
_SHARED = ROOT.parent / "shared" / "fixtures"
FIXTURES = Path(
    os.environ.get("STREAM_MODERATION_FIXTURES")
    or (_SHARED if _SHARED.is_dir() else ROOT / "tests" / "fixtures")
)

BODIES = ("lean", "lean_ns", "heavy", "queue_page")

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")


_SCHEMAS = {"check_response": "CheckResponse", "review_queue_item": "ReviewQueueItemResponse"}


def _fixture(name: str) -> Any:
    schema = next(s for prefix, s in _SCHEMAS.items() if name.startswith(prefix))
    mode = "rfc3339" if name.endswith("_rfc3339.json") else "unix_ns"
    return complete_body(schema, json.loads((FIXTURES / name).read_text()), timestamps=mode)


def to_unix_ns(value: Any) -> Any:
    """``value`` with every RFC 3339 (UTC) timestamp string turned into unix nanoseconds."""
    if isinstance(value, dict):
        return {k: to_unix_ns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_unix_ns(v) for v in value]
    if isinstance(value, str):
        match = _RFC3339.fullmatch(value)
        if match:
            *parts, fraction = match.groups()
            seconds = calendar.timegm((*(int(p) for p in parts), 0, 0, 0))
            return seconds * 1_000_000_000 + int((fraction or "").ljust(9, "0"))
    return value


def _queue_page(items: int = 100) -> dict[str, Any]:
    item = _fixture("review_queue_item_ns.json")
    page = []
    for i in range(items):
        copy = json.loads(json.dumps(item))
        copy["id"] = f"{item['id']}-{i}"
        page.append(copy)
    return response_body(
        "query_review_queue", duration="23.45ms", items=page, next="next-page-cursor"
    )


@cache
def body(name: str) -> bytes:
    """The JSON bytes of one of ``BODIES``."""
    if name == "lean":
        data = _fixture("check_response_lean_rfc3339.json")
    elif name == "lean_ns":
        data = to_unix_ns(_fixture("check_response_lean_rfc3339.json"))
    elif name == "heavy":
        data = _fixture("check_response_heavy_ns.json")
    elif name == "queue_page":
        data = _queue_page()
    else:
        raise KeyError(name)
    return json.dumps(data, separators=(",", ":")).encode()
