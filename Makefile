# Every routine task. `make test` and `make run` set everything up first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# The interpreter the project's environments are made with (found once, on first use):
# 3.13, the Lambda runtime's, where the machine has it or can get it, else the newest 3.11+
# (the local cloud then builds and runs on that version). Or say which: PYTHON=/path/to/python3.x
ifeq ($(origin PYTHON),undefined)
PYTHON = $(eval PYTHON := $$(shell infra/find-python.sh))$(PYTHON)
endif
# Where the environments go; a second set beside the first, e.g. for another Python:
# make install PYTHON=python3.11 VENV=.tools/py3.11/venv TOOLS=.tools/py3.11
VENV := .venv
TOOLS := .tools
BIN := $(CURDIR)/$(VENV)/bin
UV := $(BIN)/uv
SAM_VENV := $(TOOLS)/sam
SAM := $(CURDIR)/$(SAM_VENV)/bin/sam
EMULATOR_VENV := $(TOOLS)/ministack
CHECKOV_VENV := $(TOOLS)/checkov
API_PORT ?= 3000
AWS_PORT ?= 4566
# sam build looks for an interpreter of the runtime's version on PATH: the project's.
export PATH := $(BIN):$(PATH)
export TANDEM_TOOLS_DIR := $(CURDIR)/$(TOOLS)
export AWS_DEFAULT_REGION ?= eu-west-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help install install-checkov install-local run redeploy lint lint-template format test fuzz test-fast test-template build validate deploy bench chaos lock clean web browser

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'
	@echo "  PYTHON=/path/to/python3.x  the interpreter of the environments (default: infra/find-python.sh)"

.PHONY: python
# Said first by make run / make test: the Python in use and the Lambda runtime the local
# cloud builds for. No Python 3.11+ on the machine: stop here, saying what to install.
python:
	@$(if $(wildcard $(BIN)/python),infra/find-python.sh --describe $(BIN)/python,\
	p="$(PYTHON)"; [ -n "$$p" ] && infra/find-python.sh --describe "$$p" $(if $(filter-out file,$(origin PYTHON)),chosen))

$(VENV)/.installed: requirements/dev.lock pyproject.toml
	@echo "==> project environment ($(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(UV) pip install -q --python $(BIN)/python -r requirements/dev.lock
	$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.lock $(VENV)/.installed
	@echo "==> AWS SAM CLI environment"
	$(UV) venv -q --allow-existing --python $(BIN)/python $(SAM_VENV)
	$(UV) pip install -q --python $(SAM_VENV)/bin/python -r requirements/sam.lock
	@touch $@

$(EMULATOR_VENV)/.installed: requirements/ministack.lock $(VENV)/.installed
	@echo "==> MiniStack environment (the local AWS emulator runs the handlers on this Python)"
	$(UV) venv -q --allow-existing --python $(BIN)/python $(EMULATOR_VENV)
	$(UV) pip install -q --python $(EMULATOR_VENV)/bin/python -r requirements/ministack.lock
	@touch $@

# checkov pins an old boto3: it gets its own environment.
$(CHECKOV_VENV)/.installed: requirements/checkov.lock $(VENV)/.installed
	@echo "==> checkov environment (template policy checks)"
	$(UV) venv -q --allow-existing --python $(BIN)/python $(CHECKOV_VENV)
	$(UV) pip install -q --python $(CHECKOV_VENV)/bin/python -r requirements/checkov.lock
	@touch $@

install-checkov: $(CHECKOV_VENV)/.installed ## the checkov environment alone (make lint installs it)

install: python $(VENV)/.installed $(SAM_VENV)/.installed $(EMULATOR_VENV)/.installed $(CHECKOV_VENV)/.installed ## create the environments from the lock files

# The dashboard page's chart library: Chart.js from npm (pinned in web/package-lock.json), copied
# into the files ApiFunction serves (gitignored), so `sam build` packages it and no page loads a CDN.
CHART_JS := functions/tandem/web/assets/chart.umd.min.js
$(CHART_JS): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "make web: npm not found; install Node.js and npm \
	(Debian: apt-get install nodejs npm), then run make again" >&2; exit 1; }
	@echo "==> the dashboard page's chart library (npm ci in web/)"
	npm ci --prefix web --no-audit --no-fund --ignore-scripts --loglevel=error
	cp web/node_modules/chart.js/dist/chart.umd.min.js $@

