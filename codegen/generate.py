"""Generate ``src/stream_moderation/_generated`` (and ``api.md``) from a pinned spec release.

Steps: materialise the two spec files, normalise each, merge them, run
openapi-python-client (pinned) with our config and templates into a scratch folder,
render the files the generator has no slot for (the resource classes, the webhook
event table), format with ruff, and only then swap the result into place. Any warning
from the generator, any template failure or any formatting error stops the run with the
spec path and the reason, leaving the committed output untouched.
"""

from __future__ import annotations

import filecmp
import json
import keyword
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import specs
from .docs import DocTables
from .examples import EXAMPLES, sync_form
from .merge import merge
from .normalise import iter_operations, normalise
from .resend import retry_classes

__all__ = ["GenerationError", "build_merged_spec", "compare_trees", "generate", "render"]

ROOT = specs.ROOT
CODEGEN = Path(__file__).resolve().parent
TEMPLATES = CODEGEN / "templates"
CONFIG = CODEGEN / "config.yaml"
PACKAGE_DIR = ROOT / "src" / "stream_moderation" / "_generated"
API_MAP = ROOT / "api.md"
# The v2 (server-side) spec wins where both define a name.
PRIMARY, SECONDARY = "moderation-serverside-api.yaml", "moderation-openapi.yaml"
RUFF_OPTIONS = ["--isolated", "--line-length", "100", "--target-version", "py311"]


class GenerationError(Exception):
    """Generation failed; the message names the spec and the reason."""


class _TemplateFailure(Exception):
    pass


def _fail(message: str) -> None:
    raise _TemplateFailure(message)


# Builtins the generator renames (filter -> filter_, type -> type_) read better as they are:
# a field or argument may shadow a builtin, except those the generated annotations use.
_KEEP_SUFFIX = {"self", "str", "int", "float", "bool", "list", "dict", "object", "datetime"}


def _raw(value: Any) -> str:
    """Spec text as a plain string, for templates that escape it themselves."""
    return value.get_untrusted_value() if hasattr(value, "get_untrusted_value") else str(value)


def _py_name(prop: Any) -> str:
    name = str(prop.python_name)
    bare = name[:-1]
    if (
        name.endswith("_")
        and bare == prop.name.get_untrusted_value()
        and not keyword.iskeyword(bare)
        and bare not in _KEEP_SUFFIX
    ):
        return bare
    return name


def build_merged_spec(version: str | None = None) -> tuple[dict[str, Any], list[str], list[str]]:
    """The normalised, merged spec of a pinned release, its notes and its merge conflicts."""
    paths = specs.materialise(version)
    docs = {}
    notes: list[str] = []
    for name in (PRIMARY, SECONDARY):
        path = paths[name]
        try:
            raw = specs.check_spec_bytes(str(path), path.read_bytes())
            docs[name], file_notes = normalise(raw)
        except Exception as exc:
            raise GenerationError(f"{path}: {exc}") from exc
        notes.extend(f"{name}: {note}" for note in file_notes)
    merged, conflicts = merge(
        docs[PRIMARY], docs[SECONDARY], primary_name=PRIMARY, secondary_name=SECONDARY
    )
    return merged, notes, conflicts


def _event_types(spec: dict[str, Any]) -> dict[str, str]:
    """Webhook event type -> schema name, from the WHEvent discriminator and the event schemas."""
    schemas = spec["components"]["schemas"]
    table: dict[str, str] = {}
    mapping = schemas.get("WHEvent", {}).get("discriminator", {}).get("mapping", {})
    for event_type, ref in mapping.items():
        table[event_type] = ref.rsplit("/", 1)[-1]
    for name, schema in schemas.items():
        if schema.get("x-stream-is-event"):
            default = schema.get("properties", {}).get("type", {}).get("default")
            if default and default not in table:
                table[default] = name
    missing = sorted(set(table.values()) - set(schemas))
    if missing:
        raise GenerationError(
            f"event types refer to schemas that do not exist: {', '.join(missing)}"
        )
    return dict(sorted(table.items()))


def _python_name(operation_id: str) -> str:
    from openapi_python_client.strings import PythonIdentifier

    return str(PythonIdentifier(operation_id, prefix="field_"))


def _operation_aliases(spec: dict[str, Any]) -> dict[str, list[str]]:
    return {
        _python_name(op["operationId"]): op.get("x-aliases", [])
        for _, _, op in iter_operations(spec)
    }


