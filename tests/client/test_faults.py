"""The fault matrix: every fault of ``tests/support/fault_matrix.py`` x {check, query_review_queue,
submit_action} x {asyncio, trio}, over real sockets to the served emulator (and each fault
in process, and with the sync client): the outcome, the attempts the emulator received,
how many it processed, the time taken, and no connection left checked out of the pool."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from stream_moderation import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AsyncStream,
    RateLimitError,
    ResponseLostError,
    Stream,
    StreamError,
)
from stream_moderation._generated import SPEC_VERSION
from stream_moderation.testing import (
    DropConnection,
    Emulator,
    FaultInjector,
    RateLimited,
    ServerError,
    Stall,
)
from tests.support.fault_matrix import (
    MAX_RETRIES,
    OPERATIONS,
    READ_TIMEOUT,
    SCENARIOS,
    Scenario,
    render_table,
)
from tests.support.fault_support import (
    KEY,
    MESSAGE,
    POLICY,
    SECRET,
    Call,
    Served,
    checked_out,
    established_to,
    fast_backoff,
    idle_connections,
    pool_of,
    prepare,
    served_emulator,
)

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_emulator() as served:
        yield served


@pytest.fixture
def faults(served: Served) -> Iterator[FaultInjector]:
    served.faults.clear()
    served.faults.reset_counts()
    yield served.faults
    served.faults.clear()


def timeout() -> httpx.Timeout:
    return httpx.Timeout(2.0, read=READ_TIMEOUT)


def _phrase(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase


def resendable(operation: str) -> bool:
    """The operation's class, as codegen generated it (never a list kept here)."""
    module = importlib.import_module(f"stream_moderation._generated.api.moderation.{operation}")
    return bool(module.OPERATION.resendable)


def check_outcome(scenario: Scenario, outcome: object, resend: bool = False) -> None:
    expected = scenario.expect(resend).outcome
    if expected is None:
        assert not isinstance(outcome, BaseException), f"{scenario.id}: {outcome!r}"
        return
    assert type(outcome) is expected, f"{scenario.id}: {outcome!r}"
    if isinstance(outcome, ResponseLostError):
        assert outcome.may_have_been_processed and "may have been processed" in str(outcome)
        return
    if isinstance(outcome, APIStatusError):
        expected = getattr(scenario.fault, "status", 429)
        assert outcome.status_code == expected
        if getattr(scenario.fault, "html", False):
            assert _phrase(expected) in outcome.body and outcome.code is None
        else:
            assert outcome.code in (-1, 9) and outcome.unrecoverable is False
    if isinstance(outcome, RateLimitError):
        assert isinstance(scenario.fault, RateLimited)
        assert outcome.retry_after is not None
        assert outcome.rate_limit is not None and outcome.rate_limit.remaining == 0
        assert outcome.rate_limit.limit == 1000 and outcome.rate_limit.reset is not None
        if scenario.fault.retry_after == 120:
            assert outcome.retry_after == 120
    if isinstance(outcome, APIResponseValidationError):
        assert outcome.body  # an excerpt of what came back


async def attempt(call: Call) -> tuple[object, float]:
    started = time.perf_counter()
    try:
        result: object = await call()
    except StreamError as exc:
        result = exc
    return result, time.perf_counter() - started


# -- the matrix, served over real sockets -----------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
async def test_fault_matrix(
    served: Served, faults: FaultInjector, scenario: Scenario, operation: str
) -> None:
    emulator = served.emulator
    async with AsyncStream(
        KEY, SECRET, base_url=served.url, timeout=timeout(), max_retries=MAX_RETRIES
    ) as client:
        fast_backoff(client)
        call, entity = await prepare(client, operation)
        faults.reset_counts()
        processed_before = emulator.calls.get(operation, 0)
        checks_before = emulator.state.check_counts.get(entity, 0)
        faults.inject(scenario.fault, times=scenario.times, operations=[operation])
        resend = resendable(operation)
        expect = scenario.expect(resend)

        outcome, elapsed = await attempt(call)

        check_outcome(scenario, outcome, resend)
        assert faults.attempts[operation] == expect.attempts
        injected = expect.attempts if scenario.times is None else scenario.times
        assert faults.injected[scenario.fault.label] == injected
        processed = scenario.processed(resend)
        assert emulator.calls.get(operation, 0) - processed_before == processed
        if operation == "check":
            checks = emulator.state.check_counts.get(entity, 0) - checks_before
            assert checks == processed
        assert scenario.min_seconds <= elapsed < scenario.max_seconds, elapsed
        assert checked_out(client) == []
        pool = pool_of(client)
    assert pool.connections == []


