"""The spec lock: which upstream release of Stream's two moderation specs the SDK is built from.

The lock (``openapi/specs.lock.json``) records, per version, where the two files come from
(upstream commit and path, or a local folder) and their sha256. ``materialise`` puts the
files of one version under ``openapi/<version>/`` (git-ignored), taken from the shared
folder when it is there and downloaded from the pinned upstream URL otherwise; either way
the sha256 must match the lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "LOCK_PATH",
    "OPENAPI_DIR",
    "SPEC_FILES",
    "SpecError",
    "default_version",
    "load_lock",
    "materialise",
    "pin",
    "pinned_version",
    "set_default",
    "set_pinned",
    "shared_dir",
    "spec_root",
]

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_DIR = ROOT / "openapi"
LOCK_PATH = OPENAPI_DIR / "specs.lock.json"
# The two upstream files of a release and their paths in the upstream repository.
SPEC_FILES = {
    "moderation-openapi.yaml": "openapi/moderation-openapi.yaml",
    "moderation-serverside-api.yaml": "openapi/v2/moderation-serverside-api.yaml",
}
DOWNLOAD_TIMEOUT = 30
# libyaml's safe loader when PyYAML has it (5x faster on these 1-2 MB files), same result.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecError(Exception):
    """A spec could not be pinned, found, verified or read; the message says which and why."""


def shared_dir() -> Path:
    """The shared folder of vendored releases (``../shared/openapi``), overridable for tests."""
    return Path(os.environ.get("STREAM_SPECS_SHARED_DIR", ROOT.parent / "shared" / "openapi"))


def lock_path() -> Path:
    """The lock file; ``STREAM_SPECS_LOCK`` points tests at a temporary one."""
    return Path(os.environ.get("STREAM_SPECS_LOCK", LOCK_PATH))


def spec_root() -> Path:
    """Where versions are materialised: the lock's folder (``openapi/``), one folder each."""
    return lock_path().parent


_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_COMMIT = re.compile(r"[0-9a-f]{40}")


def load_lock(path: Path | None = None) -> dict[str, Any]:
    path = path or lock_path()
    try:
        lock: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SpecError(f"{path}: cannot read the spec lock: {exc}") from exc
    return lock


def pinned_version() -> str:
    """The release the committed code is generated from (``make generate`` moves it)."""
    version: str = load_lock()["pinned"]
    return version


def default_version() -> str:
    """The project's release of record: the emulator has semantics for every operation of
    it, and the tests fail where it does not (for any other release they only warn).
    ``make default-release VERSION=<v>`` moves it; it is the pinned one when unset."""
    lock = load_lock()
    version: str = lock.get("default", lock["pinned"])
    return version


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            body: bytes = response.read()
            return body
    except (urllib.error.URLError, OSError) as exc:
        raise SpecError(f"cannot download {url}: {exc}") from exc


def check_spec_bytes(name: str, data: bytes) -> dict[str, Any]:
    """Parse one spec file and check it looks like an OpenAPI 3 document; return it."""
    try:
        doc = yaml.load(data, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise SpecError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
        raise SpecError(f"{name}: not an OpenAPI 3 document (no 'openapi: 3.x' at the top)")
    for key in ("info", "paths", "components"):
        if not isinstance(doc.get(key), dict):
            raise SpecError(f"{name}: malformed spec: '{key}' is missing or not a mapping")
    if not isinstance(doc["components"].get("schemas"), dict):
        raise SpecError(f"{name}: malformed spec: 'components.schemas' is missing")
    return doc


def _fetch(
    version: str, entry: dict[str, Any], lock: dict[str, Any], name: str
) -> tuple[bytes, str]:
    """The bytes of one file of a pinned version and where they came from."""
    local = shared_dir() / version / name
    if local.is_file():
        return local.read_bytes(), str(local)
    source = entry.get("source", "upstream")
    if source != "upstream":
        candidate = Path(source) / name
        if candidate.is_file():
            return candidate.read_bytes(), str(candidate)
        raise SpecError(
            f"{version}/{name}: not in {shared_dir() / version} nor in its pinned folder {source}"
        )
    url = lock["upstream"]["raw_url"].format(
        commit=entry["commit"], path=entry["files"][name]["path"]
    )
    try:
        return _download(url), url
    except SpecError as exc:
        host = urllib.parse.urlsplit(url).netloc or url
        raise SpecError(
            f"{version}/{name} is not in {local.parent}, and {exc}. Give this machine access "
            f"to {host}, or put the release's files in {local.parent} "
            "(STREAM_SPECS_SHARED_DIR names another folder)"
        ) from None


def materialise(version: str | None = None, dest_root: Path | None = None) -> dict[str, Path]:
    """Make the two files of ``version`` available under ``openapi/<version>/``, verified.

    Returns file name -> local path. Raises SpecError for a version missing from the lock,
    a file that cannot be found, or a sha256 that does not match.
    """
    lock = load_lock()
    version = version or lock["pinned"]
    entry = lock["versions"].get(version)
    if entry is None:
        known = ", ".join(sorted(lock["versions"]))
        raise SpecError(
            f"spec version {version} is not pinned in {lock_path()} (pinned: {known}); "
            f"pin it with `make pin-spec VERSION={version} SOURCE=<folder>` or COMMIT=<commit>"
        )
    dest = (dest_root or spec_root()) / version
    paths: dict[str, Path] = {}
    for name, meta in entry["files"].items():
        target = dest / name
        expected = meta["sha256"]
        if target.is_file() and sha256(target.read_bytes()) == expected:
            paths[name] = target
            continue
        data, origin = _fetch(version, entry, lock, name)
        actual = sha256(data)
        if actual != expected:
            raise SpecError(
                f"{origin}: sha256 mismatch for {version}/{name}: expected {expected}, got {actual}"
            )
        dest.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, data)
        paths[name] = target
    return paths


