"""``make bench``: every measurement of the suite, side by side in one run.

``python -m bench [--quick] [--only SECTION,...] [--out DIR]``. Sections: parse, percall,
imports, memory, check_many, emulator_text, profile, fleet. Each measurement runs in processes
of its own (the servers in others); this process only starts them and gathers what they
print. Writes ``DIR/latest.json`` (everything), ``DIR/latest.md`` (the tables) and, with
matplotlib, ``DIR/latest.png``; prints the tables.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import imports as import_bench
from bench.clients import CLIENTS
from bench.payloads import body
from bench.report import write_report

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = (
    "parse",
    "percall",
    "imports",
    "memory",
    "check_many",
    "emulator_text",
    "profile",
    "fleet",
)
CHECK_MANY = ROOT / "bench" / "check_many_throughput.py"
DEFAULT_OUT = ROOT / "bench" / "results"
README_START = "<!-- bench:start (written by make bench) -->"
README_END = "<!-- bench:end -->"


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _run_json(*args: str, timeout: float = 1800) -> Any:
    """Run ``python -m ARGS`` in a fresh process; the JSON on the last line of its output."""
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def servers(names: list[str]) -> Iterator[dict[str, str]]:
    """One fixed-body server process per body; yields body -> base URL."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-bodies-"))
    procs: list[subprocess.Popen[str]] = []
    urls: dict[str, str] = {}
    try:
        for name in names:
            path = tmp / f"{name}.json"
            path.write_bytes(body(name))
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.server", str(path), "--lifetime", "7200"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            procs.append(proc)
            assert proc.stdout is not None
            urls[name] = f"http://127.0.0.1:{int(proc.stdout.readline())}"
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
        for path in tmp.iterdir():
            path.unlink()
        tmp.rmdir()


def clients_available() -> list[str]:
    names = []
    for name in CLIENTS:
        if "aiohttp" in name and not _available("aiohttp"):
            continue
        if "orjson" in name and not _available("orjson"):
            continue
        if name == "getstream" and not _available("getstream"):
            continue
        names.append(name)
    return names


def run_percall(urls: dict[str, str], quick: bool, repeats: int) -> dict[str, Any]:
    concurrency = ["1", "4"] if quick else ["1", "50"]
    budget, min_calls = ("0.01", "5") if quick else ("1.0", "100")
    samples: dict[str, dict[str, dict[str, list[dict[str, float]]]]] = {}
    for _ in range(repeats):
        for client in clients_available():
            # getstream's models crash on RFC 3339 timestamps: it gets the same lean body
            # with nanoseconds
            lean = urls["lean_ns"] if client == "getstream" else urls["lean"]
            out = _run_json(
                "bench.percall",
                client,
                "--url",
                f"lean={lean}",
                "--url",
                f"heavy={urls['heavy']}",
                "--concurrency",
                *concurrency,
                "--budget",
                budget,
                "--min-calls",
                min_calls,
            )
            for body_name, by_conc in out.items():
                for conc, m in by_conc.items():
                    samples.setdefault(client, {}).setdefault(body_name, {}).setdefault(
                        conc, []
                    ).append(m)
    result: dict[str, Any] = {}
    for client, by_body in samples.items():
        for body_name, by_conc in by_body.items():
            for conc, ms in by_conc.items():
                # the best run: the least disturbed by whatever else the machine does
                result.setdefault(client, {}).setdefault(body_name, {})[conc] = {
                    "cpu": min(m["cpu"] for m in ms),
                    "wall": min(m["wall"] for m in ms),
                    "calls": sum(int(m["calls"]) for m in ms),
                    "samples": [m["cpu"] for m in ms],
                }
    return {"concurrency": [int(c) for c in concurrency], "clients": result}


