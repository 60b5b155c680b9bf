"""The emulator's text work is linear in the text, and never holds up other requests.

Time bounds are ratios to the same work on a small text, measured side by side in one
run (best of a few), so that they hold on a loaded machine: a text 8 times longer may take
at most 8 x SLACK times as long. A pattern that backtracks (quadratic or worse) misses
the bound by far: before the fix, 16 KB of ``a.a.a.`` took 0.64 s, 128 KB 40.8 s.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from stream_moderation.testing import BUILTIN_BLOCKLISTS, DEFAULT_TRIGGERS, KeywordClassifier
from stream_moderation.testing._classifier import mask_matches
from stream_moderation.testing._policy import evaluate
from tests.support.emulator_support import KEY, headers
from tests.support.served_process import ServedEmulator, emulator_process

SLACK = 3.0
KIB = 1024

# Repeated units that make backtracking patterns blow up, and units built from the start
# of each trigger (a first word over and over, long runs of what a pattern allows).
UNITS = [
    "a.",
    "a@",
    "a@a.",
    "a.a@",
    "-",
    "a ",
    " ",
    "\t\n",
    "x",
    "1",
    "1 ",
    "1-",
    "+1",
    "http://a ",
    "http://",
    "https://a",
    "all ",
    "all x ",
    "these x people ",
    "buy ",
    "buy  ",
    "send me ",
    "add me on ",
    "contact me ",
    "kys ",
    "piss ",
    "fuck",
    "you're ",
    "100% ",
]

POLICY: dict[str, Any] = {
    "block_list_config": {"rules": [{"name": "profanity_en", "action": "remove"}]},
    "ai_text_config": {"rules": [{"label": label, "action": "flag"} for label in DEFAULT_TRIGGERS]},
    "automod_toxicity_config": {"rules": [{"label": "toxic", "threshold": 0.5, "action": "flag"}]},
}
SUBSTRING_POLICY: dict[str, Any] = {
    "block_list_config": {
        "match_substring": True,
        "rules": [{"name": "profanity_en", "action": "remove"}],
    }
}
CLASSIFIER = KeywordClassifier()


def text_of(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def all_text_work(text: str) -> None:
    """Everything a check or labels call does with a text: the classifier, the block
    lists (whole words and substrings) and the masking of labels."""
    for policy in (POLICY, SUBSTRING_POLICY):
        evaluate(
            policy,
            {"texts": [text]},
            classifier=CLASSIFIER,
            blocklists=BUILTIN_BLOCKLISTS,
        )
    mask_matches(text, BUILTIN_BLOCKLISTS["profanity_en"], substring=False)


def best_time(work: Callable[[], object], runs: int, good_enough: float = 0.0) -> float:
    """The fastest of ``runs`` runs; stops early once a run is under ``good_enough``, or
    when one is so slow (10 x) that more runs would only waste time."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
        if best <= good_enough or (good_enough and best > 10 * good_enough):
            break
    return best


@pytest.mark.parametrize("unit", UNITS)
def test_text_work_is_linear_in_the_text(unit: str) -> None:
    small, big = text_of(unit, 16 * KIB), text_of(unit, 128 * KIB)
    small_time = big_time = float("inf")
    # the small and the big text in turns, so that a moment of load on a busy machine
    # slows one round of both rather than the big one alone
    for _ in range(3):
        small_time = min(small_time, best_time(lambda: all_text_work(small), runs=3))
        bound = 8 * SLACK * small_time
        big_time = min(big_time, best_time(lambda: all_text_work(big), runs=1))
        if big_time <= bound or big_time > 10 * bound:
            break
    assert big_time <= bound, (
        f"{unit!r}: 128 KB took {big_time * 1000:.1f} ms, "
        f"16 KB {small_time * 1000:.2f} ms (x{big_time / small_time:.0f}; linear is x8)"
    )


def test_matches_are_capped_per_trigger() -> None:
    """A text that repeats a trigger does not make a detection (and so the flag's
    ``result``, the item and the webhooks) grow with it."""
    (detection,) = CLASSIFIER("kys " * 10_000)
    assert detection.label == "HARASSMENT"
    assert 1 <= len(detection.matches) <= 20


# -- the served emulator -------------------------------------------------------------------

# A text that makes every pattern do work: most triggers' first words, links, digits,
# addresses, block-listed words.
BUSY = (
    "buy a.a.a@b all x people send me http://a 1 2 3 +1 kys piss the damn "
    "you're add me on contact me@x 100% free money. "
)


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with emulator_process() as served:
        response = httpx.post(
            f"{served.url}/api/v2/moderation/config",
            params={"api_key": KEY},
            headers=headers(),
            json={"key": "policy", **POLICY},
        )
        assert response.status_code == 201, response.text
        yield served


def check_body(text: str, entity_id: str = "m1") -> dict[str, Any]:
    return {
        "entity_type": "stream:chat:v1:message",
        "entity_id": entity_id,
        "entity_creator_id": "u1",
        "moderation_payload": {"texts": [text]},
        "config_key": "policy",
    }


def timed_check(http: httpx.Client, text: str, timeout: float) -> float:
    started = time.perf_counter()
    response = http.post(
        "/api/v2/moderation/check",
        json=check_body(text),
        headers=headers(),
        timeout=timeout,
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.text[:500]
    return elapsed


@pytest.mark.parametrize("unit", ["a.", BUSY])
@pytest.mark.parametrize("size", [128 * KIB, 1024 * KIB], ids=["128KB", "1MB"])
def test_a_check_takes_time_linear_in_its_text(
    served: ServedEmulator, unit: str, size: int
) -> None:
    """Over HTTP, with the response (which echoes the text) encoded and checked against
    the spec: the bound is the size ratio x SLACK, to a 16 KB check of the same text."""
    with httpx.Client(base_url=served.url, params={"api_key": KEY}) as http:
        small = text_of(unit, 16 * KIB)
        small_time = best_time(lambda: timed_check(http, small, 30), runs=5)
        bound = size / (16 * KIB) * SLACK * small_time
        big = text_of(unit, size)
        big_time = best_time(lambda: timed_check(http, big, 3 * bound), runs=3, good_enough=bound)
    assert big_time <= bound, (
        f"{size // KIB} KB took {big_time:.2f} s, 16 KB {small_time * 1000:.1f} ms"
    )


def test_health_answers_while_big_checks_run(served: ServedEmulator) -> None:
    """CPU-heavy work runs off the event loop: ``/_emulator/health`` answers in a small
    part of the time a 1 MB check takes, while such checks run back to back."""
    text = text_of(BUSY, 1024 * KIB)
    durations: list[float] = []
    failures: list[BaseException] = []

    def checks() -> None:
        try:
            with httpx.Client(base_url=served.url, params={"api_key": KEY}) as http:
                for _ in range(3):
                    durations.append(timed_check(http, text, 120))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    worker = threading.Thread(target=checks)
    latencies: list[float] = []
    with httpx.Client(base_url=served.url, timeout=120) as http:
        http.get("/_emulator/health")
        worker.start()
        while worker.is_alive():
            started = time.perf_counter()
            assert http.get("/_emulator/health").status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.01)
    worker.join()
    assert not failures, failures
    assert len(latencies) >= 3
    # the median, not the maximum: a loaded machine may hold one answer (a blocked loop
    # holds most of them, each about half a check)
    assert statistics.median(latencies) < 0.2 * statistics.median(durations), (
        f"health waited {statistics.median(latencies) * 1000:.0f} ms (median, max "
        f"{max(latencies) * 1000:.0f}); checks took {[round(d * 1000) for d in durations]} ms"
    )
