"""Per call: the client process's CPU time per ``check``, sequential and concurrent.

Run as ``python -m bench.percall CLIENT --url BODY=URL ... --concurrency 1 50``, in a
process of its own, against servers in other processes (``bench.server``); prints one JSON
object: per body and concurrency, CPU seconds per call (``time.process_time``: user +
system time of this process, all threads), wall seconds per call, and the calls counted.

Each measurement warms up first (imports, connections: one per task in flight), then
runs rounds of calls until ``--budget`` seconds of CPU have been spent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from bench.clients import USES_ORJSON, Call, open_client

__all__ = ["measure"]


async def _round(call: Call, calls: int, concurrency: int) -> None:
    if concurrency == 1:
        for _ in range(calls):
            await call()
        return

    async def worker(n: int) -> None:
        for _ in range(n):
            await call()

    per_task, extra = divmod(calls, concurrency)
    async with asyncio.TaskGroup() as group:
        for i in range(concurrency):
            group.create_task(worker(per_task + (i < extra)))


async def _measure_one(
    call: Call, concurrency: int, budget: float, min_calls: int
) -> dict[str, Any]:
    await _round(call, max(2 * concurrency, 20), concurrency)  # warm up
    batch = max(4 * concurrency, 50)
    calls = 0
    cpu = wall = 0.0
    while cpu < budget or calls < min_calls:
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        await _round(call, batch, concurrency)
        cpu += time.process_time() - cpu_start
        wall += time.perf_counter() - wall_start
        calls += batch
    return {"cpu": cpu / calls, "wall": wall / calls, "calls": calls}


async def measure(
    client: str, urls: dict[str, str], concurrencies: list[int], budget: float, min_calls: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for body, url in urls.items():
        async with open_client(client, url) as call:
            first = await call()
            if first is None:
                raise RuntimeError(f"{client}: empty response")
            results[body] = {
                str(c): await _measure_one(call, c, budget, min_calls) for c in concurrencies
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("client")
    parser.add_argument("--url", action="append", default=[], help="BODY=URL of a server")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--budget", type=float, default=1.5, help="CPU seconds per measurement")
    parser.add_argument("--min-calls", type=int, default=200)
    args = parser.parse_args()
    if args.client not in USES_ORJSON:
        sys.modules["orjson"] = None  # type: ignore[assignment]  # the stdlib json path
    urls = dict(item.split("=", 1) for item in args.url)
    result = asyncio.run(measure(args.client, urls, args.concurrency, args.budget, args.min_calls))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
