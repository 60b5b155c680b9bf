"""What changed between two pinned releases: operations and schema fields."""

from __future__ import annotations

__all__ = ["spec_diff"]


def spec_diff(old: str, new: str) -> str:
    raise NotImplementedError
