"""CHANGELOG.md: the Stream API part of an entry is written by the regeneration workflow
(`make changelog`, and `make generate SPEC_VERSION=...` when the release changes), kept next
to the handwritten SDK part, and checked by the drift check."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import yaml

from codegen import __main__ as cli
from codegen import changelog, specs
from codegen.generate import build_merged_spec, generate
from codegen.spec_diff import diff_specs

pytestmark = pytest.mark.slow

OLD, NEW = "v228.10.2", "v233.27.0"
REAL_LOCK = json.loads(specs.LOCK_PATH.read_text())


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A lock holding two real releases (OLD pinned) and a changelog, both temporary."""
    openapi = tmp_path / "openapi"
    openapi.mkdir()
    lock = openapi / "specs.lock.json"
    versions = {v: REAL_LOCK["versions"][v] for v in (OLD, NEW)}
    lock.write_text(json.dumps({**REAL_LOCK, "pinned": OLD, "default": OLD, "versions": versions}))
    monkeypatch.setenv("STREAM_SPECS_LOCK", str(lock))
    for version in (OLD, NEW):  # as `make spec` left them, so nothing is fetched
        (openapi / version).mkdir()
        for name in specs.SPEC_FILES:
            source = specs.OPENAPI_DIR / version / name
            if not source.exists():
                specs.materialise(version, dest_root=specs.OPENAPI_DIR)
            (openapi / version / name).write_bytes(source.read_bytes())
    path = tmp_path / "CHANGELOG.md"
    monkeypatch.setattr(changelog, "CHANGELOG", path)
    return {"lock": lock, "changelog": path, "tmp": tmp_path}


def test_the_entry_is_the_spec_diff_and_keeps_the_handwritten_part(env: dict[str, Path]) -> None:
    assert changelog.update(OLD, NEW) == "added"
    text = env["changelog"].read_text()
    assert text.startswith("# Changelog\n")
    assert f"## Generated from Stream's API {NEW}\n\n### SDK\n\n- Regenerated from" in text
    # the Stream API part holds the report of `make spec-diff`, section for section
    old_spec, new_spec = build_merged_spec(OLD)[0], build_merged_spec(NEW)[0]
    report = diff_specs(old_spec, new_spec, old_name=OLD, new_name=NEW).splitlines()
    counts, sections = report[1], report[3:]
    assert f"Stream's spec {OLD} -> {NEW}: {counts}." in text
    assert "\n".join(sections) in text
    assert "  + POST /api/v2/moderation/analyze  analyze: request AnalyzeRequest" in text
    assert changelog.check(NEW) == []

    # a maintainer writes the SDK part; regenerating the entry keeps it
    edited = text.replace("- Regenerated from", "- Queues got real semantics.\n- Regenerated from")
    env["changelog"].write_text(edited)
    assert changelog.update(OLD, NEW) == "updated"
    assert env["changelog"].read_text() == edited
    assert changelog.check(NEW) == []


def test_the_drift_check_finds_a_missing_or_stale_entry(env: dict[str, Path]) -> None:
    assert changelog.check(NEW) == [
        f"CHANGELOG.md: no entry for {NEW}; run `make changelog FROM=<previous> TO={NEW}`"
    ]
    changelog.update(OLD, NEW)
    text = env["changelog"].read_text()
    env["changelog"].write_text(text.replace("Operations added (9)", "Operations added (8)"))
    assert changelog.check(NEW) == [
        f"CHANGELOG.md: the Stream API part for {NEW} differs from what "
        f"`make changelog FROM={OLD} TO={NEW}` writes"
    ]


def test_generate_writes_the_entry_when_the_release_changes(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package, api_map = env["tmp"] / "pkg" / "_generated", env["tmp"] / "pkg" / "api.md"
    bound = functools.partial(generate, package_dir=package, api_map=api_map)
    monkeypatch.setattr(cli, "generate", bound)
    assert cli.main(["generate", "--version", NEW]) == 0
    out = capsys.readouterr().out
    assert f"CHANGELOG.md: added the entry for {NEW} (was {OLD})" in out
    assert json.loads(env["lock"].read_text())["pinned"] == NEW
    assert changelog.check(NEW) == []
    written = env["changelog"].read_bytes()

    # the same release again: nothing to add; the drift check passes
    assert cli.main(["generate"]) == 0
    assert "CHANGELOG.md" not in capsys.readouterr().out
    assert env["changelog"].read_bytes() == written
    assert cli.main(["generate", "--check"]) == 0
    assert "generated code and CHANGELOG.md are up to date" in capsys.readouterr().out

    # a stale entry fails the drift check, naming the file
    env["changelog"].write_text(written.decode().replace("9 added", "10 added"))
    assert cli.main(["generate", "--check"]) == 1
    assert "the Stream API part for v233.27.0 differs" in capsys.readouterr().out


def test_a_release_that_fails_to_generate_changes_nothing(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It pins (the files are OpenAPI documents), but the generator refuses it: the lock
    still names the old release, no changelog entry is written, the package is untouched."""
    folder = env["tmp"] / "bad"
    folder.mkdir()
    for name in specs.SPEC_FILES:
        text = (specs.OPENAPI_DIR / NEW / name).read_text()
        (folder / name).write_text(text.replace(f"version: {NEW}", "version: v240.0.0"))
    bad = folder / "moderation-serverside-api.yaml"
    doc = yaml.load(bad.read_text(), Loader=yaml.CSafeLoader)
    doc["components"]["schemas"]["CheckResponse"]["properties"]["u"] = {
        "oneOf": [{"type": "string"}, {"type": "integer"}]
    }
    bad.write_text(yaml.dump(doc, Dumper=yaml.CSafeDumper))
    assert cli.main(["pin-spec", "v240.0.0", "--source", str(folder)]) == 0
    lock_before = env["lock"].read_bytes()
    package = env["tmp"] / "pkg" / "_generated"
    bound = functools.partial(generate, package_dir=package, api_map=env["tmp"] / "api.md")
    monkeypatch.setattr(cli, "generate", bound)
    assert cli.main(["generate", "--version", "v240.0.0"]) == 2
    assert "template refused the spec: unsupported union u" in capsys.readouterr().err
    assert env["lock"].read_bytes() == lock_before
    assert json.loads(lock_before)["pinned"] == OLD
    assert not env["changelog"].exists()
    assert not package.exists()
