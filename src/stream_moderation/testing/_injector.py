"""Which requests get a fault, and the counts of what was injected.

``FaultInjector`` is a middleware factory for ``Emulator.add_middleware``: it sits in
front of the whole app, finds the operation of each request, and answers with a fault
when one of its rules says so. A rule picks its requests by operation (or all of them),
for the next ``times`` requests and/or a ``rate`` fraction of them; the fraction is drawn
from the rule's own seeded generator, so a run that sends the same requests in the same
order gets the same faults. Requests that are not API operations (``/openapi.json``, the
``/_emulator/`` endpoints) never get one.

Everything is counted: ``attempts`` (requests per operation that reached the injector,
faulted or not) and ``injected`` (faults per label and operation). Served, the counts are
also at ``GET /_emulator/faults``.

On the command line a rule is ``KIND[:OPTION=VALUE,...]`` (see ``parse_rule``).
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import attrs
from starlette.types import ASGIApp, Receive, Scope, Send

from ._faults import (
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
    respond,
)
from ._spec import operations

__all__ = [
    "FAULTS_PATH",
    "RULE_SYNTAX",
    "FaultInjector",
    "FaultRule",
    "fault_spec",
    "parse_rule",
    "rule_spec",
]

FAULTS_PATH = "/_emulator/faults"


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"rate must be between 0 and 1, got {value}")


def _operation_set(ops: Iterable[str] | None) -> frozenset[str] | None:
    return None if ops is None else frozenset(ops)


def _times(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"times must be >= 0, got {value}")


@attrs.define(eq=False)
class FaultRule:
    """Inject ``fault`` into requests of ``operations`` (None: every operation): each one
    with probability ``rate`` (seeded with ``seed``), at most ``times`` times (None: no
    limit)."""

    fault: Fault
    operations: frozenset[str] | None = attrs.field(default=None, converter=_operation_set)
    times: int | None = attrs.field(default=None, validator=_times)
    rate: float = attrs.field(default=1.0, validator=_rate)
    seed: int = 0
    injected: int = 0
    """How many requests this rule has faulted so far."""
    _random: random.Random = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        unknown = (self.operations or frozenset()) - set(operations())
        if unknown:
            raise ValueError(f"unknown operations: {', '.join(sorted(unknown))}")
        self._random = random.Random(self.seed)

    def matches(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def fires(self) -> bool:
        """Whether the current request (one of this rule's operations) gets the fault."""
        if self.times is not None and self.injected >= self.times:
            return False
        if self.rate < 1.0 and self._random.random() >= self.rate:
            return False
        self.injected += 1
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "fault": self.fault.label,
            "operations": sorted(self.operations) if self.operations is not None else None,
            "times": self.times,
            "rate": self.rate,
            "seed": self.seed,
            "injected": self.injected,
        }


def _routes() -> list[tuple[str, re.Pattern[str], str]]:
    routes = []
    for op in operations().values():
        for path in (op.path, *op.aliases):
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "/?$")
            routes.append((op.method, pattern, op.name))
    return routes