def run_imports(urls: dict[str, str], quick: bool) -> dict[str, Any]:
    candidates: dict[str, list[str]] = {
        "httpx": ["httpx"],
        "httpx + first request": import_bench.first_check_modules("httpx", urls["heavy"]),
        "stream_moderation": ["stream_moderation"],
        "stream_moderation + first check (lean)": import_bench.first_check_modules(
            "sdk", urls["lean"]
        ),
        "stream_moderation + first check (heavy)": import_bench.first_check_modules(
            "sdk", urls["heavy"]
        ),
    }
    if _available("getstream"):
        candidates["getstream"] = ["getstream"]
        candidates["getstream + first check (heavy)"] = import_bench.first_check_modules(
            "getstream", urls["heavy"]
        )
    cache = Path(tempfile.mkdtemp(prefix="bench-pyc-"))
    runs_cached, runs_cold = (1, 1) if quick else (9, 3)
    # quick: compile from source only for httpx (cold runs take a second each)
    cold_names = ["httpx"] if quick else list(candidates)
    cached: dict[str, list[float]] = {name: [] for name in candidates}
    cold: dict[str, list[float]] = {name: [] for name in candidates}
    try:
        for modules in candidates.values():  # write the bytecode
            import_bench.time_imports(modules, cache=cache)
        for _ in range(runs_cached):
            for name, modules in candidates.items():
                cached[name].append(import_bench.time_imports(modules, cache=cache))
        for _ in range(runs_cold):
            for name in cold_names:
                cold[name].append(import_bench.time_imports(candidates[name], cache=None))
        top = import_bench.importtime_top(
            candidates["stream_moderation + first check (heavy)"], cache=cache
        )
    finally:
        subprocess.run(["rm", "-rf", str(cache)], check=False)
    return {
        name: {
            "cached": min(cached[name]),
            "cold": min(cold[name]) if cold[name] else None,
            "cached_median": statistics.median(cached[name]),
            "modules": len(modules),
            "sdk_models": sum(".models." in m for m in modules),
        }
        for name, modules in candidates.items()
    } | {"_top_sdk_first_check": top}


def run_memory(urls: dict[str, str], quick: bool) -> dict[str, Any]:
    calls = "100" if quick else "20000"
    clients = [c for c in ("sdk", "sdk_aiohttp") if c in clients_available()]
    return {
        c: _run_json("bench.memory", c, urls["heavy"], "--calls", calls, timeout=3600)
        for c in clients
    }


@contextlib.contextmanager
def served_emulator() -> Iterator[str]:
    """The emulator served in a process of its own (``python -m stream_moderation.testing``);
    yields its base URL."""
    from bench.clients import KEY, SECRET

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen(
        [sys.executable, "-m", "stream_moderation.testing", "--port", str(port),
         "--api-key", KEY, "--api-secret", SECRET, "--log-level", "warning"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or emulator.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        yield url
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def run_check_many(quick: bool) -> dict[str, Any]:
    """The workers' check_many throughput (bench/check_many_throughput.py) at 1-100 in flight.

    Against the emulator served in a process of its own, with a stored config for the
    checks to use; the script runs in another process and prints its figures as JSON
    (``--json``).
    """
    if not CHECK_MANY.exists():
        return {"status": "pending: bench/check_many_throughput.py lands with check_many"}
    from bench.clients import KEY, SECRET
    from stream_moderation import Stream

    with served_emulator() as url:
        with Stream(KEY, SECRET, base_url=url) as client:
            client.moderation.upsert_config(
                key="bench", ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]}
            )
        count, concurrency = ("20", ["1", "10"]) if quick else ("2000", ["1", "10", "50", "100"])
        proc = subprocess.run(
            [sys.executable, str(CHECK_MANY), "--json", "--base-url", url,
             "--config-key", "bench", "--api-key", KEY, "--api-secret", SECRET,
             "--count", count, "--concurrency", *concurrency],
            cwd=ROOT, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"check_many_throughput failed:\n{proc.stderr[-3000:]}")
        rows = json.loads(proc.stdout.strip().splitlines()[-1])["rows"]
    return {
        "status": "measured",
        "calls_per_s": {str(r["concurrency"]): r["calls_per_second"] for r in rows},
        "failed": {str(r["concurrency"]): r["failed"] for r in rows},
        "items": int(count),
    }


