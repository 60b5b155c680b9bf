"""``make test-releases``: for each release in the lock, a scratch copy of the project is
regenerated from it and checked there as ``make test`` checks the real one: drift check,
mypy --strict over the handwritten code against the regenerated models, the test suite
(but for the tests marked ``release_independent``, which ``make test`` runs once).

Also a *constructed* release (``construct_release``): the default release plus one change
of each kind a spec update brings (a new operation, a new required response field, new
required fields and a new schema on the core responses, ``CheckResponse`` and the
review-queue item, an optional field removed, an operation removed, an enum value added
and one removed, a renamed response schema), pinned from a folder like any other. It
proves that the SDK picks up what is new and tolerates what went, and that the emulator
answers what it has no semantics for through its spec-driven fallback without a 500, with
the rest of the suite passing unedited.

Nothing here touches the project itself: each release runs in its own temporary copy
(kept, and named, when it fails), with this interpreter and ``PYTHONPATH`` pointing at the
copy; two at a time on a machine with two CPUs or more. The other release the suite
regenerates alongside (``STREAM_TEST_OTHER_RELEASE``) is switched off there, since every
release gets a run of its own.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import specs

__all__ = ["CONSTRUCTED", "check_releases", "construct_release", "copy_project", "run_release"]

ROOT = specs.ROOT
CONSTRUCTED = "v236.99.0-constructed"
"""The name of the constructed release (``info.version`` of both of its files)."""
_SKIP = {".git", ".venv", ".venv-bench", ".venv-getstream", "build", "__pycache__"}
_SKIP |= {".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def release_order(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def copy_project(dest: Path) -> Path:
    """A copy of the working tree (with the materialised specs, without venvs and caches),
    next to a link to the shared folder the project's own sits next to (specs, fixtures)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _SKIP or n.endswith(".pyc")}

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    shared, link = ROOT.parent / "shared", dest.parent / "shared"
    if shared.is_dir():
        # releases are copied side by side at once: another copy may have made the link
        with contextlib.suppress(FileExistsError):
            link.symlink_to(shared, target_is_directory=True)
    return dest


# ---------------------------------------------------------------------------------------
# The constructed release
# ---------------------------------------------------------------------------------------

NEW_OPERATION = "get_moderation_insights"
NEW_PATH = "/api/v2/moderation/insights"
NEW_REQUIRED_FIELD = ("ModerationRuleV2Response", "priority")
NEW_ENUM_VALUE = ("SubmitActionRequest", "action_type", "quarantine")
RENAMED = ("ModerationBanResponse", "BanUserResponse")
# The responses every user touches: new required fields (a string, a timestamp, a number
# and an object of a new schema), as a release that makes the spec stricter brings them.
NEW_CORE_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "CheckResponse": {
        "decision_id": {"type": "string", "description": "The id of this moderation decision"},
        "evaluated_at": {"type": "number", "format": "date-time"},
    },
    "ReviewQueueItemResponse": {
        "risk_score": {"type": "number", "format": "float"},
        "assignment": {"$ref": "#/components/schemas/QueueAssignmentResponse"},
    },
}
NEW_SCHEMA = "QueueAssignmentResponse"
REMOVED_FIELD = ("ReviewQueueItemResponse", "completed_at")
"""An optional field the emulator sets (when an item is reviewed)."""
REMOVED_OPERATION = "unmute"
"""An operation the emulator has semantics for (and the getstream scenario calls)."""
REMOVED_ENUM_VALUE = ("SubmitActionRequest", "action_type", "shadow_block")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def construct_release(base: str, folder: Path, version: str = CONSTRUCTED) -> Path:
    """Write ``folder/`` with both files of ``base`` (a pinned release) plus one change of
    each kind, as release ``version``; return the folder."""
    paths = specs.materialise(base)
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in paths.items():
        doc: dict[str, Any] = yaml.load(path.read_bytes(), Loader=_LOADER)
        doc["info"]["version"] = version
        if name == "moderation-serverside-api.yaml":
            _change(doc)
        (folder / name).write_text(yaml.dump(doc, Dumper=_DUMPER, sort_keys=False))
    return folder