class FaultInjector:
    """Injects faults into the emulator's answers: ``emulator.add_middleware(injector)``.

    ``inject(fault, times=..., rate=..., operations=..., seed=...)`` adds a rule; rules are
    tried in the order they were added and the first that fires answers the request.
    """

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        self._rules: list[FaultRule] = list(rules)
        self._routes = _routes()
        self._lock = threading.Lock()
        self.attempts: Counter[str] = Counter()
        """Requests per operation that reached the injector (with or without a fault)."""
        self.injections: Counter[tuple[str, str]] = Counter()
        """Faults injected per (operation, fault label)."""

    def __call__(self, app: ASGIApp) -> ASGIApp:
        return _FaultMiddleware(self, app)

    # -- rules ------------------------------------------------------------------------------

    @property
    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def inject(
        self,
        fault: Fault,
        *,
        times: int | None = None,
        rate: float = 1.0,
        operations: Iterable[str] | None = None,
        seed: int = 0,
    ) -> FaultRule:
        """Fault the next ``times`` requests (None: all of them), or a ``rate`` fraction."""
        ops = None if operations is None else frozenset(operations)
        return self.add(FaultRule(fault, ops, times=times, rate=rate, seed=seed))

    def clear(self) -> None:
        """Remove every rule (the counts stay)."""
        with self._lock:
            self._rules.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.attempts.clear()
            self.injections.clear()

    # -- counts -----------------------------------------------------------------------------

    @property
    def injected(self) -> Counter[str]:
        """Faults injected per fault label (``503``, ``429``, ``drop-before``, ...)."""
        with self._lock:
            totals: Counter[str] = Counter()
            for (_, label), count in self.injections.items():
                totals[label] += count
            return totals

    def injected_into(self, operation: str) -> int:
        """Faults injected into requests of ``operation``."""
        with self._lock:
            return sum(n for (op, _), n in self.injections.items() if op == operation)

    def snapshot(self) -> dict[str, Any]:
        """The counts and rules, as served at ``/_emulator/faults``."""
        with self._lock:
            by_operation: dict[str, dict[str, int]] = {}
            for (op, label), count in sorted(self.injections.items()):
                by_operation.setdefault(op, {})[label] = count
            rules = [rule.describe() for rule in self._rules]
            attempts = dict(sorted(self.attempts.items()))
        return {
            "attempts": attempts,
            "injected": dict(sorted(self.injected.items())),
            "injected_by_operation": by_operation,
            "rules": rules,
        }

    # -- per request ------------------------------------------------------------------------

    def operation_of(self, method: str, path: str) -> str | None:
        for op_method, pattern, name in self._routes:
            if op_method == method and pattern.match(path):
                return name
        return None

    def select(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any; counts the attempt and the injection."""
        operation = self.operation_of("GET" if method == "HEAD" else method, path)
        if operation is None:
            return None
        with self._lock:
            self.attempts[operation] += 1
            for rule in self._rules:
                if rule.matches(operation) and rule.fires():
                    self.injections[(operation, rule.fault.label)] += 1
                    return rule.fault
        return None


class _FaultMiddleware:
    def __init__(self, injector: FaultInjector, app: ASGIApp) -> None:
        self.injector = injector
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if path == FAULTS_PATH and method == "GET":
            body = json.dumps(self.injector.snapshot()).encode()
            await respond(send, 200, [(b"content-type", b"application/json")], body)
            return
        fault = self.injector.select(method, path)
        if fault is None:
            await self.app(scope, receive, send)
        else:
            await fault.apply(self.app, scope, receive, send)


# -- the command line's rules ----------------------------------------------------------------


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


_FAULT_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "body": ("html", lambda v: {"html": True, "json": False}[v]),
    "retry-after": ("retry_after", lambda v: None if v == "none" else float(v)),
    "date": ("http_date", _flag),
    "reset": ("reset_after", float),
    "limit": ("limit", int),
    "seconds": ("seconds", float),
    "chunks": ("chunks", int),
    "keep": ("keep", float),
    "type": ("content_type", str),
}

_KINDS: dict[str, Callable[..., Fault]] = {
    "429": RateLimited,
    "drop-before": lambda: DropConnection(midway=False),
    "drop-mid": lambda: DropConnection(midway=True),
    "stall": Stall,
    "lost-response": LostResponse,
    "not-json": NotJSON,
    "truncate": TruncatedBody,
    "wrong-content-type": WrongContentType,
    "trickle": TrickledBody,
}

RULE_SYNTAX = (
    "KIND[:OPTION=VALUE,...]; KIND is 500-599, 429, drop-before, drop-mid, stall, "
    "lost-response, truncate, not-json, wrong-content-type or trickle; which requests: "
    "times=N, rate=FRACTION, seed=N, ops=check+submit_action; the fault: body=json|html "
    "(5xx), retry-after=S|none, date=true (Retry-After as an HTTP date), reset=S, limit=N "
    "(429), seconds=S (stall, lost-response, trickle), chunks=N (trickle), keep=FRACTION "
    "(truncate), type=MEDIA (wrong-content-type)"
)


def parse_rule(text: str) -> FaultRule:
    """A rule from its command-line form, e.g. ``503:rate=0.05,seed=1`` or
    ``429:times=3,retry-after=2,date=true,ops=check``. Raises ValueError."""
    kind, _, rest = text.strip().partition(":")
    selection: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{text!r}: expected OPTION=VALUE, got {item!r}")
        try:
            if name == "times":
                selection["times"] = int(value)
            elif name == "rate":
                selection["rate"] = float(value)
            elif name == "seed":
                selection["seed"] = int(value)
            elif name == "ops":
                selection["operations"] = frozenset(filter(None, value.split("+")))
            elif name in _FAULT_OPTIONS:
                field, convert = _FAULT_OPTIONS[name]
                options[field] = convert(value)
            else:
                raise ValueError(f"unknown option {name!r}")
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{text!r}: bad {name}={value!r} ({exc})") from None
    try:
        if kind.isdigit() and 500 <= int(kind) < 600:
            fault: Fault = ServerError(int(kind), **options)
        elif kind in _KINDS:
            fault = _KINDS[kind](**options)
        else:
            raise ValueError(f"unknown fault {kind!r}")
    except TypeError as exc:  # an option that this kind of fault does not take
        raise ValueError(f"{text!r}: {exc}") from None
    return FaultRule(fault, **selection)


_KIND_OF: dict[type[Fault], str] = {
    RateLimited: "429",
    Stall: "stall",
    LostResponse: "lost-response",
    NotJSON: "not-json",
    TruncatedBody: "truncate",
    WrongContentType: "wrong-content-type",
    TrickledBody: "trickle",
}
_OPTION_OF = {field: option for option, (field, _) in _FAULT_OPTIONS.items()}


def _option_value(field: str, value: Any) -> str:
    if field == "html":
        return "html" if value else "json"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def fault_spec(fault: Fault) -> str:
    """The command-line form of ``fault`` (``parse_rule`` reads it back)."""
    if isinstance(fault, ServerError):
        kind = str(fault.status)
    elif isinstance(fault, DropConnection):
        kind = fault.label
    else:
        kind = _KIND_OF[type(fault)]
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(type(fault))  # type: ignore[arg-type]
    options = [
        f"{_OPTION_OF[field.name]}={_option_value(field.name, getattr(fault, field.name))}"
        for field in fields
        if field.name not in ("status", "midway") and getattr(fault, field.name) != field.default
    ]
    return f"{kind}:{','.join(options)}" if options else kind


def rule_spec(rule: FaultRule) -> str:
    """The command-line form of ``rule``."""
    options = []
    if rule.times is not None:
        options.append(f"times={rule.times}")
    if rule.rate != 1.0:
        options.append(f"rate={rule.rate:g}")
    if rule.seed:
        options.append(f"seed={rule.seed}")
    if rule.operations is not None:
        options.append("ops=" + "+".join(sorted(rule.operations)))
    spec = fault_spec(rule.fault)
    if not options:
        return spec
    return f"{spec}{',' if ':' in spec else ':'}{','.join(options)}"
