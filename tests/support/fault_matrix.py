"""The fault matrix: each fault the emulator injects, and what the SDK does about it.

One list of scenarios drives both the tests (``tests/client/test_faults.py`` runs each one for
``check``, ``query_review_queue`` and ``submit_action``, on asyncio and trio, served and
in process) and the table in docs/reliability.md (``render_table``; a test
checks that the page holds it verbatim). ``python -m tests.support.fault_matrix`` prints it.
"""

from __future__ import annotations

import attrs

from stream_moderation import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    ResponseLostError,
    StreamError,
)
from stream_moderation.testing import (
    DropConnection,
    Fault,
    LostResponse,
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
    "Expect",
    "Scenario",
    "render_table",
]

MAX_RETRIES = 2
"""The client's default: up to 3 attempts."""
READ_TIMEOUT = 0.25
"""The clients' read timeout in the matrix (a stall outlasts it)."""
OPERATIONS = ("check", "query_review_queue", "submit_action", "upsert_config")
"""A counted write, a read, a moderator action and an idempotent write (upsert by key):
the cases read each one's class from its generated ``Operation.resendable``."""


@attrs.frozen
class Expect:
    outcome: type[StreamError] | None
    """The error raised, or None for success."""
    attempts: int
    """Requests the emulator receives for the call."""


@attrs.frozen
class Scenario:
    id: str
    fault: Fault
    times: int | None
    """How many attempts get the fault (None: every one)."""
    resendable: Expect
    """What happens to an operation that may be resent after it may have been processed."""
    max_seconds: float
    """A bound on the call's duration (backoff patched to ~10 ms; server waits are real)."""
    why: str
    min_seconds: float = 0.0
    other: Expect | None = None
    """What happens to any other operation, when that differs."""

    def expect(self, resendable: bool) -> Expect:
        return self.resendable if resendable or self.other is None else self.other

    def processed(self, resendable: bool) -> int:
        """How many attempts reach the operation's handler (the request is processed)."""
        expect = self.expect(resendable)
        if self.fault.reaches_handler:
            return expect.attempts
        return 0 if expect.outcome is not None else 1


def _lost(attempts: int = 1) -> Expect:
    return Expect(ResponseLostError, attempts)


