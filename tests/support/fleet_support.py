"""A fleet of moderation workers for the tests: the example's arq workers (processes), its
producer, the emulator served by its command line with a rate limit (and faults), and real
Redis servers. ``tests/examples/test_fleet.py`` runs it small; ``make stress`` and ``make bench``
larger; ``python -m tests.support.fleet_support`` prints one run's figures."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import redis

from stream_moderation import Stream
from tests.support.redis_support import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "arq_workers.py"
KEY, SECRET = "fleet-key", "fleet-secret-that-is-long-enough-for-hs256"
TEXTS = ["hello there", "Buy now! Click here for free money", "You are an idiot and a loser"]


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[bytes]

    def admin(self, path: str) -> Any:
        token = jwt.encode({"server": True}, SECRET, algorithm="HS256")
        response = httpx.get(
            f"{self.url}{path}",
            params={"api_key": KEY},
            headers={"Authorization": token, "Stream-Auth-Type": "jwt"},
        )
        response.raise_for_status()
        return response.json()


@contextlib.contextmanager
def served_emulator(limit: int, window: int, faults: list[str]) -> Iterator[Emulator]:
    port = free_port()
    argv = [sys.executable, "-m", "stream_moderation.testing", "--port", str(port)]
    argv += ["--api-key", KEY, "--api-secret", SECRET, "--log-level", "warning"]
    argv += ["--rate-limit", f"check={limit}", "--rate-window", str(window)]
    for fault in faults:
        argv += ["--fault", fault]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/_emulator/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        yield Emulator(url, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def review_queue(url: str) -> dict[str, Counter[str]]:
    """What a moderator sees: the review queue's items and their flags, per entity id."""
    items: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    with Stream(KEY, SECRET, base_url=url) as client:
        for item in client.moderation.query_review_queue.iter(limit=100):
            items[item.entity_id] += 1
            flags[item.entity_id] += item.flags_count
    return {"items": items, "flags": flags}


def write_messages(path: Path, n: int) -> list[str]:
    ids = [f"msg-{i:05d}" for i in range(n)]
    with path.open("w") as out:
        for i, message_id in enumerate(ids):
            row = {"id": message_id, "user_id": f"user-{i % 7}", "text": TEXTS[i % 3]}
            out.write(json.dumps(row) + "\n")
    return ids


@dataclass
class Fleet:
    """The outcome of one run: what the workers stored, what the emulator saw."""

    results: dict[str, dict[str, Any]]
    workers: dict[str, dict[str, Any]]
    check_counts: dict[str, int]
    rate_limited: dict[str, int]
    """429s of the emulator's limit per window (its reset), the whole fleet."""
    faults: dict[str, int]
    seconds: float
    exit_codes: list[int]
    stderr: list[str]
    windows: int
    killed_pid: int | None = None
    killed_while: list[str] = field(default_factory=list)
    """The messages the killed worker was checking when it was killed."""
    timeline: list[tuple[float, int]] = field(default_factory=list)
    """(seconds since the workers started, messages with a result), as it went."""
    queue_items: Counter[str] = field(default_factory=Counter)
    """Review queue items per entity id."""
    flags: Counter[str] = field(default_factory=Counter)
    """Flags on the review queue items, per entity id."""

    @property
    def total_429(self) -> int:
        return sum(self.rate_limited.values())

    def throughput(self) -> float:
        """Checks answered per second, from the first result to the last."""
        (first, _), (last, done) = self.timeline[0], self.timeline[-1]
        return (done - 1) / (last - first) if last > first else 0.0

    @property
    def checked_twice(self) -> int:
        return sum(1 for n in self.check_counts.values() if n > 1)


