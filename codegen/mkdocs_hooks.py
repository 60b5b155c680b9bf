"""mkdocs hooks (mkdocs.yml): the docs site's generated pages, from the sources of the code.

- ``api.md``: the operation map codegen writes at the top of the project, added as is.
- ``reference/*.md``: mkdocstrings pages for the public surface; the models page lists
  every name ``stream_moderation.models`` exports, so a spec update changes it with the
  code. The text of each entry is the docstring generated from the spec.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

__all__ = ["on_files", "reference_pages"]

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "stream_moderation"


def _exported(module: Path) -> list[str]:
    """The names in a module's ``__all__``, read without importing it."""
    tree = ast.parse(module.read_text())
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = ast.literal_eval(node.value)  # type: ignore[union-attr]
            return [str(name) for name in value]
    return []


def _model_modules() -> dict[str, str]:
    """Each generated model's module, from the lazy table of ``models/__init__.py``."""
    tree = ast.parse((SRC / "_generated" / "models" / "__init__.py").read_text())
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        targets = [target] if target is not None else getattr(node, "targets", [])
        if any(isinstance(t, ast.Name) and t.id == "_MODULES" for t in targets):
            return {str(k): str(v) for k, v in ast.literal_eval(node.value).items()}  # type: ignore[arg-type]
    return {}


def _paginated() -> list[str]:
    """The async paginated query classes of the generated resources module."""
    tree = ast.parse((SRC / "_generated" / "resources.py").read_text())
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and node.name.startswith("Async")
        and node.name.endswith("Method")
    ]


def _entries(module: str, names: list[str]) -> str:
    return "\n".join(f"::: {module}.{name}\n" for name in names)


def reference_pages() -> dict[str, str]:
    errors = [
        n
        for n in _exported(SRC / "__init__.py")
        if n.endswith("Error") and n not in {"ForkError", "CoordinatorError"}
    ]
    modules = _model_modules()
    return {
        "reference/clients.md": "# Clients\n\n"
        + _entries("stream_moderation", ["AsyncStream", "Stream", "StreamResponse"])
        + _entries("stream_moderation", ["CheckItem", "CheckResult", "RateLimitInfo"]),
        "reference/resource.md": "# The moderation resource\n\n"
        "`client.moderation` (and `client.moderation()`): one method per operation of the "
        "spec, generated from it. The blocking client's `ModerationResource` has the same "
        "methods without `await`.\n\n"
        + _entries("stream_moderation._generated.resources", ["AsyncModerationResource"])
        + "\nThe paginated queries are objects of their own: call one for a page, "
        "`.iter()` for every item.\n\n"
        + _entries("stream_moderation._generated.resources", _paginated()),
        "reference/errors.md": "# Errors\n\n" + _entries("stream_moderation", errors),
        "reference/webhooks.md": "# Webhooks\n\n::: stream_moderation.webhooks\n",
        "reference/testing.md": "# Emulator\n\n"
        + _entries("stream_moderation.testing", ["Emulator"]),
        "reference/models.md": "# Models\n\n"
        "Every schema of the spec, as generated (`stream_moderation.models`).\n\n"
        + "::: stream_moderation._types.UnknownValue\n\n"
        + "".join(
            f"::: stream_moderation._generated.models.{modules[name]}.{name}\n\n"
            for name in sorted(modules)
        ),
    }


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "api.md", abs_src_path=str(ROOT / "api.md")))
    for path, content in reference_pages().items():
        files.append(File.generated(config, path, content=content))
    return files