def _schema_of(spec: dict[str, Any], holder: dict[str, Any]) -> dict[str, Any]:
    schema = holder.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    return spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}) if ref else schema


def _paginated(spec: dict[str, Any]) -> dict[str, str]:
    """Cursor-paginated queries (`next`/`prev` in request and response) -> their page field."""
    table = {}
    for path, method, op in iter_operations(spec):
        request = _schema_of(spec, op.get("requestBody", {}))
        success = [r for code, r in op.get("responses", {}).items() if str(code).startswith("2")]
        response = _schema_of(spec, success[0]) if success else {}
        props = response.get("properties", {})
        if "next" not in request.get("properties", {}) or "next" not in props:
            continue
        lists = candidates = [
            name
            for name, p in props.items()
            if p.get("type") == "array" and "$ref" in p.get("items", {})
        ]
        if len(lists) > 1:  # e.g. query_moderation_rules also returns label catalogs
            lists = [name for name in lists if name in response.get("required", [])] or lists
        if len(lists) > 1:
            lists = [name for name in lists if name in op["operationId"]]
        if len(lists) != 1:
            raise GenerationError(
                f"{method.upper()} {path}: paginated (next/prev), but no single page field "
                f"among the response's arrays of models: {candidates}"
            )
        table[_python_name(op["operationId"])] = lists[0]
    return dict(sorted(table.items()))


def _report(source: str, errors: Any) -> GenerationError:
    details = "\n".join(f"- {e.level.value}: {e.header}: {e.detail or ''}".rstrip() for e in errors)
    return GenerationError(f"{source}: the generator reported (--fail-on-warning):\n{details}")


def render(
    spec: dict[str, Any],
    out_dir: Path,
    *,
    version: str,
    notes: list[str],
    conflicts: list[str],
    source: str | None = None,
) -> None:
    """Run the generator and our extra templates on a merged spec into ``out_dir``.

    ``source`` names the spec in error messages (default: the merged file written next to
    ``out_dir``). Any warning of the generator is an error, reported before a template runs.
    """
    from openapi_python_client import Project
    from openapi_python_client.config import Config, ConfigFile, MetaType
    from openapi_python_client.parser import GeneratorData
    from openapi_python_client.parser.errors import GeneratorError

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    spec_path = out_dir.parent / "merged-spec.json"
    spec_path.write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")
    config = Config.from_sources(
        ConfigFile.load_from_path(CONFIG),
        MetaType.NONE,
        spec_path,
        "utf-8",
        True,
        output_path=out_dir,
    )
    source = source or str(spec_path)
    data = GeneratorData.from_dict(spec, config=config)
    if isinstance(data, GeneratorError):
        raise GenerationError(f"{source}: {data.header}: {data.detail}")
    # What the generator dropped or misread, before templates fail on its consequences.
    parse_errors = [
        *(e for c in data.endpoint_collections_by_tag.values() for e in c.parse_errors),
        *data.errors,
    ]
    if parse_errors:
        raise _report(source, parse_errors)
    try:
        event_types, paginated = _event_types(spec), _paginated(spec)
    except GenerationError as exc:
        raise GenerationError(f"{source}: {exc}") from exc
    classes = retry_classes(spec, _python_name)
    project = Project(openapi=data, config=config, custom_template_path=TEMPLATES)
    models_by_name = {m.class_info.name: m for m in data.models}

    def page_field(endpoint: Any) -> Any:
        """The list property of a paginated operation's response that holds each page."""
        for response in endpoint.responses.patterns:
            status = response.status_code.range
            if status and 200 <= status[0] < 300 and hasattr(response.prop, "class_info"):
                model = models_by_name[response.prop.class_info.name]
                for prop in model.required_properties + model.optional_properties:
                    if prop.name == paginated[endpoint.name]:
                        return prop
        _fail(f"{endpoint.name}: no response field {paginated[endpoint.name]!r} to page through")

    docs = DocTables(spec, data.models, config, event_types)
    project.env.filters["py_name"] = _py_name
    project.env.filters["raw"] = _raw
    project.env.globals.update(
        model_doc=docs.model_doc,
        field_doc=docs.field_doc,
        first_sentence=docs.first_sentence,
        headline=docs.headline,
        enum_owner=docs.enum_owner,
        enum_note=docs.ENUM_NOTE,
        enum_constants=docs.enum_constants,
        documented_enums=docs.documented_enums,
        null_element_fields=docs.null_element_fields,
        reserved_names=docs.RESERVED_NAMES,
        examples=EXAMPLES,
        sync_form=sync_form,
        fail=_fail,
        py_name=_py_name,
        model_named=models_by_name.__getitem__,
        spec_version=version,
        event_types=event_types,
        operation_aliases=_operation_aliases(spec),
        paginated=paginated,
        page_field=page_field,
        retry_classes=classes,
        resendable=lambda endpoint: classes[endpoint.name].resendable,
        merge_notes=notes,
        merge_conflicts=conflicts,
    )
    try:
        errors = project.build()
        extra = {
            out_dir / "resources.py": ("resources.py.jinja", {"side": "async"}),
            out_dir / "sync_resources.py": ("resources.py.jinja", {"side": "sync"}),
            out_dir / "events.py": ("events.py.jinja", {}),
            out_dir / "api.md": ("api.md.jinja", {}),
        }
        for target, (template, context) in extra.items():
            rendered = project.env.get_template(template).render(**context)
            target.write_text(rendered, encoding="utf-8")
    except _TemplateFailure as exc:
        raise GenerationError(f"{source}: template refused the spec: {exc}") from exc
    if errors:
        raise _report(source, errors)
    # Templates render empty for schemas that are not classes (free-form maps) and for the
    # generator's own client, which the handwritten layer replaces.
    for path in sorted(out_dir.rglob("*.py")):
        if not path.read_text().strip():
            path.unlink()
    (out_dir / "spec.json").write_text(
        json.dumps(spec, sort_keys=True, separators=(",", ":")) + "\n"
    )
    (out_dir / "py.typed").write_text("")
    _ruff(out_dir)