SCENARIOS = [
    Scenario(
        "500-once",
        ServerError(500),
        1,
        Expect(None, 2),
        1.0,
        "5xx is retried after a backoff; a 500 may follow processing, so only if resendable",
        other=Expect(InternalServerError, 1),
    ),
    Scenario(
        "502-html-once",
        ServerError(502, html=True),
        1,
        Expect(None, 2),
        1.0,
        "a proxy's HTML 5xx is treated like the API's own",
        other=Expect(InternalServerError, 1),
    ),
    Scenario(
        "503-always",
        ServerError(503),
        None,
        Expect(InternalServerError, 3),
        1.0,
        "503 is a refusal: retried twice for every operation, then raised with the body",
    ),
    Scenario(
        "503-html-always",
        ServerError(503, html=True),
        None,
        Expect(InternalServerError, 3),
        1.0,
        "raised with the status and an excerpt of the HTML body",
    ),
    Scenario(
        "429-retry-after-once",
        RateLimited(retry_after=0.2),
        1,
        Expect(None, 2),
        1.0,
        "waits exactly the `Retry-After` seconds (not the backoff), then succeeds",
        min_seconds=0.2,
    ),
    Scenario(
        "429-http-date-once",
        RateLimited(retry_after=0, http_date=True),
        1,
        Expect(None, 2),
        1.0,
        "`Retry-After` as an HTTP date (this second): waits until then, then succeeds",
    ),
    Scenario(
        "429-reset-once",
        RateLimited(retry_after=None, reset_after=0.0),
        1,
        Expect(None, 2),
        1.0,
        "no `Retry-After`: waits until `X-RateLimit-Reset`, then succeeds",
    ),
    Scenario(
        "429-always",
        RateLimited(retry_after=0.05),
        None,
        Expect(RateLimitError, 3),
        1.0,
        "`RateLimitError` with `retry_after` and `rate_limit` (limit, remaining, reset)",
    ),
    Scenario(
        "429-too-long",
        RateLimited(retry_after=120),
        None,
        Expect(RateLimitError, 1),
        0.5,
        "a wait past the deadline (60 s) is not started: raised at once, `retry_after=120`",
    ),
    Scenario(
        "drop-before-once",
        DropConnection(),
        1,
        Expect(None, 2),
        1.0,
        "closed after the request was sent: resent on a new connection only if resendable",
        other=_lost(),
    ),
    Scenario(
        "drop-before-always",
        DropConnection(),
        None,
        Expect(APIConnectionError, 3),
        1.0,
        "retried twice, then `APIConnectionError` (`may_have_been_processed`)",
        other=_lost(),
    ),
    Scenario(
        "drop-mid-once",
        DropConnection(midway=True),
        1,
        Expect(None, 2),
        1.0,
        "connection closed after half the body: retried if resendable",
        other=_lost(),
    ),
    Scenario(
        "drop-mid-always",
        DropConnection(midway=True),
        None,
        Expect(APIConnectionError, 3),
        1.0,
        "retried twice, then `APIConnectionError`",
        other=_lost(),
    ),
    Scenario(
        "stall-once",
        Stall(seconds=0.5),
        1,
        Expect(None, 2),
        1.5,
        "no answer within the read timeout: the attempt times out; resent only if resendable",
        other=_lost(),
    ),
    Scenario(
        "stall-always",
        Stall(seconds=0.5),
        None,
        Expect(APITimeoutError, 3),
        2.5,
        "every attempt times out: `APITimeoutError` after 3 read timeouts",
        other=_lost(),
    ),
    Scenario(
        "lost-response-once",
        LostResponse(),
        1,
        Expect(None, 2),
        1.0,
        "processed, then the connection closes: a resendable call is resent (processed twice, "
        "harmlessly); any other raises `ResponseLostError`, processed once",
        other=_lost(),
    ),
    Scenario(
        "lost-response-stall-once",
        LostResponse(seconds=0.5),
        1,
        Expect(None, 2),
        1.5,
        "processed, then no answer within the read timeout: the same",
        other=_lost(),
    ),
    Scenario(
        "not-json",
        NotJSON(),
        1,
        Expect(APIResponseValidationError, 1),
        0.5,
        "a 200 that is an HTML page: not retried (a 2xx was answered), raised with an excerpt",
    ),
    Scenario(
        "truncated",
        TruncatedBody(),
        1,
        Expect(APIResponseValidationError, 1),
        0.5,
        "JSON cut short: raised, never a half-parsed model; not retried (it was processed)",
    ),
    Scenario(
        "wrong-content-type",
        WrongContentType(),
        1,
        Expect(None, 1),
        0.5,
        "the body is parsed as JSON whatever the `Content-Type` says",
    ),
    Scenario(
        "trickle",
        TrickledBody(seconds=0.3, chunks=6),
        1,
        Expect(None, 1),
        1.0,
        "a slow body within the attempt's timeout: succeeds, just later",
        min_seconds=0.3,
    ),
]


def _cell(expect: Expect, processed: int) -> str:
    outcome = "success" if expect.outcome is None else f"`{expect.outcome.__name__}`"
    return f"{outcome}, {expect.attempts} sent, {processed} processed"


def render_table() -> str:
    """The docs' fault matrix, from ``SCENARIOS``."""
    lines = [
        "| `--fault` | Faulted | Resendable operation | Any other operation | Time bound "
        "| What happens |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in SCENARIOS:
        rule = rule_spec(FaultRule(s.fault, times=s.times))
        when = "every attempt" if s.times is None else "the first attempt"
        resendable = _cell(s.expect(True), s.processed(True))
        other = "the same" if s.other is None else _cell(s.expect(False), s.processed(False))
        lines.append(
            f"| `{rule}` | {when} | {resendable} | {other} | {s.max_seconds:g} s | {s.why} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_table(), end="")
