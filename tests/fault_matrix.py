"""The fault matrix: each fault the emulator injects, and what the SDK does about it.

One list of scenarios drives both the tests (``tests/test_faults.py`` runs each one for
``check``, ``query_review_queue`` and ``submit_action``, on asyncio and trio, served and
in process) and the table in the README's Reliability section (``render_table``; a test
checks that the README holds it verbatim). ``python -m tests.fault_matrix`` prints it.
"""

from __future__ import annotations

import attrs

from stream_moderation import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    StreamError,
)
from stream_moderation.testing import (
    DropConnection,
    Fault,
    NotJSON,
    RateLimited,
    ServerError,
    Stall,
    TrickledBody,
    TruncatedBody,
    WrongContentType,
)
from stream_moderation.testing._injector import FaultRule, rule_spec

__all__ = [
    "MAX_RETRIES",
    "OPERATIONS",
    "READ_TIMEOUT",
    "SCENARIOS",
    "Scenario",
    "render_table",
]

MAX_RETRIES = 2
"""The client's default: up to 3 attempts."""
READ_TIMEOUT = 0.25
"""The clients' read timeout in the matrix (a stall outlasts it)."""
OPERATIONS = ("check", "query_review_queue", "submit_action")


@attrs.frozen
class Scenario:
    id: str
    fault: Fault
    times: int | None
    """How many attempts get the fault (None: every one)."""
    outcome: type[StreamError] | None
    """The error raised, or None for success."""
    attempts: int
    """Requests the emulator receives for the call."""
    max_seconds: float
    """A bound on the call's duration (backoff patched to ~10 ms; server waits are real)."""
    why: str
    min_seconds: float = 0.0

    @property
    def processed(self) -> int:
        """How many attempts reach the operation's handler (the request is processed)."""
        if self.fault.reaches_handler:
            return self.attempts
        return 0 if self.outcome is not None else 1


SCENARIOS = [
    Scenario(
        "500-once",
        ServerError(500),
        1,
        None,
        2,
        1.0,
        "5xx is retried after a backoff; the retry succeeds",
    ),
    Scenario(
        "502-html-once",
        ServerError(502, html=True),
        1,
        None,
        2,
        1.0,
        "a proxy's HTML 5xx is retried like the API's own",
    ),
    Scenario(
        "503-always",
        ServerError(503),
        None,
        InternalServerError,
        3,
        1.0,
        "retried twice, then the last 503 is raised with the API's error body",
    ),
    Scenario(
        "503-html-always",
        ServerError(503, html=True),
        None,
        InternalServerError,
        3,
        1.0,
        "raised with the status and an excerpt of the HTML body",
    ),
    Scenario(
        "429-retry-after-once",
        RateLimited(retry_after=0.2),
        1,
        None,
        2,
        1.0,
        "waits exactly the `Retry-After` seconds (not the backoff), then succeeds",
        min_seconds=0.2,
    ),
    Scenario(
        "429-http-date-once",
        RateLimited(retry_after=0, http_date=True),
        1,
        None,
        2,
        1.0,
        "`Retry-After` as an HTTP date (this second): waits until then, then succeeds",
    ),
    Scenario(
        "429-reset-once",
        RateLimited(retry_after=None, reset_after=0.0),
        1,
        None,
        2,
        1.0,
        "no `Retry-After`: waits until `X-RateLimit-Reset`, then succeeds",
    ),
    Scenario(
        "429-always",
        RateLimited(retry_after=0.05),
        None,
        RateLimitError,
        3,
        1.0,
        "`RateLimitError` with `retry_after` and `rate_limit` (limit, remaining, reset)",
    ),
    Scenario(
        "429-too-long",
        RateLimited(retry_after=120),
        None,
        RateLimitError,
        1,
        0.5,
        "a wait over 60 s is not waited: raised at once, `retry_after=120`",
    ),
    Scenario(
        "drop-before-once",
        DropConnection(),
        1,
        None,
        2,
        1.0,
        "connection closed before the response: retried on a new connection",
    ),
    Scenario(
        "drop-before-always",
        DropConnection(),
        None,
        APIConnectionError,
        3,
        1.0,
        "retried twice, then `APIConnectionError`",
    ),
    Scenario(
        "drop-mid-once",
        DropConnection(midway=True),
        1,
        None,
        2,
        1.0,
        "connection closed after half the body: retried, succeeds",
    ),
    Scenario(
        "drop-mid-always",
        DropConnection(midway=True),
        None,
        APIConnectionError,
        3,
        1.0,
        "retried twice, then `APIConnectionError`",
    ),
    Scenario(
        "stall-once",
        Stall(seconds=0.5),
        1,
        None,
        2,
        1.5,
        "no answer within the read timeout: the attempt times out, the retry succeeds",
    ),
    Scenario(
        "stall-always",
        Stall(seconds=0.5),
        None,
        APITimeoutError,
        3,
        2.5,
        "every attempt times out: `APITimeoutError` after 3 read timeouts",
    ),
    Scenario(
        "not-json",
        NotJSON(),
        1,
        APIResponseValidationError,
        1,
        0.5,
        "a 200 that is an HTML page: not retried (a 2xx was answered), raised with an excerpt",
    ),
    Scenario(
        "truncated",
        TruncatedBody(),
        1,
        APIResponseValidationError,
        1,
        0.5,
        "JSON cut short: raised, never a half-parsed model; not retried (it was processed)",
    ),
    Scenario(
        "wrong-content-type",
        WrongContentType(),
        1,
        None,
        1,
        0.5,
        "the body is parsed as JSON whatever the `Content-Type` says",
    ),
    Scenario(
        "trickle",
        TrickledBody(seconds=0.3, chunks=6),
        1,
        None,
        1,
        1.0,
        "a slow body within the read timeout per chunk: succeeds, just later",
        min_seconds=0.3,
    ),
]


def render_table() -> str:
    """The README's fault matrix, from ``SCENARIOS``."""
    lines = [
        "| `--fault` | Faulted | Outcome | Attempts | Processed | Time bound | What happens |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in SCENARIOS:
        rule = rule_spec(FaultRule(s.fault, times=s.times))
        when = "every attempt" if s.times is None else "the first attempt"
        outcome = "success" if s.outcome is None else f"`{s.outcome.__name__}`"
        lines.append(
            f"| `{rule}` | {when} | {outcome} | {s.attempts} | {s.processed} "
            f"| {s.max_seconds:g} s | {s.why} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_table(), end="")