def _ruff(out_dir: Path) -> None:
    commands = [
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            *RUFF_OPTIONS,
            "--select",
            "I,F401",
            "--fix-only",
            "--quiet",
            str(out_dir),
        ],
        [sys.executable, "-m", "ruff", "format", *RUFF_OPTIONS, "--quiet", str(out_dir)],
    ]
    for cmd in commands:
        # Run from the project root, as in every checkout, so imports sort the same everywhere.
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise GenerationError(
                f"ruff failed on the generated code:\n{result.stdout}{result.stderr}"
            )


def _files(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def compare_trees(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ between two trees (added, removed or changed)."""
    a, b = _files(expected), _files(actual)
    changed = [f for f in sorted(a & b) if not filecmp.cmp(expected / f, actual / f, shallow=False)]
    return sorted(set(a ^ b) | set(changed))


def _generate_into(scratch: Path, version: str | None) -> tuple[Path, Path]:
    version = version or specs.pinned_version()
    merged, notes, conflicts = build_merged_spec(version)
    out_dir = scratch / "_generated"
    files = ", ".join(str(specs.spec_root() / version / name) for name in (PRIMARY, SECONDARY))
    source = f"spec {version} ({files})"
    render(merged, out_dir, version=version, notes=notes, conflicts=conflicts, source=source)
    api_map = scratch / "api.md"
    shutil.move(out_dir / "api.md", api_map)
    return out_dir, api_map


def generate(
    version: str | None = None,
    *,
    check: bool = False,
    package_dir: Path = PACKAGE_DIR,
    api_map: Path = API_MAP,
) -> list[str]:
    """Regenerate; with ``check``, only compare and return the differing files."""
    with tempfile.TemporaryDirectory(prefix="stream-codegen-") as tmp:
        scratch = Path(tmp)
        out_dir, new_map = _generate_into(scratch, version)
        if check:
            diffs = (
                [f"_generated/{f}" for f in compare_trees(package_dir, out_dir)]
                if package_dir.exists()
                else ["_generated/ (missing)"]
            )
            if not api_map.exists() or not filecmp.cmp(api_map, new_map, shallow=False):
                diffs.append(api_map.name)
            return diffs
        _swap(out_dir, package_dir)
        shutil.copyfile(new_map, api_map)
    return []


def _swap(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` so that no half-written tree is ever in place."""
    staging = target.with_name(target.name + ".new")
    old = target.with_name(target.name + ".old")
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(new, staging)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old)