# -- each fault in process (no socket: dropped connections raise httpx's errors) --------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
async def test_fault_matrix_in_process(scenario: Scenario) -> None:
    emulator = Emulator(KEY, SECRET)
    faults = FaultInjector()
    emulator.add_middleware(faults)
    async with emulator.client(max_retries=MAX_RETRIES) as client:
        fast_backoff(client)
        call, entity = await prepare(client, "check")
        faults.reset_counts()
        faults.inject(scenario.fault, times=scenario.times, operations=["check"])
        outcome, elapsed = await attempt(call)
    resend = resendable("check")
    check_outcome(scenario, outcome, resend)
    assert faults.attempts["check"] == scenario.expect(resend).attempts
    assert emulator.state.check_counts.get(entity, 0) == scenario.processed(resend)
    assert scenario.min_seconds <= elapsed < scenario.max_seconds, elapsed


# -- the blocking client, served ------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_fault_matrix_sync_client(
    served: Served, faults: FaultInjector, scenario: Scenario
) -> None:
    with Stream(
        KEY, SECRET, base_url=served.url, timeout=timeout(), max_retries=MAX_RETRIES
    ) as client:
        fast_backoff(client)
        client.moderation.upsert_config(**POLICY)
        faults.reset_counts()
        faults.inject(scenario.fault, times=scenario.times, operations=["check"])
        started = time.perf_counter()
        outcome: object
        try:
            outcome = client.moderation.check(
                entity_type=MESSAGE,
                entity_id="sync-1",
                entity_creator_id="author",
                moderation_payload={"texts": ["hello"]},
                config_key="policy",
            )
        except StreamError as exc:
            outcome = exc
        elapsed = time.perf_counter() - started
        resend = resendable("check")
        check_outcome(scenario, outcome, resend)
        assert faults.attempts["check"] == scenario.expect(resend).attempts
        assert scenario.min_seconds <= elapsed < scenario.max_seconds, elapsed
        assert checked_out(client) == []
        pool = pool_of(client)
    assert pool.connections == []


# -- real waits and the pool after many failures --------------------------------------------


async def test_retry_after_is_waited_for_real(served: Served, faults: FaultInjector) -> None:
    """Backoff untouched: a 429 with ``Retry-After: 1`` holds the retry for one second."""
    async with AsyncStream(KEY, SECRET, base_url=served.url) as client:
        call, _ = await prepare(client, "check")
        faults.reset_counts()
        faults.inject(RateLimited(retry_after=1), times=1, operations=["check"])
        outcome, elapsed = await attempt(call)
    assert not isinstance(outcome, BaseException)
    assert faults.attempts["check"] == 2
    assert 1.0 <= elapsed < 1.6, elapsed


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_retry_after_http_date_is_waited_for_real(
    served: Served, faults: FaultInjector
) -> None:
    """``Retry-After`` as an HTTP date two seconds ahead (to the nearest second): the retry
    waits 1.5 to 2.5 s, not the backoff."""
    async with AsyncStream(KEY, SECRET, base_url=served.url) as client:
        fast_backoff(client)
        call, _ = await prepare(client, "check")
        faults.reset_counts()
        faults.inject(RateLimited(retry_after=2, http_date=True), times=1, operations=["check"])
        outcome, elapsed = await attempt(call)
    assert not isinstance(outcome, BaseException)
    assert faults.attempts["check"] == 2
    assert 1.45 <= elapsed < 2.7, elapsed


