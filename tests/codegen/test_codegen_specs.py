"""The spec lock: materialising pinned releases and pinning new ones, on a temporary lock."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import pytest

from codegen import specs
from codegen.__main__ import main

# The real files of two pinned releases, as `make spec` materialises them (one folder per
# release, like ../shared/openapi): copied from ../shared/openapi when it is there, else
# downloaded from the pinned upstream URL (see the `released` fixture).
SHARED = specs.OPENAPI_DIR
OLD, NEW = "v228.10.2", "v233.27.0"
COMMIT = "ba317aff5576c93d1590e994eb574ace1cc36653"
REAL_LOCK = json.loads(specs.LOCK_PATH.read_text())
REAL_URLOPEN = urllib.request.urlopen


@pytest.fixture(scope="module", autouse=True)
def released() -> None:
    """Materialise OLD and NEW with the real lock, before a test points specs elsewhere."""
    for version in (OLD, NEW):
        specs.materialise(version, dest_root=SHARED)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A lock pinning only v228.10.2, an empty shared folder, and no network."""
    openapi = tmp_path / "openapi"
    openapi.mkdir()
    lock = openapi / "specs.lock.json"
    data = dict(REAL_LOCK, pinned=OLD, default=OLD, versions={OLD: REAL_LOCK["versions"][OLD]})
    lock.write_text(json.dumps(data, indent=2) + "\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("STREAM_SPECS_LOCK", str(lock))
    monkeypatch.setenv("STREAM_SPECS_SHARED_DIR", str(shared))

    def no_network(url: str, timeout: float = 0) -> Any:
        raise urllib.error.URLError(f"no network in tests ({url})")

    monkeypatch.setattr(specs.urllib.request, "urlopen", no_network)
    return {"lock": lock, "shared": shared, "openapi": openapi, "tmp": tmp_path}


def release_folder(tmp: Path, version: str = NEW) -> Path:
    folder = tmp / f"download-{version}"
    shutil.copytree(SHARED / version, folder)
    return folder


def test_the_real_lock_pins_both_files_of_every_release() -> None:
    assert {OLD, NEW} <= set(REAL_LOCK["versions"])
    assert REAL_LOCK["pinned"] in REAL_LOCK["versions"]
    assert REAL_LOCK["default"] in REAL_LOCK["versions"]
    for version, entry in REAL_LOCK["versions"].items():
        if entry["source"] != "upstream":
            continue  # a release pinned from a folder (a constructed one, in a scratch copy)
        assert len(entry["commit"]) == 40
        assert set(entry["files"]) == set(specs.SPEC_FILES)
        for name, meta in entry["files"].items():
            assert meta["path"] == specs.SPEC_FILES[name]
            if (SHARED / version).is_dir():  # the shared copy is the upstream file
                assert meta["sha256"] == sha(SHARED / version / name)


def test_materialise_copies_from_the_shared_folder(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAM_SPECS_SHARED_DIR", str(SHARED))
    paths = specs.materialise()
    assert set(paths) == set(specs.SPEC_FILES)
    for name, path in paths.items():
        assert path == env["openapi"] / OLD / name
        assert sha(path) == REAL_LOCK["versions"][OLD]["files"][name]["sha256"]


def test_materialise_reuses_verified_files_without_fetching(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAM_SPECS_SHARED_DIR", str(SHARED))
    specs.materialise(OLD)
    monkeypatch.setenv("STREAM_SPECS_SHARED_DIR", str(env["shared"]))  # nothing there now
    assert specs.materialise(OLD)[next(iter(specs.SPEC_FILES))].is_file()


def test_materialise_downloads_the_pinned_upstream_url(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = []

    def urlopen(url: str, timeout: float = 0) -> io.BytesIO:
        urls.append(url)
        name = url.rsplit("/", 1)[-1]
        return io.BytesIO((SHARED / OLD / name).read_bytes())

    monkeypatch.setattr(specs.urllib.request, "urlopen", urlopen)
    specs.materialise(OLD)
    commit = REAL_LOCK["versions"][OLD]["commit"]
    base = f"https://raw.githubusercontent.com/GetStream/protocol/{commit}/openapi"
    assert sorted(urls) == [
        f"{base}/moderation-openapi.yaml",
        f"{base}/v2/moderation-serverside-api.yaml",
    ]


def test_materialise_downloads_over_http_from_a_local_server(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The download path for real (urllib, a socket), against a server holding the files
    at the upstream layout: <commit>/<path>."""
    commit = REAL_LOCK["versions"][OLD]["commit"]
    root = env["tmp"] / "upstream"
    for name, path in specs.SPEC_FILES.items():
        target = root / commit / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED / OLD / name, target)
    _QuietHandler.paths.clear()
    handler = functools.partial(_QuietHandler, directory=str(root))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            lock = json.loads(env["lock"].read_text())
            port = server.server_address[1]
            lock["upstream"]["raw_url"] = f"http://127.0.0.1:{port}/{{commit}}/{{path}}"
            env["lock"].write_text(json.dumps(lock))
            monkeypatch.setattr(specs.urllib.request, "urlopen", REAL_URLOPEN)
            paths = specs.materialise(OLD)
        finally:
            server.shutdown()
    assert sorted(_QuietHandler.paths) == sorted(
        f"/{commit}/{p}" for p in specs.SPEC_FILES.values()
    )
    for name, path in paths.items():
        assert sha(path) == REAL_LOCK["versions"][OLD]["files"][name]["sha256"]


def test_materialise_with_an_unreachable_url_says_what_to_do(env: dict[str, Path]) -> None:
    with pytest.raises(specs.SpecError) as info:
        specs.materialise(OLD)
    message = str(info.value)
    assert f"{OLD}/moderation-openapi.yaml is not in {env['shared'] / OLD}" in message
    assert "Give this machine access to raw.githubusercontent.com" in message
    assert "\n" not in message  # one message, on one line


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _QuietHandler.paths.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_materialise_without_shared_folder_or_network_is_a_clear_error(
    env: dict[str, Path],
) -> None:
    with pytest.raises(specs.SpecError, match=r"cannot download https://raw\.githubusercontent"):
        specs.materialise(OLD)


def test_materialise_sha256_mismatch_names_file_expected_and_actual(
    env: dict[str, Path],
) -> None:
    folder = env["shared"] / OLD
    shutil.copytree(SHARED / OLD, folder)
    tampered = folder / "moderation-serverside-api.yaml"
    tampered.write_bytes(tampered.read_bytes() + b"\n# changed\n")
    expected = REAL_LOCK["versions"][OLD]["files"][tampered.name]["sha256"]
    with pytest.raises(specs.SpecError) as info:
        specs.materialise(OLD)
    message = str(info.value)
    assert str(tampered) in message
    assert f"expected {expected}, got {sha(tampered)}" in message
    assert not (env["openapi"] / OLD / tampered.name).exists()  # nothing unverified written


def test_materialise_replaces_a_stale_local_copy(env: dict[str, Path]) -> None:
    shutil.copytree(SHARED / OLD, env["shared"] / OLD)
    stale = env["openapi"] / OLD / "moderation-openapi.yaml"
    stale.parent.mkdir()
    stale.write_text("edited by hand\n")
    specs.materialise(OLD)
    assert sha(stale) == REAL_LOCK["versions"][OLD]["files"][stale.name]["sha256"]


def test_materialise_unknown_version_is_a_clear_error(env: dict[str, Path]) -> None:
    with pytest.raises(specs.SpecError) as info:
        specs.materialise("v999.0.0")
    message = str(info.value)
    assert "spec version v999.0.0 is not pinned" in message
    assert f"(pinned: {OLD})" in message
    assert "make pin-spec VERSION=v999.0.0" in message


def test_pin_from_a_folder_then_materialise(env: dict[str, Path]) -> None:
    folder = release_folder(env["tmp"])
    entry = specs.pin(NEW, source=str(folder))
    assert entry["source"] == str(folder.resolve())
    assert "commit" not in entry
    for name, meta in entry["files"].items():
        assert meta == {"path": specs.SPEC_FILES[name], "sha256": sha(folder / name)}
    lock = json.loads(env["lock"].read_text())
    assert list(lock["versions"]) == [OLD, NEW]
    assert lock["versions"][NEW] == entry
    assert lock["pinned"] == OLD  # pinning a release does not switch the SDK to it
    assert lock["versions"][OLD] == REAL_LOCK["versions"][OLD]

    # materialise works from the pinned folder (nothing in the shared folder, no network)
    shutil.rmtree(env["openapi"] / NEW)
    paths = specs.materialise(NEW)
    assert {sha(p) for p in paths.values()} == {sha(folder / n) for n in specs.SPEC_FILES}

    # ... and says where it looked when the folder is gone
    shutil.rmtree(env["openapi"] / NEW)
    shutil.rmtree(folder)
    with pytest.raises(specs.SpecError, match="nor in its pinned folder"):
        specs.materialise(NEW)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "moderation-serverside-api.yaml: missing; a release needs both"),
        ("not yaml", "not valid YAML"),
        ("not openapi", "not an OpenAPI 3 document"),
        ("no schemas", "malformed spec: 'components.schemas' is missing"),
        ("no paths", "malformed spec: 'paths' is missing or not a mapping"),
        ("other version", "info.version is 'v228.10.2', not 'v233.27.0'"),
    ],
)
def test_pin_refuses_bad_files_and_leaves_the_lock_untouched(
    env: dict[str, Path], damage: str, message: str
) -> None:
    folder = release_folder(env["tmp"])
    target = folder / "moderation-serverside-api.yaml"
    if damage == "missing":
        target.unlink()
    elif damage == "not yaml":
        target.write_text("openapi: [3.0\n  : :\n")
    elif damage == "not openapi":
        target.write_text("swagger: '2.0'\ninfo: {}\n")
    elif damage == "no schemas":
        target.write_text("openapi: 3.0.3\ninfo: {version: v233.27.0}\npaths: {}\ncomponents: {}\n")
    elif damage == "no paths":
        target.write_text("openapi: 3.0.3\ninfo: {version: v233.27.0}\ncomponents: {schemas: {}}\n")
    elif damage == "other version":
        shutil.copy(SHARED / OLD / target.name, target)
    before = env["lock"].read_bytes()
    with pytest.raises(specs.SpecError, match=message) as info:
        specs.pin(NEW, source=str(folder))
    assert str(target) in str(info.value)
    assert env["lock"].read_bytes() == before
    assert not (env["openapi"] / NEW).exists()


def test_pin_from_a_missing_folder(env: dict[str, Path]) -> None:
    before = env["lock"].read_bytes()
    with pytest.raises(specs.SpecError, match=r"SOURCE .*nowhere is not a folder"):
        specs.pin(NEW, source=str(env["tmp"] / "nowhere"))
    assert env["lock"].read_bytes() == before


def test_pin_from_a_commit_downloads_both_files(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def urlopen(url: str, timeout: float = 0) -> io.BytesIO:
        assert url.startswith(f"https://raw.githubusercontent.com/GetStream/protocol/{COMMIT}/")
        return io.BytesIO((SHARED / NEW / url.rsplit("/", 1)[-1]).read_bytes())

    monkeypatch.setattr(specs.urllib.request, "urlopen", urlopen)
    entry = specs.pin(NEW, commit=COMMIT)
    assert entry == REAL_LOCK["versions"][NEW]  # what the committed lock says about v233
    assert json.loads(env["lock"].read_text())["versions"][NEW] == entry


def test_pin_from_a_commit_without_network_fails_clearly_and_leaves_the_lock(
    env: dict[str, Path],
) -> None:
    before = env["lock"].read_bytes()
    with pytest.raises(specs.SpecError) as info:
        specs.pin(NEW, commit=COMMIT)
    assert str(info.value).startswith(
        f"cannot download https://raw.githubusercontent.com/GetStream/protocol/{COMMIT}/openapi/"
    )
    assert env["lock"].read_bytes() == before


@pytest.mark.parametrize("commit", ["main", "ba317af", "v233.27.0", COMMIT.upper()])
def test_pin_needs_a_full_commit_sha(env: dict[str, Path], commit: str) -> None:
    with pytest.raises(specs.SpecError, match="full 40-character commit sha"):
        specs.pin(NEW, commit=commit)


@pytest.mark.parametrize("version", ["", "../evil", "v1/x", ".hidden"])
def test_pin_needs_a_plain_version_name(env: dict[str, Path], version: str) -> None:
    with pytest.raises(specs.SpecError, match="is not a release name"):
        specs.pin(version, source=str(env["tmp"]))


def test_pin_needs_a_source_or_a_commit(env: dict[str, Path]) -> None:
    with pytest.raises(specs.SpecError, match="needs SOURCE=<folder>, COMMIT=<upstream commit>"):
        specs.pin(NEW)


def test_pin_from_a_folder_as_an_upstream_commit(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """SOURCE and COMMIT: the files come from the folder (no network is used) and the lock
    records them as the upstream files of that commit, as if downloaded."""
    folder = release_folder(env["tmp"])
    assert main(["pin-spec", NEW, "--source", str(folder), "--commit", COMMIT]) == 0
    assert f"recorded as those of upstream commit {COMMIT}" in capsys.readouterr().out
    lock = json.loads(env["lock"].read_text())
    assert lock["versions"][NEW] == REAL_LOCK["versions"][NEW]  # what a download would record
    # later materialised from the shared folder, or from upstream: never from that folder
    shutil.rmtree(env["openapi"] / NEW)
    shutil.rmtree(folder)
    with pytest.raises(specs.SpecError, match=f"cannot download .*/{COMMIT}/openapi/"):
        specs.materialise(NEW)


def test_pin_from_a_folder_with_a_commit_still_checks_the_files(env: dict[str, Path]) -> None:
    folder = release_folder(env["tmp"])
    (folder / "moderation-openapi.yaml").write_text("swagger: '2.0'\n")
    before = env["lock"].read_bytes()
    with pytest.raises(specs.SpecError, match="not an OpenAPI 3 document"):
        specs.pin(NEW, source=str(folder), commit=COMMIT)
    assert env["lock"].read_bytes() == before


def test_cli_reports_errors_on_stderr_with_exit_status_2(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before = env["lock"].read_bytes()
    assert main(["pin-spec", NEW, "--source", str(env["tmp"] / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: pin-spec: SOURCE ")
    assert main(["spec", "--version", "v1.0.0"]) == 2
    assert "spec version v1.0.0 is not pinned" in capsys.readouterr().err
    assert env["lock"].read_bytes() == before


def test_cli_pins_and_materialises(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = release_folder(env["tmp"])
    assert main(["pin-spec", NEW, "--source", str(folder)]) == 0
    assert capsys.readouterr().out.startswith(f"pinned {NEW}: ")
    assert main(["spec", "--version", NEW]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{env['openapi'] / NEW / name} (sha256 verified)" for name in specs.SPEC_FILES]


def test_set_pinned_switches_the_release_the_sdk_is_built_from(env: dict[str, Path]) -> None:
    specs.pin(NEW, source=str(release_folder(env["tmp"])))
    specs.set_pinned(NEW)
    assert json.loads(env["lock"].read_text())["pinned"] == NEW
    before = env["lock"].read_text()
    with pytest.raises(specs.SpecError, match=r"v999\.0\.0 is not pinned"):
        specs.set_pinned("v999.0.0")
    assert env["lock"].read_text() == before


def test_the_default_release_is_set_apart_from_the_pinned_one(env: dict[str, Path]) -> None:
    specs.pin(NEW, source=str(release_folder(env["tmp"])))
    specs.set_pinned(NEW)
    assert (specs.pinned_version(), specs.default_version()) == (NEW, OLD)
    assert main(["default-release", NEW]) == 0
    assert specs.default_version() == NEW
    assert list(json.loads(env["lock"].read_text()))[:2] == ["pinned", "default"]
    with pytest.raises(specs.SpecError, match=r"v999\.0\.0 is not pinned"):
        specs.set_default("v999.0.0")
