"""Profile: where a ``check``'s client CPU goes, by layer (cProfile, own time per function).

Run as ``python -m bench.profile CLIENT URL [--calls N] [--concurrency C]``; prints one JSON
object: the share of the profiled time spent in each layer (this SDK's handwritten code,
its generated models, httpx, the transport, json, asyncio, the rest; a builtin's time goes
to the layer that called it) and the functions with the most own time. cProfile slows
everything by a similar factor, so the shares are what to read, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
from typing import Any

from bench.clients import open_client
from bench.percall import _round

__all__ = ["LAYERS", "layer_of", "profile"]

# first match wins: (layer, substring of the file path or function name)
LAYERS: list[tuple[str, str]] = [
    ("sdk models (generated)", "stream_moderation/_generated/models"),
    ("sdk (generated endpoints)", "stream_moderation/_generated"),
    ("sdk (handwritten)", "stream_moderation/"),
    ("httpx-aiohttp", "httpx_aiohttp/"),
    ("aiohttp", "aiohttp/"),
    ("httpcore + h11", "httpcore/"),
    ("httpcore + h11", "h11/"),
    ("httpx", "httpx/"),
    ("json", "json/"),
    ("json", "orjson"),
    ("anyio", "anyio/"),
    ("asyncio + sockets", "asyncio/"),
    ("asyncio + sockets", "selectors.py"),
    ("asyncio + sockets", "socket"),
    ("asyncio + sockets", "epoll"),
    ("stdlib: cookies, email", "http/cookiejar"),
    ("stdlib: cookies, email", "email/"),
    ("stdlib: cookies, email", "urllib/"),
    ("benchmark loop", "bench/"),
    ("asyncio + sockets", "_asyncio"),
]


def layer_of(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for layer, marker in LAYERS:
        if marker in where:
            return layer
    return "other (builtins, stdlib)"


async def profile(client: str, url: str, calls: int, concurrency: int) -> dict[str, Any]:
    async with open_client(client, url) as call:
        await _round(call, min(200, calls), concurrency)  # warm up
        profiler = cProfile.Profile()
        profiler.enable()
        await _round(call, calls, concurrency)
        profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    layers: dict[str, float] = {}
    functions = []
    for (filename, line, function), (_, _, own, _, callers) in raw.items():
        functions.append((own, f"{filename.split('site-packages/')[-1]}:{line}({function})"))
        if filename == "~" and callers:
            # a builtin (dict.get, socket.send, the json scanner): its time counts for the
            # layer that called it, in proportion to what each caller spent in it
            for (c_file, _, c_function), (_, _, c_own, _) in callers.items():
                layer = layer_of(c_file, c_function)
                layers[layer] = layers.get(layer, 0.0) + c_own
        else:
            layer = layer_of(filename, function)
            layers[layer] = layers.get(layer, 0.0) + own
    functions.sort(reverse=True)
    return {
        "client": client,
        "calls": calls,
        "concurrency": concurrency,
        "layers": {k: v / total for k, v in sorted(layers.items(), key=lambda kv: -kv[1])},
        "top": [{"function": f, "share": own / total} for own, f in functions[:15]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("client")
    parser.add_argument("url")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    sys.modules["orjson"] = None  # type: ignore[assignment]  # the default install
    result = asyncio.run(profile(args.client, args.url, args.calls, args.concurrency))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