async def test_no_connection_is_left_open_after_retried_failures(
    served: Served, faults: FaultInjector
) -> None:
    """Fifty concurrent calls through connection drops, stalls and 5xx: afterwards every
    connection of the pool is idle or gone, and the sockets still open to the server are
    exactly the idle ones; after ``aclose`` none is."""
    port = int(served.url.rsplit(":", 1)[1])
    assert established_to(port) == 0
    for number, fault in enumerate(
        [DropConnection(), DropConnection(midway=True), Stall(seconds=1), ServerError(503)]
    ):
        faults.inject(fault, rate=0.15, operations=["check"], seed=number)
    outcomes: list[object] = []
    async with AsyncStream(KEY, SECRET, base_url=served.url, timeout=timeout()) as client:
        fast_backoff(client)
        await client.moderation.upsert_config(**POLICY)

        async def one(number: int) -> None:
            try:
                await client.moderation.check(
                    entity_type=MESSAGE,
                    entity_id=f"pool-{number}",
                    entity_creator_id="author",
                    moderation_payload={"texts": ["hello"]},
                    config_key="policy",
                )
                outcomes.append(None)
            except StreamError as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as group:
            for number in range(50):
                group.start_soon(one, number)
        assert sum(faults.injected.values()) > 10  # failures happened, and were retried
        assert checked_out(client) == []
        await anyio.sleep(0.05)  # let the kernel see the closes
        assert established_to(port) == idle_connections(client)
    await anyio.sleep(0.05)
    assert established_to(port) == 0
    assert len(outcomes) == 50
    assert all(o is None or isinstance(o, APIConnectionError | APIStatusError) for o in outcomes)


# -- the injector itself --------------------------------------------------------------------


def test_rates_are_seeded_and_deterministic() -> None:
    def pattern(seed: int) -> list[bool]:
        injector = FaultInjector()
        injector.inject(ServerError(503), rate=0.3, seed=seed)
        return [injector.select("POST", "/api/v2/moderation/check") is not None for _ in range(200)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 30 <= sum(pattern(7)) <= 90


def test_times_operations_and_rule_order() -> None:
    injector = FaultInjector()
    injector.inject(ServerError(502), times=2, operations=["check"])
    injector.inject(DropConnection(), times=1)
    check, query = "/api/v2/moderation/check", "/api/v2/moderation/review_queue"
    got = [injector.select("POST", check) for _ in range(4)]
    assert [f.label if f else None for f in got] == ["502", "502", "drop-before", None]
    assert injector.select("POST", query) is None  # the drop rule is spent
    assert injector.select("GET", "/openapi.json") is None  # not an API operation
    assert injector.select("GET", "/_emulator/health") is None
    assert injector.attempts == {"check": 4, "query_review_queue": 1}
    assert injector.injected == {"502": 2, "drop-before": 1}
    assert injector.injected_into("check") == 3
    snapshot = injector.snapshot()
    assert snapshot["injected_by_operation"] == {"check": {"502": 2, "drop-before": 1}}
    assert [r["injected"] for r in snapshot["rules"]] == [2, 1]
    with pytest.raises(ValueError, match="unknown operations: nope"):
        injector.inject(ServerError(), operations=["nope"])
    with pytest.raises(ValueError, match="rate"):
        injector.inject(ServerError(), rate=1.5)


def test_paths_with_ids_and_aliases_are_matched() -> None:
    injector = FaultInjector()
    assert injector.operation_of("GET", "/api/v2/moderation/review_queue/abc") == (
        "get_review_queue_item"
    )
    assert injector.operation_of("DELETE", "/api/v2/moderation/config/k/") == "delete_config"
    assert injector.operation_of("PATCH", "/api/v2/moderation/check") is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("418", "unknown fault"),
        ("503:body=xml", "bad body"),
        ("503:times", "expected OPTION=VALUE"),
        ("drop-before:seconds=2", "unexpected keyword"),
        ("stall:wat=1", "unknown option"),
        ("503:rate=2", "rate must be between 0 and 1"),
        ("503:ops=nope", "unknown operations"),
        ("truncate:keep=1", "keep must be less than 1"),
    ],
)
def test_bad_rules_are_refused(text: str, error: str) -> None:
    from stream_moderation.testing import parse_rule

    with pytest.raises(ValueError, match=error):
        parse_rule(text)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_command_line_form_round_trips(scenario: Scenario) -> None:
    from stream_moderation.testing import FaultRule, parse_rule
    from stream_moderation.testing._injector import rule_spec

    rule = FaultRule(scenario.fault, operations=["check"], times=scenario.times, seed=3)
    parsed = parse_rule(rule_spec(rule))
    assert (parsed.fault, parsed.operations, parsed.times, parsed.seed) == (
        scenario.fault,
        frozenset({"check"}),
        scenario.times,
        3,
    )


