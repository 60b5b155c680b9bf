"""A fleet of moderation workers on arq (asyncio jobs over Redis), sharing one rate limit.

    python examples/arq_workers.py enqueue examples/messages.jsonl --demo   # the producer
    python examples/arq_workers.py worker            # run as many as you like, anywhere
    python examples/arq_workers.py results           # what the workers stored

(``arq examples.arq_workers.WorkerSettings`` runs a worker too.) The producer enqueues one
job per message (its id is the job's, so a message enqueued twice is one job). Each
worker process makes one ``AsyncStream`` when it starts, and its jobs check their message
through it; the answer (or the error that ended the job) is stored in the Redis hash
``moderation:results``, keyed by message id.

All workers share the app's rate limit through ``RedisRateLimits``: a 429 or an exhausted
window seen by one of them holds all of them back until the reset, and they pace
themselves to the window's quota. If that Redis is unreachable, checks go on (each worker
on its own) until it is back.

A job whose check was refused (429, 503, a connection that failed before sending) or whose
answer was lost is run again by arq (``Retry``), as is every job of a worker that dies:
arq takes a job off its queue only when it completes, and another worker runs it once the
dead one's claim expires (the job timeout + 10 s). A job run again sends its check again:
Stream does not document a repeated check as a no-op (the emulator answers an identical
re-check as the first, recording nothing twice).

Settings, from the environment: ``REDIS_URL`` (arq's queue and the results; default
``redis://localhost:6379/0``), ``RATE_LIMITS_URL`` (the coordinator's Redis; default
``REDIS_URL``; ``off``: every worker on its own), ``RATE_LIMITS_FALLBACK=1`` (start even
when that Redis is unreachable), ``RATE_LIMITS_RECONNECT_AFTER`` (seconds between tries
while it is, default 5), ``STREAM_API_KEY``, ``STREAM_API_SECRET``,
``STREAM_BASE_URL``, ``CONFIG_KEY`` (default ``demo``), ``MAX_JOBS`` (jobs at once per
worker, default 10), ``JOB_TIMEOUT`` (seconds, default 300).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from arq import Retry, create_pool, run_worker
from arq.connections import RedisSettings

from stream_moderation import (
    APIConnectionError,
    AsyncStream,
    InternalServerError,
    RateLimitError,
    RedisRateLimits,
    StreamError,
)

RESULTS = "moderation:results"
"""Message id -> JSON of what its check answered (or the error that ended it)."""
RUNNING = "moderation:running"
"""Message id -> pid of the worker checking it now (left behind by a worker that died)."""
WORKERS = "moderation:workers"
"""Worker pid -> JSON of its counters (checks, 429s seen, Redis outages)."""
ENTITY_TYPE = "stream:chat:v1:message"

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
RATE_LIMITS_URL = os.environ.get("RATE_LIMITS_URL", REDIS_URL)
CONFIG_KEY = os.environ.get("CONFIG_KEY", "demo")
JOB_TIMEOUT = float(os.environ.get("JOB_TIMEOUT", "300"))

# The check was refused (429, 5xx), or no answer came (a timeout, a lost connection, a lost
# answer: ResponseLostError): run the job again.
RUN_AGAIN = (RateLimitError, InternalServerError, APIConnectionError)


async def startup(ctx: dict[str, Any]) -> None:
    """Once per worker process: its client (and the fleet's rate limits)."""
    limits = None
    if RATE_LIMITS_URL != "off":
        limits = RedisRateLimits(
            RATE_LIMITS_URL,
            fallback=os.environ.get("RATE_LIMITS_FALLBACK") == "1",
            reconnect_after=float(os.environ.get("RATE_LIMITS_RECONNECT_AFTER", "5")),
        )
    # a call may wait for the fleet's pause; it must end (and the job be retried) before
    # arq's job timeout does (arq does not retry a job that timed out)
    client = AsyncStream(rate_limits=limits, deadline=JOB_TIMEOUT * 0.8)
    await client.__aenter__()  # starts the rate limits: a bad RATE_LIMITS_URL fails here
    ctx.update(client=client, limits=limits, counters=Counter[str]())


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["client"].aclose()
    if ctx["limits"] is not None:
        await ctx["limits"].aclose()


async def check_message(ctx: dict[str, Any], message: dict[str, str]) -> str:
    """The job: check one message, store what it answered."""
    client: AsyncStream = ctx["client"]
    ctx["counters"]["checks"] += 1  # ctx itself is a copy per job
    await ctx["redis"].hset(RUNNING, message["id"], os.getpid())
    try:
        response = await client.moderation.check(
            entity_type=ENTITY_TYPE,
            entity_id=message["id"],
            entity_creator_id=message["user_id"],
            moderation_payload={"texts": [message["text"]]},
            config_key=CONFIG_KEY,
        )
    except RUN_AGAIN as exc:
        raise Retry(defer=getattr(exc, "retry_after", None) or 1.0) from exc
    except StreamError as exc:  # the API refused this message: stored, not retried
        result: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    else:
        data = response.data
        result = {"recommended_action": data.recommended_action}
        if data.item:  # the review queue item, when flagged or removed
            result["item_id"] = data.item.id
    finally:
        await ctx["redis"].hdel(RUNNING, message["id"])
        await record(ctx)
    result.update(worker=os.getpid(), job_try=ctx["job_try"])
    await ctx["redis"].hset(RESULTS, message["id"], json.dumps(result))
    return str(result.get("recommended_action", "error"))


async def record(ctx: dict[str, Any]) -> None:
    limits = ctx["limits"]
    counters = {
        "checks": ctx["counters"]["checks"],
        "rate_limited": limits.rate_limited if limits else None,
        "redis_outages": limits.outages if limits else None,
    }
    await ctx["redis"].hset(WORKERS, str(os.getpid()), json.dumps(counters))


class WorkerSettings:
    functions = [check_message]  # noqa: RUF012 - arq's settings are class attributes
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    max_jobs = int(os.environ.get("MAX_JOBS", "10"))
    job_timeout = JOB_TIMEOUT
    max_tries = 50  # a job is retried while refused; a message that fails is stored
    keep_result = 0  # the results live in moderation:results


# -- the producer and the results -----------------------------------------------------------


def read_messages(path: Path) -> list[dict[str, str]]:
    messages = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            messages.append({k: str(row[k]) for k in ("id", "user_id", "text")})
    return messages


async def enqueue(path: Path, demo_config: bool) -> None:
    if demo_config:
        async with AsyncStream() as client:
            await client.moderation.upsert_config(
                key=CONFIG_KEY,
                ai_text_config={
                    "rules": [
                        {"label": "SPAM", "action": "flag"},
                        {"label": "HARASSMENT", "action": "remove"},
                    ]
                },
            )
    pool = await create_pool(RedisSettings.from_dsn(REDIS_URL))
    try:
        new = 0
        messages = read_messages(path)
        for message in messages:
            job = await pool.enqueue_job("check_message", message, _job_id=f"check:{message['id']}")
            new += job is not None
        print(f"enqueued {new} of {len(messages)} messages ({len(messages) - new} already were)")
    finally:
        await pool.aclose()


async def results() -> None:
    pool = await create_pool(RedisSettings.from_dsn(REDIS_URL))
    try:
        stored = {k.decode(): json.loads(v) for k, v in (await pool.hgetall(RESULTS)).items()}
        workers = await pool.hgetall(WORKERS)
    finally:
        await pool.aclose()
    actions = Counter(r.get("recommended_action", r.get("error")) for r in stored.values())
    print(f"{len(stored)} messages checked: " + ", ".join(f"{n} {a}" for a, n in actions.items()))
    for pid, counters in sorted(workers.items()):
        print(f"worker {pid.decode()}: {counters.decode()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    produce = commands.add_parser("enqueue", help="enqueue one job per message of a JSONL file")
    produce.add_argument("path", type=Path)
    produce.add_argument("--demo", action="store_true", help=f"upsert a demo {CONFIG_KEY!r} first")
    work = commands.add_parser("worker", help="run a worker")
    work.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    commands.add_parser("results", help="summarise the stored results")
    args = parser.parse_args(argv)
    if args.command == "enqueue":
        asyncio.run(enqueue(args.path, args.demo))
    elif args.command == "worker":
        run_worker(WorkerSettings, burst=args.burst)  # type: ignore[arg-type]
    else:
        asyncio.run(results())
    return 0


if __name__ == "__main__":
    sys.exit(main())