def run_fleet(
    tmp: Path,
    *,
    n: int,
    workers: int = 4,
    limit: int,
    window: int,
    coordinator: str = "redis",  # "redis", "off", or "down" (down at start, then started)
    faults: tuple[str, ...] = (),
    kill_after: float | None = None,
    kill_redis_after: float | None = None,
    start_redis_after: float | None = None,
    max_jobs: int = 4,
    job_timeout: float = 3.0,
    timeout: float = 120.0,
) -> Fleet:
    """Enqueue ``n`` messages, run ``workers`` worker processes (burst: each stops once the
    queue is empty) and wait for them. ``kill_after``: SIGKILL the first worker once that
    fraction of the messages has a result; ``start_redis_after`` / ``kill_redis_after``:
    start / SIGKILL the coordinator's Redis then."""
    broker = RedisServer().start()
    limits_server = RedisServer() if coordinator != "off" else None
    if limits_server is not None and coordinator == "redis":
        limits_server.start()
    ids = write_messages(tmp / "messages.jsonl", n)
    env = {
        **os.environ,
        "REDIS_URL": broker.url,
        "RATE_LIMITS_URL": limits_server.url if limits_server else "off",
        "RATE_LIMITS_FALLBACK": "1" if coordinator == "down" else "0",
        "RATE_LIMITS_RECONNECT_AFTER": "0.3",
        "STREAM_API_KEY": KEY,
        "STREAM_API_SECRET": SECRET,
        "CONFIG_KEY": "fleet",
        "MAX_JOBS": str(max_jobs),
        "JOB_TIMEOUT": str(job_timeout),
        "PYTHONPATH": str(ROOT),
    }
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp / f"worker-{i}.log" for i in range(workers)]
    try:
        with served_emulator(limit, window, list(faults)) as emulator:
            env["STREAM_BASE_URL"] = emulator.url
            subprocess.run(
                [sys.executable, str(EXAMPLE), "enqueue", str(tmp / "messages.jsonl"), "--demo"],
                env=env,
                check=True,
                capture_output=True,
                timeout=60,
            )
            queue = redis.Redis(port=broker.port)
            started = time.monotonic()
            for log in logs:
                with log.open("wb") as out:
                    procs.append(
                        subprocess.Popen(
                            [sys.executable, str(EXAMPLE), "worker", "--burst"],
                            env=env,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                        )
                    )
            fleet_extra: dict[str, Any] = {}
            timeline: list[tuple[float, int]] = []
            killed = redis_killed = redis_started = False
            while any(p.poll() is None for p in procs):
                elapsed = time.monotonic() - started
                if elapsed > timeout:
                    raise TimeoutError(f"the fleet did not finish in {timeout} s")
                done = queue.hlen("moderation:results")
                if done and (not timeline or timeline[-1][1] != done):
                    timeline.append((round(elapsed, 2), done))
                if kill_after is not None and not killed and done >= kill_after * n:
                    victim = str(procs[0].pid).encode()
                    running = [
                        m.decode()
                        for m, pid in queue.hgetall("moderation:running").items()
                        if pid == victim
                    ]
                    if running:  # in the middle of checks: kill it now
                        procs[0].send_signal(signal.SIGKILL)
                        killed = True
                        fleet_extra.update(killed_pid=procs[0].pid, killed_while=running)
                if limits_server is not None and not redis_started and start_redis_after:
                    redis_started = done >= start_redis_after * n
                    if redis_started:
                        limits_server.start()
                if limits_server is not None and not redis_killed and kill_redis_after:
                    redis_killed = done >= kill_redis_after * n
                    if redis_killed:
                        limits_server.kill()
                time.sleep(0.02)
            seconds = time.monotonic() - started
            fleet_extra["timeline"] = timeline
            stats = emulator.admin("/_emulator/stats")
            queue_view = review_queue(emulator.url)
            fleet_extra.update(queue_items=queue_view["items"], flags=queue_view["flags"])
            faults_seen = emulator.admin("/_emulator/faults") if faults else {}
            results = {
                k.decode(): json.loads(v) for k, v in queue.hgetall("moderation:results").items()
            }
            counters = {
                k.decode(): json.loads(v) for k, v in queue.hgetall("moderation:workers").items()
            }
            queue.close()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        broker.kill()
        if limits_server is not None:
            limits_server.kill()
    return Fleet(
        results=results,
        workers=counters,
        check_counts={k: v for k, v in stats["check_counts"].items() if k in set(ids)},
        rate_limited=stats["rate_limited"].get("check", {}),
        faults=dict(faults_seen.get("injected", {})),
        seconds=seconds,
        exit_codes=[p.returncode for p in procs],
        stderr=[log.read_text(errors="replace") for log in logs],
        windows=max(1, int(seconds // window) + 1),
        **fleet_extra,
    )


def measure(
    n: int, limit: int, window: int, coordinators: tuple[str, ...] = ("redis", "off")
) -> list[dict[str, Any]]:
    """The figures of ``make bench``'s fleet row: 4 workers with the Redis coordinator and
    without one, against the same limit."""
    import tempfile

    rows = []
    for coordinator in coordinators:
        with tempfile.TemporaryDirectory() as tmp:
            fleet = run_fleet(
                Path(tmp),
                n=n,
                limit=limit,
                window=window,
                coordinator=coordinator,
                # a call may wait a whole window for the fleet's pause: its deadline (80% of
                # the job's timeout) must outlast that, or it is sent with too little time
                job_timeout=max(3.0, 3.0 * window),
            )
        rows.append(
            {
                "coordinator": coordinator,
                "checks": len(fleet.results),
                "checked_twice": fleet.checked_twice,
                "checks_per_s": fleet.throughput(),
                "limit_per_s": limit / window,
                "rate_limited": fleet.total_429,
                "most_429_in_a_window": max(fleet.rate_limited.values(), default=0),
                "windows": len(fleet.rate_limited),
            }
        )
    return rows


if __name__ == "__main__":
    for row in measure(600, 50, 2):
        print(row)