def run_emulator_text(quick: bool) -> dict[str, Any]:
    """The served emulator's check time by text size (bench/emulator_text.py)."""
    from bench.clients import KEY, SECRET

    with served_emulator() as url:
        result: dict[str, Any] = _run_json(
            "bench.emulator_text", "--base-url", url, "--api-key", KEY, "--api-secret", SECRET,
            *(["--quick"] if quick else []),
        )  # fmt: skip
    return result


def run_fleet(quick: bool) -> dict[str, Any]:
    """4 arq worker processes (examples/arq_workers.py) against the served emulator limiting
    ``check`` to L per window: the fleet's checks/s against L, with the Redis coordinator
    and without one (tests/support/fleet_support.py; needs redis-server)."""
    from tests.support.fleet_support import measure

    if quick:  # one small run: the code works
        return {"n": 20, "limit": 20, "window": 1, "rows": measure(20, 20, 1, ("redis",))}
    n, limit, window = 1200, 100, 5
    return {"n": n, "limit": limit, "window": window, "rows": measure(n, limit, window)}


def run_profile(urls: dict[str, str], quick: bool) -> dict[str, Any]:
    calls = "20" if quick else "3000"
    return {
        c: _run_json("bench.profile", c, urls["heavy"], "--calls", calls, "--concurrency", "50")
        for c in ("sdk", "sdk_aiohttp")
        if c in clients_available()
    }


def update_readme(readme: Path, tables: str) -> None:
    """Put a full run's tables between the bench markers of docs/performance.md (if it has them)."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{tables}{README_END}{tail}")


def machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    packages = {}
    for name in (
        "stream-moderation",
        "httpx",
        "httpcore",
        "h11",
        "aiohttp",
        "orjson",
        "attrs",
        "getstream",
        "dataclasses-json",
    ):
        with contextlib.suppress(PackageNotFoundError):
            packages[name] = version(name)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks it runs")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--repeats", type=int, default=3, help="per-call runs per client")
    parser.add_argument("--no-chart", action="store_true")
    args = parser.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if "fleet" in only:
        from tests.support.redis_support import redis_server_binary

        redis_server_binary()  # fail now, not after the minutes the other sections take
    repeats = 1 if args.quick else args.repeats
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    started = time.perf_counter()
    with servers(["lean", "lean_ns", "heavy"]) as urls:
        for section in only:
            print(f"[bench] {section} ...", file=sys.stderr, flush=True)
            if section == "parse":
                results["parse"] = _run_json("bench.parse", *(["--quick"] if args.quick else []))
            elif section == "percall":
                results["percall"] = run_percall(urls, args.quick, repeats)
            elif section == "imports":
                results["imports"] = run_imports(urls, args.quick)
            elif section == "memory":
                results["memory"] = run_memory(urls, args.quick)
            elif section == "check_many":
                results["check_many"] = run_check_many(args.quick)
            elif section == "emulator_text":
                results["emulator_text"] = run_emulator_text(args.quick)
            elif section == "profile":
                results["profile"] = run_profile(urls, args.quick)
            elif section == "fleet":
                results["fleet"] = run_fleet(args.quick)
    results["seconds"] = time.perf_counter() - started
    results["machine"]["load_after"] = os.getloadavg()[0]
    text = write_report(results, args.out, chart=not args.no_chart)
    print(text)
    if not args.quick and set(only) == set(SECTIONS) and args.out == DEFAULT_OUT:
        update_readme(ROOT / "docs" / "performance.md", (args.out / "latest.md").read_text())
        print("docs/performance.md: tables updated", file=sys.stderr)


if __name__ == "__main__":
    main()
