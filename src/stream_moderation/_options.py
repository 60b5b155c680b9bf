"""The per-call options every operation takes, as one object built once per call.

A generated method takes them as keyword arguments (``timeout``, ``extra_headers``, ...)
so that they read like the rest of its arguments, builds one ``RequestOptions`` from them
with ``request_options`` and hands it down: through the Requester protocols, the client's
``request`` and the pager, to ``ClientCore.start_call``, which reads it. Like ``_types``,
this module imports nothing else of the SDK, so the generated code may depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import httpx

from ._types import UNSET, Unset

__all__ = ["CLIENT_OPTIONS", "RequestOptions", "TimeoutTypes", "check_options", "request_options"]

TimeoutTypes = float | httpx.Timeout | None


class RequestOptions(TypedDict, total=False):
    """The per-call options every operation takes, as its methods pass them to a client's
    ``request`` (a key left out: the client's own setting)."""

    timeout: TimeoutTypes | Unset
    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, Any] | None
    extra_body: Mapping[str, Any] | None
    max_retries: int | None
    deadline: float | Unset | None
    retry_unsafe: bool | None
    strict_response_validation: bool | None


_OPTION_NAMES = frozenset(RequestOptions.__annotations__)

CLIENT_OPTIONS: Mapping[str, Any] = {
    "timeout": UNSET,
    "extra_headers": None,
    "extra_query": None,
    "extra_body": None,
    "max_retries": None,
    "deadline": UNSET,
    "retry_unsafe": None,
    "strict_response_validation": None,
}
"""What each option reads when it is left out: the client's own setting (typed as a
Mapping: it is shared, never changed)."""


def request_options(
    timeout: TimeoutTypes | Unset,
    extra_headers: Mapping[str, str] | None,
    extra_query: Mapping[str, Any] | None,
    extra_body: Mapping[str, Any] | None,
    max_retries: int | None,
    deadline: float | Unset | None,
    retry_unsafe: bool | None,
    strict_response_validation: bool | None,
) -> RequestOptions:
    """The options of one call, from a generated method's keyword arguments (in the order
    the methods declare them; UNSET or None: the client's own setting). Empty when every
    one is the client's own, as in most calls."""
    if (
        timeout is UNSET
        and deadline is UNSET
        and extra_headers is None
        and extra_query is None
        and extra_body is None
        and max_retries is None
        and retry_unsafe is None
        and strict_response_validation is None
    ):
        return {}
    return {
        "timeout": timeout,
        "extra_headers": extra_headers,
        "extra_query": extra_query,
        "extra_body": extra_body,
        "max_retries": max_retries,
        "deadline": deadline,
        "retry_unsafe": retry_unsafe,
        "strict_response_validation": strict_response_validation,
    }


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse a per-call option that does not exist, as a keyword argument would be."""
    if not _OPTION_NAMES.issuperset(options):
        name = min(set(options) - _OPTION_NAMES)
        raise TypeError(f"request() got an unexpected keyword argument {name!r}")
