"""Small timing helpers shared by the benchmark workers."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

__all__ = ["interleaved", "loops_for"]


def loops_for(fn: Callable[[], object], target: float) -> int:
    """How many calls of ``fn`` take about ``target`` seconds (at least one)."""
    fn()
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took >= target / 4 or n >= 1 << 20:
            return max(1, int(n * target / max(took, 1e-9)))
        n *= 4


def interleaved(
    candidates: dict[str, Callable[[], object]], *, repeats: int, target: float
) -> dict[str, dict[str, float]]:
    """Seconds per call of each candidate, measured in turns so drift hits all alike.

    Each repeat runs every candidate once for about ``target`` seconds; the result per
    candidate is the best and the median of the repeats (the best is the one used in
    ratios: it is the least disturbed by the rest of the machine). As in ``timeit``, the
    garbage collector is paused while a sample runs (and run before it): a collection's
    cost depends on everything else the process holds, which differs between candidates.
    """
    loops = {name: loops_for(fn, target) for name, fn in candidates.items()}
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            n = loops[name]
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter() - start) / n)
            finally:
                gc.enable()
    return {
        name: {"best": min(s), "median": statistics.median(s), "loops": loops[name]}
        for name, s in samples.items()
    }