def test_readme_holds_the_fault_matrix() -> None:
    """The docs' table is rendered from SCENARIOS (``python -m tests.support.fault_matrix``)."""
    readme = (ROOT / "docs" / "reliability.md").read_text()
    assert render_table() in readme


def test_readme_fault_injection_example_runs() -> None:
    readme = (ROOT / "docs" / "reliability.md").read_text()
    section = readme[readme.index("## Injecting faults") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", 10)]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    faults = namespace["faults"]
    assert isinstance(faults, FaultInjector) and len(faults.rules) == 4


def test_command_line_refuses_a_bad_fault(capsys: pytest.CaptureFixture[str]) -> None:
    from stream_moderation.testing.__main__ import main

    assert main(["--fault", "503:rate=0.1", "--fault", "418"]) == 2
    assert "--fault: unknown fault '418'" in capsys.readouterr().err


def test_counts_are_served(served: Served, faults: FaultInjector) -> None:
    import jwt

    faults.inject(ServerError(502), times=1, operations=["get_config"])
    token = jwt.encode({"server": True}, SECRET, algorithm="HS256")
    auth = {"Authorization": token, "Stream-Auth-Type": "jwt"}
    with httpx.Client(base_url=served.url, params={"api_key": KEY}, headers=auth) as http:
        assert http.get("/api/v2/moderation/config/nope").status_code == 502
        assert http.get("/api/v2/moderation/config/nope").status_code == 404
        counts = http.get("/_emulator/faults").json()
        assert counts["attempts"] == {"get_config": 2}
        assert counts["injected"] == {"502": 1}
        assert counts["injected_by_operation"] == {"get_config": {"502": 1}}
        assert counts["rules"][0]["fault"] == "502" and counts["rules"][0]["injected"] == 1
        stats = http.get("/_emulator/stats")
        assert stats.status_code == 200 and stats.json()["calls"]["get_config"] >= 1
        assert "check_counts" in stats.json()
        anonymous = http.get("/_emulator/stats", headers={"Authorization": ""})
        assert anonymous.status_code == 401


def test_readme_holds_the_retry_classification() -> None:
    """The README's table is rendered from the generated operations' metadata (of the
    default release; for another one, the rows of the operations both have must agree,
    and the operations the README does not list yet are a gap)."""
    from tests.support.emulator_support import DEFAULT_RELEASE, report_gaps
    from tests.support.retry_table import render_table as retry_table

    readme = (ROOT / "docs" / "errors.md").read_text()
    table = retry_table()
    if SPEC_VERSION == DEFAULT_RELEASE:
        assert table in readme
        return
    header, rows = table.splitlines()[0], table.splitlines()[2:]
    section = readme.split(header + "\n", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    listed = {line.split("|")[1].strip() for line in section}
    for row in rows:
        if row.split("|")[1].strip() in listed:
            assert row in readme, row
    missing = [row.split("`")[1] for row in rows if row.split("|")[1].strip() not in listed]
    report_gaps("operations the README's retry table does not list", missing)
