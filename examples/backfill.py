"""Re-check a JSONL file of messages against a moderation config, with progress and a summary.

    python examples/backfill.py examples/messages.jsonl --emulator
    STREAM_API_KEY=... STREAM_API_SECRET=... python examples/backfill.py messages.jsonl \\
        --config-key my_config --concurrency 20 --out results.jsonl
    python examples/backfill.py messages.jsonl --base-url http://127.0.0.1:8080 --config-key c

One message per line: ``{"id": "msg-1", "user_id": "user-1", "text": "..."}`` (optional:
``"images"``: a list of URLs, ``"entity_type"``). The file is read as the batch goes, so
any size works. Lines that are not such objects are counted and skipped.

``--emulator`` runs against the in-process emulator (``stream_moderation.testing``, the
``testing`` extra) with a demo config; ``--base-url`` against any server; otherwise the
real API with STREAM_API_KEY / STREAM_API_SECRET. With the ``rich`` extra installed, a
progress bar and tables; without it, plain text.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import anyio
import httpx

from stream_moderation import AsyncStream, CheckItem, CheckResult

DEFAULT_ENTITY_TYPE = "stream:chat:v1:message"
DEMO_CONFIG = "backfill_demo"
EMULATOR_KEY, EMULATOR_SECRET = "emulator-key", "emulator-secret-" + "0" * 32


def read_messages(path: Path, skipped: Counter[str], entity_type: str) -> Iterator[CheckItem]:
    """The messages of a JSONL file as check items, one line at a time."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                payload: dict[str, Any] = {"texts": [row["text"]]}
                if row.get("images"):
                    payload["images"] = list(row["images"])
                yield CheckItem(
                    row.get("entity_type", entity_type),
                    str(row["id"]),
                    str(row["user_id"]),
                    payload,
                )
            except (ValueError, KeyError, TypeError) as exc:
                skipped[f"line {number}: {type(exc).__name__}"] += 1


def count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


# -- progress and summary: rich when installed, plain text otherwise ----------------------


class PlainProgress:
    def __init__(self, total: int | None) -> None:
        self.total = total
        self.last = 0.0

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        print(file=sys.stderr)

    def update(self, done: int, total: int | None, result: CheckResult[CheckItem]) -> None:
        now = time.monotonic()
        if now - self.last >= 0.5 or done == total:  # at most twice a second
            self.last = now
            of = f"/{total}" if total is not None else ""
            print(f"\rchecked {done}{of}", end="", file=sys.stderr, flush=True)


class RichProgress:
    def __init__(self, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[flagged]} flagged, {task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self.task = self.progress.add_task("check", total=total, flagged=0, failed=0)
        self.flagged = self.failed = 0

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, done: int, total: int | None, result: CheckResult[CheckItem]) -> None:
        if result.error is not None:
            self.failed += 1
        elif result.recommended_action != "keep":
            self.flagged += 1
        self.progress.update(
            self.task, completed=done, total=total, flagged=self.flagged, failed=self.failed
        )


def has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def print_summary(
    actions: Counter[str],
    errors: Counter[str],
    skipped: Counter[str],
    stats: dict[str, Any],
    use_rich: bool,
) -> None:
    rows = [(action, str(n)) for action, n in actions.most_common()]
    rows += [(f"error: {name}", str(n)) for name, n in errors.most_common()]
    if skipped:
        rows.append(("skipped lines", str(sum(skipped.values()))))
    footer = (
        f"{stats['done']} checked in {stats['seconds']:.1f} s "
        f"({stats['done'] / max(stats['seconds'], 1e-9):.0f}/s)"
        + (f", paused {stats['pauses']}x by rate limits" if stats["pauses"] else "")
    )
    if use_rich:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="recommended actions")
        table.add_column("outcome")
        table.add_column("count", justify="right")
        for outcome, n in rows:
            table.add_row(outcome, n)
        console = Console()
        console.print(table)
        console.print(footer)
    else:
        width = max((len(o) for o, _ in rows), default=7)
        for outcome, n in rows:
            print(f"{outcome:<{width}}  {n:>8}")
        print(footer)
    for where in sorted(skipped)[:5]:
        print(f"skipped {where}", file=sys.stderr)


