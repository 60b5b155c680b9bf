# Every target installs what it needs into .venv first; `make test` works on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SPEC_VERSION ?=
EXTRAS ?= dev,testing,rich,aiohttp,orjson,redis
# `make bench` runs in a virtualenv of its own: the SDK with every optional speedup, plus
# getstream 7.0.0 to compare with (kept out of .venv so the tests never see it).
BENCH_VENV := .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_ARGS ?=

.PHONY: install need-redis test generate check-generated spec spec-diff pin-spec lint typecheck demo bench stress clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

$(BENCH_STAMP): pyproject.toml constraints.txt bench/requirements.txt
	test -x $(BENCH_PY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet --upgrade pip
	$(BENCH_PY) -m pip install --quiet -c constraints.txt -e ".[testing,aiohttp,orjson,redis,bench]" -r bench/requirements.txt
	touch $(BENCH_STAMP)

# Not part of `make test` (minutes, not seconds); tests/test_bench.py runs it in miniature.
# BENCH_ARGS="--quick" for a fast pass, "--only parse,percall" for some sections.
bench: $(BENCH_STAMP)
	$(BENCH_PY) -m bench $(BENCH_ARGS)

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
	$(PY) -m ruff check src tests codegen examples bench
	$(PY) -m ruff format --check src tests codegen examples bench

typecheck: $(STAMP)
	$(PY) -m mypy

# The fleet tests start a real Redis server; they fail, never skip, without one.
# The fleet tests start a real Redis server: Debian's redis-server, installed when missing
# (as root, the way CI runs); otherwise the command to run is printed.
need-redis:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "make test needs redis-server (the fleet tests start a real Redis): sudo apt-get install -y redis-server" >&2; exit 1; \
	  fi; }

test: $(STAMP) need-redis check-generated lint typecheck
	$(PY) -m pytest -q

# The long runs: 10,000 checks under injected faults, schemathesis with every phase, a fleet
# of 4 workers checking 1,000 messages.
stress: $(STAMP)
	STRESS=1 $(PY) -m pytest -q -s tests/test_stress.py tests/test_schemathesis.py tests/test_fleet.py

demo: $(STAMP)
	$(PY) examples/getting_started.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) build