def set_pinned(version: str) -> None:
    """Make ``version`` (already in the lock) the release the SDK is built from."""
    lock = load_lock()
    if version not in lock["versions"]:
        raise SpecError(f"spec version {version} is not pinned in {lock_path()}")
    if lock["pinned"] != version:
        lock["pinned"] = version
        _atomic_write(lock_path(), (json.dumps(lock, indent=2) + "\n").encode())


def set_default(version: str) -> None:
    """Make ``version`` (already in the lock) the project's release of record."""
    lock = load_lock()
    if version not in lock["versions"]:
        raise SpecError(f"spec version {version} is not pinned in {lock_path()}")
    if lock.get("default") != version:
        lock["default"] = version
        first = ("pinned", "default")  # the two names a reader looks for, at the top
        lock = {k: lock[k] for k in first} | {k: v for k, v in lock.items() if k not in first}
        _atomic_write(lock_path(), (json.dumps(lock, indent=2) + "\n").encode())


def _atomic_write(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)


def pin(version: str, *, source: str | None = None, commit: str | None = None) -> dict[str, Any]:
    """Record a release in the lock, from a local folder, an upstream commit, or both.

    - ``commit`` alone: both files are downloaded from the upstream repository at that commit.
    - ``source`` alone: both files are read from the folder, which the lock then names as
      their origin (a release that is not an upstream one, e.g. a constructed test release).
    - ``source`` and ``commit``: the files are read from the folder but recorded as the
      upstream files of that commit, for a maintainer with a copy and no access to GitHub.
      Nothing is downloaded; the sha256s recorded are those of the folder's files, so a
      later ``make spec`` that downloads them from upstream fails if the copy was not true.

    Both files are checked to be OpenAPI documents of that version before the lock is
    touched; on any error the lock is left as it was.
    """
    if not source and not commit:
        raise SpecError("pin-spec needs SOURCE=<folder>, COMMIT=<upstream commit>, or both")
    if not _VERSION.fullmatch(version or ""):
        raise SpecError(f"pin-spec: {version!r} is not a release name such as v233.27.0")
    if commit and not _COMMIT.fullmatch(commit):
        raise SpecError(
            f"pin-spec: COMMIT must be a full 40-character commit sha, not {commit!r} "
            "(a branch or tag can move; the lock pins exact files)"
        )
    if source and not Path(source).is_dir():
        raise SpecError(f"pin-spec: SOURCE {source} is not a folder")
    lock = load_lock()
    files: dict[str, dict[str, str]] = {}
    blobs: dict[str, bytes] = {}
    for name, upstream_path in SPEC_FILES.items():
        if source:
            path = Path(source) / name
            if not path.is_file():
                raise SpecError(f"{path}: missing; a release needs both {' and '.join(SPEC_FILES)}")
            data = path.read_bytes()
            origin = str(path)
        else:
            url = lock["upstream"]["raw_url"].format(commit=commit, path=upstream_path)
            data = _download(url)
            origin = url
        doc = check_spec_bytes(origin, data)
        spec_version = str(doc["info"].get("version", ""))
        if spec_version != version:
            raise SpecError(f"{origin}: info.version is {spec_version!r}, not {version!r}")
        files[name] = {"path": upstream_path, "sha256": sha256(data)}
        blobs[name] = data
    entry: dict[str, Any] = {"source": "upstream" if commit else str(Path(source or "").resolve())}
    if commit:
        entry["commit"] = commit
    entry["files"] = files
    lock["versions"][version] = entry
    lock["versions"] = dict(sorted(lock["versions"].items()))
    path = lock_path()
    _atomic_write(path, (json.dumps(lock, indent=2) + "\n").encode())
    dest = spec_root() / version
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in blobs.items():
        _atomic_write(dest / name, data)
    return entry
