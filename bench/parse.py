"""Parse: bytes -> model, against ``json.loads`` alone and getstream 7.0.0's models.

Run as ``python -m bench.parse [--quick]``; prints one JSON object: per payload, the
seconds per parse of each candidate. ``stream_moderation`` is ``from_dict`` as a response
is read (nested models are read when first used); ``stream_moderation, all read`` then
reads every nested model, as a caller that walks the whole response does. ``getstream``
is measured when it is importable (the bench virtualenv installs it); it gets the
nanosecond variant of a payload (its models crash on RFC 3339 strings, which is recorded
too).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from bench.payloads import body
from bench.timing import interleaved
from stream_moderation._types import read_all

__all__ = ["measure"]

# payload -> (stream_moderation model, getstream model, body for getstream)
PAYLOADS = {
    "lean": ("CheckResponse", "CheckResponse", "lean_ns"),
    "heavy": ("CheckResponse", "CheckResponse", "heavy"),
    "queue_page": ("QueryReviewQueueResponse", "QueryReviewQueueResponse", "queue_page"),
}


def _orjson_loads() -> Callable[[bytes], Any] | None:
    try:
        import orjson
    except ImportError:
        return None
    return orjson.loads  # type: ignore[no-any-return]


def _getstream_models() -> Any:
    try:
        import getstream.models as models
    except ImportError:
        return None
    return models


def measure(*, repeats: int, target: float) -> dict[str, Any]:
    from stream_moderation import models

    gs = _getstream_models()
    fast_loads = _orjson_loads()
    results: dict[str, Any] = {}
    for payload, (ours, theirs, gs_body) in PAYLOADS.items():
        data = body(payload)
        model = getattr(models, ours)
        candidates: dict[str, Callable[[], object]] = {
            "json.loads": lambda data=data: json.loads(data),
            "stream_moderation": lambda data=data, model=model: model.from_dict(json.loads(data)),
            "stream_moderation, all read": lambda data=data, model=model: read_all(
                model.from_dict(json.loads(data))
            ),
        }
        if fast_loads is not None:
            candidates["orjson.loads"] = lambda data=data: fast_loads(data)
            candidates["stream_moderation+orjson"] = lambda data=data, model=model: model.from_dict(
                fast_loads(data)
            )
        note = None
        if gs is not None:
            gs_model = getattr(gs, theirs)
            gs_data = body(gs_body)
            candidates["getstream"] = lambda d=gs_data, m=gs_model: m.from_dict(
                json.loads(d), infer_missing=True
            )
            if gs_body != payload:
                try:
                    gs_model.from_dict(json.loads(data), infer_missing=True)
                    note = "getstream parses the RFC 3339 body"
                except Exception as exc:  # noqa: BLE001 - any failure is the finding
                    note = f"getstream fails on RFC 3339 timestamps ({type(exc).__name__})"
        # the same content, parsed before it is timed: a wrong model would fail here
        assert model.from_dict(json.loads(data)).to_dict() is not None
        timed = interleaved(candidates, repeats=repeats, target=target)
        results[payload] = {"bytes": len(data), "seconds": timed, "note": note}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts (smoke test)")
    args = parser.parse_args()
    repeats, target = (1, 0.001) if args.quick else (7, 0.2)
    print(json.dumps(measure(repeats=repeats, target=target)))


if __name__ == "__main__":
    main()