web: $(CHART_JS) ## the dashboard page's assets: npm ci in web/, Chart.js copied where the API serves it

# Debian's chromium for the page's browser tests (they skip, loudly, where it cannot be installed).
browser: ## Debian's chromium for the page's browser tests (infra/install-browser.sh)
	@infra/install-browser.sh

run: install web ## the local cloud: emulator on :4566, API on :3000, demo data, logs (Ctrl-C stops; FRESH=1 forgets state)
	$(BIN)/tandem --api-port $(API_PORT) --aws-port $(AWS_PORT) up $(if $(FRESH),--fresh)

redeploy: install web ## rebuild and redeploy onto the running local cloud (after a code change)
	$(BIN)/tandem --api-port $(API_PORT) --aws-port $(AWS_PORT) deploy

lint: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed ## ruff, mypy, cfn-lint (+ serverless rules) and checkov on template.yaml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@$(MAKE) lint-template

# Every finding is fixed or suppressed in template.yaml with a one-line reason (Metadata).
# The two run side by side (each is mostly its own start-up: ≈ 8 s and ≈ 15 s of CPU).
lint-template: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(SAM_VENV)/bin/cfn-lint template.yaml -a cfn_lint_serverless.rules & cfn_lint=$$!; \
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --skip-download --quiet --compact; \
	wait $$cfn_lint

format: $(VENV)/.installed ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Three runs side by side, their coverage combined. The local cloud's tests run in two lanes, each
# a pytest session with its own emulator and sam folder (TANDEM_E2E_LANE; `--cached` builds clean
# each other's dependency folders, so two lanes cannot share one): they mostly wait on the emulator,
# so two lanes halve the wait. Lane b takes the files of E2E_LANE_B, lane a the other e2e files
# (a new one too) and the template's tests. The rest spread over TEST_WORKERS processes
# (pytest-xdist), a test file per worker (`--dist loadfile`: a module's costly fixture, such as a
# lake curated from the shared data, is built once, not once per worker), at a lower priority
# (nice): they keep every core busy, and the local cloud's tests time what its API and workers
# answer (a burst of cold workers, a poison message parked before a retry). Without it, in CI,
# cold workers took 35 s to start and a burst on them got 502s and 503s.
TEST_WORKERS ?= 2
REST_NICE ?= 10
E2E_LANE_B := $(addprefix tests/e2e/,test_fuzz.py test_lifecycle.py test_failures.py test_dlq.py \
  test_nightly.py test_burst.py test_checkout.py test_secrets_in_logs.py)
E2E_LANE_A := $(filter-out $(E2E_LANE_B),$(wildcard tests/e2e/test_*.py))
PYTEST_DURATIONS := --durations=12
# Compiled bytecode kept for the test run, in one folder outside the sources and the builds:
# a test run starts several hundred Python processes (the emulator's Lambda workers, sam, the
# benchmarks' children), and where PYTHONDONTWRITEBYTECODE is set, as in many CI images, each
# compiled every module it imported again. `make bench` keeps the machine's setting: its cold
# starts are Lambda's, which compiles what a package does not ship compiled. The bytecode of the
# tests' temporary folders (a new one each run: the local cloud's builds) is dropped first.
test: export PYTHONPYCACHEPREFIX := $(CURDIR)/.cache/pyc
test: export PYTHONDONTWRITEBYTECODE :=
test: install lint web browser ## everything: lint, unit, integration, template, end-to-end on the local cloud
	@rm -rf .coverage .coverage.* .test-lane-*.log ".cache/pyc$${TMPDIR:-/tmp}"
	@echo "==> the local cloud's tests (two lanes) and the template's run beside the others; their output follows"
	TANDEM_E2E_LANE=a COVERAGE_FILE=.coverage.lane-a $(BIN)/pytest $(PYTEST_DURATIONS) --cov --cov-report= \
	  --cov-fail-under=0 $(E2E_LANE_A) tests/template > .test-lane-a.log 2>&1 & lane_a=$$!; \
	TANDEM_E2E_LANE=b COVERAGE_FILE=.coverage.lane-b $(BIN)/pytest $(PYTEST_DURATIONS) --cov --cov-report= \
	  --cov-fail-under=0 $(E2E_LANE_B) > .test-lane-b.log 2>&1 & lane_b=$$!; \
	rest=0; COVERAGE_FILE=.coverage.rest nice -n $(REST_NICE) $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_DURATIONS) \
	  --cov --cov-report= --cov-fail-under=0 tests/unit tests/integration tests/bench || rest=$$?; \
	a_rc=0; wait $$lane_a || a_rc=$$?; b_rc=0; wait $$lane_b || b_rc=$$?; \
	echo "==> lane a: e2e and tests/template:"; cat .test-lane-a.log; \
	echo "==> lane b: e2e:"; cat .test-lane-b.log; \
	[ $$rest -eq 0 ] && [ $$a_rc -eq 0 ] && [ $$b_rc -eq 0 ]
	$(BIN)/coverage combine -q .coverage.lane-a .coverage.lane-b .coverage.rest
	$(BIN)/coverage report