def _change(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    # a new operation, with a query parameter and a response schema of its own
    schemas["ModerationInsightsResponse"] = {
        "type": "object",
        "required": ["duration", "flagged_today", "window"],
        "properties": {
            "duration": {"type": "string"},
            "flagged_today": {"type": "integer", "format": "int32"},
            "window": {"type": "string"},
            "top_labels": {"type": "array", "items": {"type": "string"}},
        },
    }
    doc["paths"][NEW_PATH] = {
        "get": {
            "operationId": NEW_OPERATION,
            "summary": "Moderation insights",
            "tags": ["product:moderation"],
            "parameters": [
                {"name": "window", "in": "query", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "Response",
                    "content": {"application/json": {"schema": _ref("ModerationInsightsResponse")}},
                },
                "400": {
                    "description": "Bad request",
                    "content": {"application/json": {"schema": _ref("APIError")}},
                },
            },
        }
    }
    # a new required field in a response the emulator has semantics for
    schema, field = NEW_REQUIRED_FIELD
    schemas[schema]["properties"][field] = {"type": "integer", "format": "int32"}
    schemas[schema]["required"] = [*schemas[schema]["required"], field]
    # a new enum value
    schema, field, value = NEW_ENUM_VALUE
    schemas[schema]["properties"][field]["enum"].append(value)
    # new required fields in the core responses, one of them of a new schema
    schemas[NEW_SCHEMA] = {
        "type": "object",
        "required": ["queue_id", "assigned_at"],
        "properties": {
            "queue_id": {"type": "string"},
            "assigned_at": {"type": "number", "format": "date-time"},
            "assignee_id": {"type": "string"},
        },
    }
    for schema, fields in NEW_CORE_FIELDS.items():
        schemas[schema]["properties"].update(fields)
        schemas[schema]["required"] = [*schemas[schema]["required"], *fields]
    # an optional field removed
    schema, field = REMOVED_FIELD
    del schemas[schema]["properties"][field]
    # an operation removed (its request and response schemas stay: others may use them)
    for path, item in list(doc["paths"].items()):
        for method, op in list(item.items()):
            if isinstance(op, dict) and op.get("operationId") == REMOVED_OPERATION:
                del item[method]
        if not any(isinstance(op, dict) and "operationId" in op for op in item.values()):
            del doc["paths"][path]
    # an enum value removed
    schema, field, value = REMOVED_ENUM_VALUE
    schemas[schema]["properties"][field]["enum"].remove(value)
    # a renamed response schema
    old, new = RENAMED
    schemas[new] = schemas.pop(old)
    for item in doc["paths"].values():
        for op in item.values():
            for response in op.get("responses", {}).values():
                media = response.get("content", {}).get("application/json", {})
                if media.get("schema") == _ref(old):
                    media["schema"] = _ref(new)


# ---------------------------------------------------------------------------------------
# Running a release in a scratch copy
# ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    version: str
    ok: bool
    seconds: float
    summary: str
    """pytest's last line, or the step that failed."""
    gaps: list[str]
    """The warnings about what the emulator does not emulate in that release."""
    scratch: Path


def _env(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_SPECS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(scratch / "src"), str(scratch)])
    env["STREAM_SPECS_SHARED_DIR"] = str(specs.shared_dir())
    env["STREAM_TEST_OTHER_RELEASE"] = ""
    env["STREAM_TEST_RELEASES_SCRATCH"] = "1"
    env.setdefault("STREAM_GETSTREAM_PYTHON", str(ROOT / ".venv-getstream" / "bin" / "python"))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _pytest_args() -> tuple[str, ...]:
    """The tests whose outcome no release changes (``release_independent``: transports,
    the fleet, the benchmarks) ran in ``make test``; here, on ``TEST_WORKERS`` workers."""
    workers = os.environ.get("TEST_WORKERS", "2")
    return ("-m", "not release_independent", "-n", workers)


