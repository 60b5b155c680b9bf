"""Memory: peak RSS over 20,000 checks through one client, and growth in the second half.

Run as ``python -m bench.memory CLIENT URL --calls 20000``; prints one JSON object: the
resident set size (after a full garbage collection) at the checkpoints, the peak RSS of the
process, and the number of objects the garbage collector tracks at each checkpoint. The
calls run 50 at a time against the heavy body.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import sys
from typing import Any

from bench.clients import open_client
from bench.percall import _round

__all__ = ["measure"]

PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


async def measure(client: str, url: str, calls: int, concurrency: int = 50) -> dict[str, Any]:
    checkpoints = sorted({calls // 20, calls // 2, calls})
    points: list[dict[str, int]] = []
    done = 0
    async with open_client(client, url) as call:
        for target in checkpoints:
            await _round(call, target - done, concurrency)
            done = target
            gc.collect()
            points.append({"calls": done, "rss": _rss(), "objects": len(gc.get_objects())})
    half, full = points[-2], points[-1]
    return {
        "calls": calls,
        "points": points,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "growth": full["rss"] - half["rss"],
        "object_growth": full["objects"] - half["objects"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("client")
    parser.add_argument("url")
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    sys.modules["orjson"] = None  # type: ignore[assignment]  # the default install
    print(json.dumps(asyncio.run(measure(args.client, args.url, args.calls))))


if __name__ == "__main__":
    main()
