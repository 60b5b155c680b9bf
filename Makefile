# Every target installs what it needs into .venv first; `make test` works on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SPEC_VERSION ?=
EXTRAS ?= dev,testing,rich

.PHONY: install test generate check-generated spec spec-diff pin-spec lint typecheck demo bench stress clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

spec: $(STAMP)
	$(PY) -m codegen spec $(if $(SPEC_VERSION),--version $(SPEC_VERSION))

generate: $(STAMP)
	$(PY) -m codegen generate $(if $(SPEC_VERSION),--version $(SPEC_VERSION))

check-generated: $(STAMP)
	$(PY) -m codegen generate --check

spec-diff: $(STAMP)
	$(PY) -m codegen spec-diff $(FROM) $(TO)

pin-spec: $(STAMP)
	$(PY) -m codegen pin-spec $(VERSION) $(if $(SOURCE),--source $(SOURCE)) $(if $(COMMIT),--commit $(COMMIT))

lint: $(STAMP)
	$(PY) -m ruff check src tests codegen examples
	$(PY) -m ruff format --check src tests codegen examples

typecheck: $(STAMP)
	$(PY) -m mypy

test: $(STAMP) check-generated lint typecheck
	$(PY) -m pytest -q

# The long runs: 10,000 checks under injected faults, schemathesis with every phase.
stress: $(STAMP)
	STRESS=1 $(PY) -m pytest -q -s tests/test_stress.py tests/test_schemathesis.py

demo: $(STAMP)
	$(PY) examples/getting_started.py

clean:
	rm -rf $(VENV) build
