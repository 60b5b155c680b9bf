"""The retry classification in docs/errors.md, rendered from the generated operations' metadata
(``Operation.resendable`` and ``resend_reason``, set by ``codegen/resend.py``); a test
checks that the page holds it. ``python -m tests.support.retry_table`` prints it."""

from __future__ import annotations

import importlib

from stream_moderation._generated.api import OPERATIONS

__all__ = ["render_table"]


def render_table() -> str:
    lines = [
        "| operation | request | resent after it may have been processed | why |",
        "| --- | --- | --- | --- |",
    ]
    for name, (method, path, module) in sorted(OPERATIONS.items()):
        op = importlib.import_module(f"stream_moderation._generated.api.moderation.{module}")
        operation = op.OPERATION
        resent = "yes" if operation.resendable else "**no**"
        lines.append(f"| `{name}` | `{method} {path}` | {resent} | {operation.resend_reason} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_table(), end="")
