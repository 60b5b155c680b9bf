"""CHANGELOG.md: each entry is the SDK's own changes (written by hand) followed by what
changed in Stream's API between the releases it was generated from (written here).

The Stream API part sits between two markers that name the releases; ``update`` writes it
from the same comparison as ``make spec-diff`` (``changelog_summary``), replacing the part
of an existing entry for that release or starting a new entry at the top. ``make generate
SPEC_VERSION=<v>`` calls it when the release changes, ``make changelog FROM= TO=`` on
demand, and the drift check (``make check-generated``) fails when the entry of the pinned
release is missing or differs from what it would write.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import specs

__all__ = ["CHANGELOG", "check", "entry_block", "update"]

CHANGELOG = specs.ROOT / "CHANGELOG.md"
_BEGIN = "<!-- Stream API {old} -> {new}: written by `make changelog`; edit the SDK part above -->"
_END = "<!-- end of the Stream API part -->"
_MARKER = re.compile(r"<!-- Stream API (?P<old>\S+) -> (?P<new>\S+): written by .*? -->")
_INTRO = """# Changelog

Each entry lists the SDK's own changes, then what changed in Stream's API between the spec
releases it was generated from. That second part is written by `make changelog FROM=<old>
TO=<new>`, which `make generate SPEC_VERSION=<new>` runs whenever the release changes,
from the same comparison as `make spec-diff` (normalised and merged specs, as the SDK is
generated): operations and schemas added, removed and changed.
"""


def entry_block(old: str, new: str) -> str:
    """The Stream API part of the entry for ``new`` (generated after ``old``), with markers."""
    from .generate import build_merged_spec
    from .spec_diff import changelog_summary

    old_spec, _, _ = build_merged_spec(old)
    new_spec, _, _ = build_merged_spec(new)
    summary = changelog_summary(old_spec, new_spec, old_name=old, new_name=new)
    return f"{_BEGIN.format(old=old, new=new)}\n\n{summary}\n{_END}\n"


def _find(text: str, new: str) -> tuple[int, int, str] | None:
    """(start, end, old) of the Stream API part of the entry for ``new``, if there is one."""
    for match in _MARKER.finditer(text):
        if match["new"] == new:
            end = text.find(_END, match.start())
            if end < 0:
                raise specs.SpecError(
                    f"CHANGELOG.md: the Stream API part for {new} has no end marker {_END!r}"
                )
            return match.start(), end + len(_END) + 1, match["old"]
    return None


def update(old: str, new: str, path: Path | None = None) -> str:
    """Write the entry of ``new`` (its Stream API part, compared with ``old``); return what
    happened ("added" or "updated")."""
    path = path or CHANGELOG
    text = path.read_text() if path.exists() else _INTRO
    block = entry_block(old, new)
    found = _find(text, new)
    if found is not None:
        start, end, _ = found
        text = text[:start] + block + text[end:]
        outcome = "updated"
    else:
        entry = (
            f"## Generated from Stream's API {new}\n\n"
            f"### SDK\n\n"
            f"- Regenerated from Stream's spec release {new} (was {old}).\n\n"
            f"### Stream API\n\n{block}"
        )
        first = re.search(r"^## (?!Unreleased)", text, re.MULTILINE)  # below Unreleased
        at = first.start() if first else len(text)
        text = text[:at] + entry + ("\n" + text[at:] if first else "")
        if not first and not text.endswith("\n"):
            text += "\n"
        outcome = "added"
    path.write_text(text)
    return outcome


def check(version: str, path: Path | None = None) -> list[str]:
    """Problems with the entry of ``version``: missing, or its Stream API part out of date."""
    path = path or CHANGELOG
    text = path.read_text() if path.exists() else ""
    found = _find(text, version)
    if found is None:
        run = f"make changelog FROM=<previous> TO={version}"
        return [f"{path.name}: no entry for {version}; run `{run}`"]
    start, end, old = found
    if old not in specs.load_lock()["versions"]:
        return [f"{path.name}: the entry for {version} compares with {old}, which is not pinned"]
    if text[start:end] != entry_block(old, version):
        return [
            f"{path.name}: the Stream API part for {version} differs from what "
            f"`make changelog FROM={old} TO={version}` writes"
        ]
    return []