# -- the run ----------------------------------------------------------------------------


def emulator_transport() -> httpx.AsyncBaseTransport:
    """The in-process emulator's transport (the testing extra)."""
    try:
        from stream_moderation import testing
    except ImportError as exc:
        raise SystemExit(
            "--emulator needs the emulator (stream_moderation.testing, "
            "pip install 'stream-moderation[testing]'); it is not in this install"
        ) from exc
    emulator = testing.Emulator(api_key=EMULATOR_KEY, api_secret=EMULATOR_SECRET)
    transport: httpx.AsyncBaseTransport = emulator.transport()
    return transport


async def backfill(args: argparse.Namespace) -> int:
    skipped: Counter[str] = Counter()
    path = Path(args.path)
    if args.emulator:
        client = AsyncStream(EMULATOR_KEY, EMULATOR_SECRET, transport=emulator_transport())
    else:
        client = AsyncStream(base_url=args.base_url, allow_insecure_http=args.base_url is not None)
    config_key = args.config_key
    async with client:
        if args.emulator and config_key is None:
            config_key = DEMO_CONFIG
            await client.moderation.upsert_config(
                key=config_key,
                ai_text_config={
                    "rules": [
                        {"label": "SPAM", "action": "flag"},
                        {"label": "HARASSMENT", "action": "remove"},
                    ]
                },
                block_list_config={"rules": [{"name": "profanity_en", "action": "remove"}]},
            )
        total = None if args.no_count else count_lines(path)
        use_rich = has_rich() and not args.plain
        actions: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        out: IO[str] | None = open(args.out, "w", encoding="utf-8") if args.out else None  # noqa: SIM115
        progress = RichProgress(total) if use_rich else PlainProgress(total)
        started = time.monotonic()

        def on_progress(done: int, total: int | None, result: CheckResult[CheckItem]) -> None:
            # The pre-count includes lines that turn out not to be messages.
            progress.update(done, None if total is None else total - skipped.total(), result)

        batch = client.moderation.check_many(
            read_messages(path, skipped, args.entity_type),
            concurrency=args.concurrency,
            config_key=config_key,
            ordered=args.ordered,
            progress=on_progress,
            total=total,
        )
        try:
            with progress:
                # The block form keeps requests going while the body writes results.
                async with batch as results:
                    async for result in results:
                        if result.error is not None:
                            errors[type(result.error).__name__] += 1
                        else:
                            actions[str(result.recommended_action)] += 1
                        if out is not None:
                            out.write(json.dumps(record(result)) + "\n")
        finally:
            if out is not None:
                out.close()
        stats = {
            "done": batch.done,
            "seconds": time.monotonic() - started,
            "pauses": batch.pauses,
        }
    print_summary(actions, errors, skipped, stats, use_rich)
    return 1 if errors else 0


def record(result: CheckResult[CheckItem]) -> dict[str, Any]:
    row: dict[str, Any] = {"id": result.item.entity_id}
    if result.error is not None:
        row["error"] = str(result.error)
    else:
        row["recommended_action"] = result.recommended_action
        data = result.data
        if data is not None and data.item:
            row["review_queue_item"] = data.item.id
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="a JSONL file, one message per line")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--emulator", action="store_true", help="the in-process emulator")
    where.add_argument("--base-url", default=os.environ.get("STREAM_BASE_URL"))
    parser.add_argument("--config-key", help="the moderation config to check against")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--entity-type", default=DEFAULT_ENTITY_TYPE)
    parser.add_argument("--ordered", action="store_true", help="results in file order")
    parser.add_argument("--out", help="write one JSON result per line here")
    parser.add_argument("--no-count", action="store_true", help="do not pre-count lines")
    parser.add_argument("--plain", action="store_true", help="no rich output")
    args = parser.parse_args(argv)
    if not args.emulator and args.config_key is None:
        parser.error("--config-key is required (except with --emulator)")
    return anyio.run(backfill, args)


if __name__ == "__main__":
    sys.exit(main())
