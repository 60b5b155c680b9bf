"""``python -m stream_moderation.testing``: serve the emulator on a port.

Any HTTP client can then use it: send ``api_key`` as a query parameter and an HS256 JWT
signed with the secret in ``Authorization`` (with ``Stream-Auth-Type: jwt``), as with
Stream's API. The spec is served at ``/openapi.json``.

``--rate-limit 1000 --rate-limit check=20 --rate-window 10``: Stream-like rate limits (per
app and operation, fixed windows; X-RateLimit-* headers, 429 with Retry-After).

``--import DIR`` loads a saved state at start, ``--export-on-exit DIR`` saves it on exit
(and ``POST /_emulator/state/save`` at any time): see docs/emulator.md, "State".

``--fault KIND[:OPTION=VALUE,...]`` (repeatable) injects faults, e.g.
``--fault 503:rate=0.05,seed=1 --fault 429:times=3,retry-after=2,ops=check``; what was
injected is counted at ``GET /_emulator/faults``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stream-moderation-emulator",
        description="Serve a local emulator of Stream's Moderation API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("STREAM_EMULATOR_API_KEY"),
        help="API key to accept (default: $STREAM_EMULATOR_API_KEY or emulator-key)",
    )
    parser.add_argument(
        "--api-secret",
        default=os.environ.get("STREAM_EMULATOR_API_SECRET"),
        help="secret the JWTs are signed with (default: $STREAM_EMULATOR_API_SECRET or "
        "emulator-secret-not-for-production-use)",
    )
    parser.add_argument(
        "--timestamps",
        choices=("unix_ns", "rfc3339"),
        default="unix_ns",
        help="how v2 responses encode timestamps (default unix_ns, like the API)",
    )
    parser.add_argument("--webhook-url", help="POST signed webhook events to this URL")
    parser.add_argument(
        "--blocklist",
        action="append",
        default=[],
        metavar="NAME=WORD,WORD",
        help="register a block list (repeatable)",
    )
    parser.add_argument(
        "--users",
        metavar="FILE",
        help="users created outside the moderation API: a JSON file holding a list of ids "
        'or objects ({"id": "u1", "name": ..., "role": ...}), or {"users": [...]}',
    )
    parser.add_argument(
        "--import",
        dest="import_dir",
        metavar="DIR",
        help="load the state saved in DIR/state.json (by --export-on-exit or "
        "POST /_emulator/state/save) before serving",
    )
    parser.add_argument(
        "--export-on-exit",
        metavar="DIR",
        help="save the state to DIR/state.json on exit (SIGINT or SIGTERM); "
        "POST /_emulator/state/save writes it there at any time",
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="N|OPERATION=N",
        help="requests per app and operation per window (default 100000); OPERATION=N "
        "(repeatable) for one operation, e.g. check=20",
    )
    parser.add_argument(
        "--rate-window",
        type=int,
        default=None,
        metavar="SECONDS",
        help="seconds per rate-limit window (default 60, like Stream's)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:OPTION=VALUE,...]",
        help="inject a fault (repeatable; the first rule that fires answers): "
        "KIND is 500-599, 429, drop-before, drop-mid, stall, truncate, not-json, "
        "wrong-content-type or trickle; options times=N, rate=FRACTION, seed=N, "
        "ops=check+submit_action, body=html, retry-after=S, date=true, reset=S, seconds=S, "
        "chunks=N, keep=FRACTION, type=MEDIA. Counts at GET /_emulator/faults",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from ._app import DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW
        from ._emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, Emulator
        from ._injector import FaultInjector, parse_rule
        from ._server import run
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        print(
            f"the emulator needs the testing extra: pip install 'stream-moderation[testing]' "
            f"({exc})",
            file=sys.stderr,
        )
        return 2
    blocklists: dict[str, list[str]] = {}
    for spec in args.blocklist:
        name, _, words = spec.partition("=")
        if not name or not words:
            print(f"--blocklist wants NAME=WORD,WORD, got {spec!r}", file=sys.stderr)
            return 2
        blocklists[name] = [w.strip() for w in words.split(",") if w.strip()]
    try:
        rate_limit, rate_limits = _rate_limits(args.rate_limit, DEFAULT_RATE_LIMIT)
    except ValueError as exc:
        print(f"--rate-limit: {exc}", file=sys.stderr)
        return 2
    try:
        rules = [parse_rule(spec) for spec in args.fault]
    except ValueError as exc:
        print(f"--fault: {exc}", file=sys.stderr)
        return 2
    try:
        emulator = Emulator(
            args.api_key or DEFAULT_API_KEY,
            args.api_secret or DEFAULT_API_SECRET,
            timestamps=args.timestamps,
            webhook_url=args.webhook_url,
            blocklists=blocklists,
            rate_limit=rate_limit,
            rate_limits=rate_limits,
            rate_window=DEFAULT_RATE_WINDOW if args.rate_window is None else args.rate_window,
        )
    except ValueError as exc:
        print(f"stream-moderation-emulator: {exc}", file=sys.stderr)
        return 2
    if args.users:
        try:
            data = json.loads(Path(args.users).read_text())
            users = data.get("users") if isinstance(data, dict) else data
            if not isinstance(users, list):
                raise ValueError('expected a list of users, or {"users": [...]}')
            added = emulator.add_users(users)
        except (OSError, ValueError) as exc:
            print(f"--users {args.users}: {exc}", file=sys.stderr)
            return 2
        print(f"{len(added)} user(s) loaded from {args.users}", flush=True)
    if args.import_dir:
        from ._persist import StateFormatError

        try:
            path = emulator.load(args.import_dir)
        except StateFormatError as exc:
            print(f"--import: {exc}", file=sys.stderr)
            return 2
        print(f"state loaded from {path}", flush=True)
    if args.export_on_exit:
        emulator.export_dir = args.export_on_exit
    if rules:
        emulator.add_middleware(FaultInjector(rules))
    secret_source = "from --api-secret" if args.api_secret else f"the default, {DEFAULT_API_SECRET}"
    print(
        f"stream-moderation emulator on http://{args.host}:{args.port} "
        f"(api_key={emulator.api_key!r}, secret {secret_source}; spec at /openapi.json)",
        flush=True,
    )
    print(f"console at http://{args.host}:{args.port}/_emulator/ui", flush=True)
    limiter = emulator.app.limiter
    if rate_limits or rate_limit != DEFAULT_RATE_LIMIT or limiter.window != DEFAULT_RATE_WINDOW:
        per_op = "".join(f", {op} {n}" for op, n in sorted(rate_limits.items()))
        print(
            f"rate limits per {limiter.window} s window: {rate_limit} per operation{per_op}",
            flush=True,
        )
    for rule in rules:
        print(f"injecting faults: {rule.describe()}", flush=True)
    try:
        run(emulator.app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        if args.export_on_exit:
            path = emulator.save(args.export_on_exit)
            print(f"state saved to {path}", flush=True)
    return 0


def _rate_limits(specs: Sequence[str], default: int) -> tuple[int, dict[str, int]]:
    """``--rate-limit N`` (every operation) and ``--rate-limit OPERATION=N`` (one)."""
    limit, limits = default, {}
    for spec in specs:
        name, _, value = spec.rpartition("=")
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"want N or OPERATION=N, got {spec!r}") from None
        if name:
            limits[name.strip()] = number
        else:
            limit = number
    return limit, limits


if __name__ == "__main__":
    raise SystemExit(main())
