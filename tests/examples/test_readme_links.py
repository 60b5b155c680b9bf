"""The README's links into the repository lead somewhere: the file exists and, for a link
with an anchor, the page has a heading of that name (``make docs --strict`` checks the
docs site's own links; the README is not part of the site)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _slug(heading: str) -> str:
    """The anchor Python-Markdown's toc extension (which mkdocs uses) gives a heading."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(h) for h in _HEADING.findall(text)}


def _local_links() -> list[str]:
    text = _FENCE.sub("", README.read_text(encoding="utf-8"))
    return [link for link in _LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", link)]


def test_the_readme_links_into_the_repository() -> None:
    assert _local_links(), "the README links to its docs pages"


@pytest.mark.parametrize("link", sorted(set(_local_links())))
def test_a_readme_link_leads_to_a_file_and_heading(link: str) -> None:
    path, _, anchor = link.partition("#")
    target = (ROOT / path) if path else README
    assert target.is_file(), f"README links to {path}, which does not exist"
    if anchor:
        assert anchor in _anchors(target), f"{path} has no heading for #{anchor}"


def test_the_slug_is_the_one_mkdocs_writes() -> None:
    assert _slug("Install sniffio with the default transport") == (
        "install-sniffio-with-the-default-transport"
    )
    assert _slug("Errors and retries") == "errors-and-retries"
    assert _slug("Coming from `getstream`") == "coming-from-getstream"
