"""The Python versions the project says it supports are the ones it is tested on."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ci_module() -> object:
    spec = importlib.util.spec_from_file_location("test_pythons_ci", ROOT / ".ci/test_pythons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_classifiers_name_the_versions_that_are_tested() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    versions = [
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    supported = list(ci_module().SUPPORTED)  # type: ignore[attr-defined]
    assert versions == supported
    assert project["requires-python"] == f">={supported[0]}"
    # `make test` on the default interpreter, `make test-pythons` on the others in CI
    ci = (ROOT / ".ci/run").read_text()
    (given,) = re.findall(r'make test-pythons PYTHON_VERSIONS="([^"]+)"', ci)
    assert sorted({f"{sys.version_info[0]}.{sys.version_info[1]}", *given.split()}) == supported


def test_the_subset_exists_and_covers_clients_emulator_and_webhooks() -> None:
    subset = ci_module().SUBSET  # type: ignore[attr-defined]
    assert all((ROOT / path).is_file() for path in subset)
    assert any("emulator/" in p for p in subset)
    assert any("webhook" in p for p in subset)
    assert any(p.endswith("test_client.py") for p in subset)
