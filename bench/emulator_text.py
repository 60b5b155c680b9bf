"""The served emulator's ``check`` time by text size, and how long ``/_emulator/health``
waits meanwhile.

``python -m bench.emulator_text --base-url URL --api-key KEY --api-secret SECRET
[--quick]``: stores a config with every engine the classifier feeds, then times checks of
1 KB, 16 KB, 128 KB and 1 MB texts (best of a few, over HTTP, response checked against
the spec as the emulator always does), for two texts: ``a.a.a.`` (what made the e-mail
pattern quadratic) and a text full of what the patterns look for. Then polls health
while 1 MB checks run. Prints JSON on its last line.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

import httpx
import jwt

KIB = 1024
SIZES = {"1 KB": KIB, "16 KB": 16 * KIB, "128 KB": 128 * KIB, "1 MB": 1024 * KIB}
TEXTS = {
    "a.a.a.": "a.",
    "busy": (
        "buy a.a.a@b all x people send me http://a 1 2 3 +1 kys piss the damn "
        "you're add me on contact me@x 100% free money. "
    ),
}
LABELS = (
    "SPAM",
    "SCAM",
    "HARASSMENT",
    "HATE",
    "SEXUAL_HARASSMENT",
    "SELF_HARM",
    "PII",
    "PLATFORM_BYPASS",
)


def text_of(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def check(http: httpx.Client, text: str) -> float:
    body = {
        "entity_type": "stream:chat:v1:message",
        "entity_id": "bench",
        "entity_creator_id": "bench-user",
        "moderation_payload": {"texts": [text]},
        "config_key": "bench-text",
    }
    started = time.perf_counter()
    response = http.post("/api/v2/moderation/check", json=body)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--api-secret", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    token = jwt.encode({"server": True}, args.api_secret, algorithm="HS256")
    runs = 1 if args.quick else 5
    sizes = {k: v for k, v in SIZES.items() if not args.quick or v <= 128 * KIB}
    with httpx.Client(
        base_url=args.base_url,
        params={"api_key": args.api_key},
        headers={"Authorization": token, "Stream-Auth-Type": "jwt"},
        timeout=600,
    ) as http:
        http.post(
            "/api/v2/moderation/config",
            json={
                "key": "bench-text",
                "ai_text_config": {
                    "rules": [{"label": label, "action": "flag"} for label in LABELS]
                },
                "block_list_config": {"rules": [{"name": "profanity_en", "action": "remove"}]},
            },
        ).raise_for_status()
        seconds: dict[str, dict[str, float]] = {}
        for name, unit in TEXTS.items():
            seconds[name] = {
                size_name: min(check(http, text_of(unit, size)) for _ in range(runs))
                for size_name, size in sizes.items()
            }
        big = text_of(TEXTS["busy"], max(sizes.values()))
        durations: list[float] = []

        def checks() -> None:
            with httpx.Client(
                base_url=args.base_url,
                params={"api_key": args.api_key},
                headers={"Authorization": token, "Stream-Auth-Type": "jwt"},
                timeout=600,
            ) as other:
                durations.extend(check(other, big) for _ in range(1 if args.quick else 3))

        worker = threading.Thread(target=checks)
        latencies: list[float] = []
        worker.start()
        while worker.is_alive():
            started = time.perf_counter()
            http.get("/_emulator/health").raise_for_status()
            latencies.append(time.perf_counter() - started)
            time.sleep(0.01)
        worker.join()
    result: dict[str, Any] = {
        "status": "measured",
        "runs": runs,
        "seconds": seconds,
        "health": {
            "text": max(sizes, key=sizes.__getitem__),
            "check_seconds": min(durations),
            "health_max_seconds": max(latencies),
            "health_median_seconds": sorted(latencies)[len(latencies) // 2],
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