def _step(scratch: Path, log: Any, *args: str) -> subprocess.CompletedProcess[str]:
    log.write(f"$ {' '.join(args)}\n")
    log.flush()
    result = subprocess.run(
        [sys.executable, *args], cwd=scratch, env=_env(scratch), capture_output=True, text=True
    )
    log.write(result.stdout + result.stderr)
    log.flush()
    return result


def run_release(version: str, scratch: Path, *, source: Path | None = None) -> Outcome:
    """Regenerate ``scratch`` (a copy of the project) from ``version`` and check it there."""
    started = time.monotonic()
    with (scratch / "test-releases.log").open("w") as log:
        steps: list[tuple[str, ...]] = []
        if source is not None:
            steps.append(("-m", "codegen", "pin-spec", version, "--source", str(source)))
        steps += [
            ("-m", "codegen", "generate", "--version", version),
            ("-m", "codegen", "generate", "--check"),
            ("-m", "mypy", "--cache-dir", str(scratch / ".mypy_cache")),
            ("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "default", *_pytest_args()),
        ]
        for step in steps:
            result = _step(scratch, log, *step)
            if result.returncode != 0:
                tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
                summary = f"`{' '.join(step[:4])}` failed:\n    " + "\n    ".join(tail)
                return Outcome(version, False, time.monotonic() - started, summary, [], scratch)
        lines = result.stdout.strip().splitlines()
        marker = "EmulationGap: "
        gaps = sorted({line.split(marker, 1)[1] for line in lines if marker in line})
        return Outcome(version, True, time.monotonic() - started, lines[-1], gaps, scratch)


def check_releases(
    versions: list[str] | None = None, *, constructed: bool = True, jobs: int | None = None
) -> int:
    """Run every release of the lock (or ``versions``), then the constructed one, ``jobs``
    at a time (default: one per CPU, at most 2); print a line per release as it ends and
    return the exit status (0 when all pass)."""
    lock = specs.load_lock()
    chosen = versions or sorted(lock["versions"], key=release_order)
    runs: list[tuple[str, Path | None]] = [(v, None) for v in chosen]
    scratch_root = Path(tempfile.mkdtemp(prefix="stream-test-releases-"))
    if constructed:
        folder = construct_release(specs.default_version(), scratch_root / "constructed-release")
        runs.append((CONSTRUCTED, folder))
    jobs = jobs or max(1, min(2, os.cpu_count() or 1))
    started = time.monotonic()
    print_lock = threading.Lock()

    def one(version: str, source: Path | None) -> Outcome:
        scratch = copy_project(scratch_root / version)
        with print_lock:
            print(f"{version}: regenerating and testing in {scratch} ...", flush=True)
        outcome = run_release(version, scratch, source=source)
        with print_lock:
            verdict = "passed" if outcome.ok else "FAILED"
            print(f"{version}: {verdict} in {outcome.seconds:.0f} s: {outcome.summary}", flush=True)
            for gap in outcome.gaps:
                print(f"    warning: {gap}", flush=True)
            if not outcome.ok:
                print(f"    (kept {scratch}; its test-releases.log has every step)", flush=True)
        if outcome.ok:
            shutil.rmtree(scratch, ignore_errors=True)
        return outcome

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(lambda run: one(*run), runs))
    failed = [o.version for o in outcomes if not o.ok]
    print(
        f"test-releases: {len(outcomes) - len(failed)} of {len(outcomes)} releases passed "
        f"in {time.monotonic() - started:.0f} s ({jobs} at a time)"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        flush=True,
    )
    if not failed:
        shutil.rmtree(scratch_root, ignore_errors=True)
    return 1 if failed else 0
