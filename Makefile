# Every target installs what it needs into .venv first; `make test` works on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SPEC_VERSION ?=
EXTRAS ?= dev,docs,testing,rich,aiohttp,orjson,redis,sniffio
# `make bench` runs in a virtualenv of its own: the SDK with every optional speedup, plus
# getstream 7.0.0 to compare with (kept out of .venv so the tests never see it).
BENCH_VENV := .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_ARGS ?=
# Stream's official SDK alone, for tests/emulator/test_getstream_sdk.py (run over a socket in `make test`).
GETSTREAM_VENV := .venv-getstream
GETSTREAM_STAMP := $(GETSTREAM_VENV)/.installed

.PHONY: install docs dist need-redis need-chromium test test-pythons test-releases generate check-generated spec spec-diff pin-spec \
	changelog default-release lint typecheck demo bench stress clean

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

$(GETSTREAM_STAMP): tests/support/getstream-requirements.txt
	test -x $(GETSTREAM_VENV)/bin/python || $(PYTHON) -m venv $(GETSTREAM_VENV)
	$(GETSTREAM_VENV)/bin/python -m pip install --quiet -r tests/support/getstream-requirements.txt
	touch $(GETSTREAM_STAMP)

# Not part of `make test` (minutes, not seconds); tests/client/test_bench.py runs it in miniature.
# BENCH_ARGS="--quick" for a fast pass, "--only parse,percall" for some sections.
bench: $(BENCH_STAMP) need-redis
	$(BENCH_PY) -m bench $(BENCH_ARGS)

spec: $(STAMP)
	$(PY) -m codegen spec $(if $(SPEC_VERSION),--version $(SPEC_VERSION))

generate: $(STAMP)
	$(PY) -m codegen generate $(if $(SPEC_VERSION),--version $(SPEC_VERSION))

check-generated: $(STAMP)
	$(PY) -m codegen generate --check

spec-diff: $(STAMP)
	$(PY) -m codegen spec-diff $(FROM) $(TO)

# SOURCE=<folder> and/or COMMIT=<upstream commit>: both = files from the folder, recorded as
# that upstream commit's (for a maintainer with a copy and no access to GitHub).
pin-spec: $(STAMP)
	$(PY) -m codegen pin-spec $(VERSION) $(if $(SOURCE),--source $(SOURCE)) $(if $(COMMIT),--commit $(COMMIT))

# Write CHANGELOG.md's Stream API part for TO (`make generate SPEC_VERSION=...` runs it too).
changelog: $(STAMP)
	$(PY) -m codegen changelog $(FROM) $(TO)

# The release of record: `make test` fails where the emulator falls back for it.
default-release: $(STAMP)
	$(PY) -m codegen default-release $(VERSION)

lint: $(STAMP)
	$(PY) -m ruff check src tests codegen examples bench
	$(PY) -m ruff format --check src tests codegen examples bench

typecheck: $(STAMP)
	$(PY) -m mypy

# The fleet tests start a real Redis server: Debian's redis-server, installed when missing
# (as root, the way CI runs); otherwise the command to run is printed.
need-redis:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "make test and make bench need redis-server (the fleet tests and the fleet bench start a real Redis): sudo apt-get install -y redis-server" >&2; exit 1; \
	  fi; }

# The console's browser tests (tests/console) drive Debian's chromium through Playwright (no
# browser download): installed when missing (as root, the way CI runs); when it cannot be,
# those tests skip and say why.
need-chromium:
	@test -x /usr/bin/chromium || command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	      echo "could not install chromium: the console's browser tests will skip" >&2; \
	  else \
	    echo "no chromium: the console's browser tests will skip (sudo apt-get install -y chromium)" >&2; \
	  fi; }

# The docs site, into build/site; --strict: a broken link, anchor or reference fails it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

# A wheel (and nothing else) in dist/, to install elsewhere: pip install "dist/<wheel>[testing]".
dist: $(STAMP)
	rm -rf dist
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .
	@ls dist/*.whl

# Workers for pytest (pytest-xdist): the suite mostly waits on sockets and timers, so more
# workers than CPUs pay off; TEST_WORKERS=0 runs it in this process. The tests that load
# the machine (the load run, the fleet, the benchmarks: xdist_group "load") run one at a time.
TEST_WORKERS ?= 3
test: $(STAMP) $(GETSTREAM_STAMP) need-redis need-chromium check-generated lint typecheck docs
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

# A representative part of the suite (clients, parsing, emulator, webhooks, logging) on each
# other Python the machine has (pyenv's or python3.X on PATH), each in .venv-pythons/<version>.
# PYTHON_VERSIONS="3.12 3.13" to choose (default 3.11 3.12 3.13); a missing one is skipped,
# PYTHONS_REQUIRED=1 makes that a failure. See .ci/test_pythons.py.
PYTHON_VERSIONS ?=
test-pythons: $(STAMP)
	PYTHON_VERSIONS="$(PYTHON_VERSIONS)" $(PY) .ci/test_pythons.py

# Every release in the lock (RELEASES= to choose) and a constructed one (the default + a new
# operation, a required field, an enum value, a renamed schema), each regenerated in a
# scratch copy and checked there: drift check, mypy, the suite but for the tests marked
# release_independent, which `make test` runs (CONSTRUCTED=0: skip the constructed one).
# JOBS=<n>: releases at a time (default: one per CPU, at most 2), each on 2 pytest workers.
RELEASES ?=
CONSTRUCTED ?= 1
JOBS ?=
test-releases: $(STAMP) $(GETSTREAM_STAMP) need-redis need-chromium
	TEST_WORKERS=2 $(PY) -m codegen test-releases $(RELEASES) $(if $(filter 0,$(CONSTRUCTED)),--no-constructed) \
		$(if $(JOBS),--jobs $(JOBS))

# The long runs: 10,000 checks under injected faults, schemathesis with every phase, a fleet
# of 4 workers checking 1,000 messages.
stress: $(STAMP)
	STRESS=1 $(PY) -m pytest -q -s tests/client/test_stress.py tests/emulator/test_schemathesis.py tests/examples/test_fleet.py

demo: $(STAMP)
	$(PY) examples/getting_started.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(GETSTREAM_VENV) .venv-pythons build dist