fuzz: install web ## the API fuzzed deeper than make test does (100 examples an operation, invalid requests too)
	TANDEM_FUZZ_FULL=1 $(BIN)/pytest tests/e2e/test_fuzz.py

test-fast: $(VENV)/.installed web ## unit and integration tests only
	$(BIN)/pytest tests/unit tests/integration

build: $(SAM_VENV)/.installed web ## sam build for AWS (ARCH=x86_64 RUNTIME=python3.12 to build for this machine)
	@[ -n "$(RUNTIME)" ] || python3.13 -c '' 2>/dev/null || { echo "make build: the AWS build \
	(runtime python3.13) needs Python 3.13 on PATH; the project runs $$($(BIN)/python -V). Install 3.13 \
	(see README), or build for this machine: make build ARCH=x86_64 RUNTIME=python3.X" >&2; exit 1; }
	$(SAM) build --parallel --cached $(if $(ARCH)$(RUNTIME),--parameter-overrides \
	  $(if $(ARCH),Architecture=$(ARCH)) $(if $(RUNTIME),PythonRuntime=$(RUNTIME)))

validate: $(SAM_VENV)/.installed ## sam validate --lint and cfn-lint with the serverless rules
	$(SAM) validate --lint
	$(SAM_VENV)/bin/cfn-lint template.yaml -a cfn_lint_serverless.rules

deploy: build ## deploy to your AWS account (asks for the settings the first time)
	$(SAM) deploy --guided

bench: install web ## every benchmark (standard size) into bench/results.json + results.md, compared with the last run; BENCH_SIZE=smoke|full
	$(BIN)/python -m bench --size $(or $(BENCH_SIZE),standard)

chaos: install ## faults at every boundary at full size (1,005 jobs, 500 checkouts, 21 killed nights); prints the figures
	@rm -f .chaos-figures.txt
	@rc=0; TANDEM_CHAOS=full TANDEM_CHAOS_FIGURES=.chaos-figures.txt $(BIN)/pytest -q -n $(TEST_WORKERS) \
	  tests/integration/test_chaos_jobs.py tests/integration/test_chaos_stock.py \
	  tests/integration/test_chaos_nightly.py || rc=$$?; cat .chaos-figures.txt; exit $$rc

lock: $(VENV)/.installed ## re-resolve requirements/*.lock after changing pyproject.toml
	$(UV) pip compile -q pyproject.toml --extra dev --universal --python-version 3.11 -o requirements/dev.lock
	$(UV) pip compile -q requirements/sam.in --universal --python-version 3.11 -o requirements/sam.lock
	$(UV) pip compile -q requirements/ministack.in --universal --python-version 3.11 -o requirements/ministack.lock
	$(UV) pip compile -q requirements/checkov.in --universal --python-version 3.11 -o requirements/checkov.lock

clean: ## remove environments and build output
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache
