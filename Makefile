# stackhand: `make demo` runs the platform locally on the emulator; `make test` runs everything.
# Needs only Rust and Python 3 (with venv and pip); every other tool is installed into .venv.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed
# checkov pins an old boto3, so it has its own venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
TEMPLATES := template.yaml $(wildcard stacks/*.yaml) $(wildcard examples/*.yaml)
# SAM CLI, in its own venv: sam validate --lint in `make lint`, sam build in `make sam-build`.
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
export SAM_CLI_TELEMETRY := 0
# cargo-lambda and zig, from PyPI, for the arm64 Lambda bootstraps.
BUILD_VENV := .venv-build
BUILD_STAMP := $(BUILD_VENV)/.installed
# The benchmark peers (crhelper + boto3) and, optionally, Prowler, each in its own venv.
PEERS_VENV := bench/.venv-peers
PEERS_STAMP := $(PEERS_VENV)/.installed
PROWLER_VENV := bench/.venv-prowler
PROWLER_STAMP := $(PROWLER_VENV)/.installed
FUNCTIONS := kms-provider monitoring-provider ecs-provider alarm-router key-rotator key-auditor drift-detector
CARGO ?= cargo
ENV ?= dev
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
# The demo runs the debug binaries (make build-local): a fresh clone builds them in minutes; the
# release ones stay what Lambda runs and what the benchmarks measure.
DEMO := $(VENV)/bin/python tests/demo/demo.py --binaries $(TARGET_DIR)/debug

export STACKHAND_PYTHON := $(CURDIR)/$(VENV)/bin/python


.PHONY: help venv build build-debug build-release build-local fmt-check clippy test test-rust test-emulator test-engine test-demo test-arm64 test-reliability bench bench-smoke lint demo cost local sam-build clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV_STAMP): requirements-dev.txt
	@echo "==> installing pinned test tools into $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV_STAMP) ## Install the pinned emulator and linters into .venv

$(CHECKOV_STAMP): requirements-checkov.txt
	@echo "==> installing pinned checkov into $(CHECKOV_VENV)"
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

# --examples makes cargo resolve dev-dependency features too, so `cargo test` reuses this build
# instead of compiling the SDK crates a second time with test-util on.
build-debug:
	$(CARGO) build --workspace --bins --examples

# One invocation, so every crate is compiled with one feature set (a `-p` build would differ).
build-release: ## Release binaries (panic = unwind), plus the panicking example the tests drive
	$(CARGO) build --release --workspace --bins --examples

$(SAM_STAMP): requirements-sam.txt
	@echo "==> installing pinned SAM CLI into $(SAM_VENV)"
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	@touch $@

$(BUILD_STAMP): requirements-build.txt
	@echo "==> installing pinned cargo-lambda and zig into $(BUILD_VENV)"
	$(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-build.txt
	rustup target add aarch64-unknown-linux-gnu
	@touch $@

# FUNCTION=<name> builds one; the default builds all seven.
build: $(BUILD_STAMP) ## arm64 Lambda bootstraps: target/lambda/<function>/bootstrap (cargo lambda)
	PATH="$(CURDIR)/$(BUILD_VENV)/bin:$$PATH" $(CARGO) lambda build --release --arm64 $(addprefix -p ,$(or $(FUNCTION),$(FUNCTIONS)))
	@for f in $(or $(FUNCTION),$(FUNCTIONS)); do ls -l $(TARGET_DIR)/lambda/$$f/bootstrap | awk -v f=$$f '{printf "  %-22s %6.1f MB\n", f, $$5/1048576}'; done

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-emulator: venv ## Tests of the moto extension itself
	$(VENV)/bin/python -m unittest discover -s tests/emulator -p 'test_*.py'

# The debug binaries the tests build; the release ones stay what Lambda runs and bench measures.
build-local:
	$(CARGO) build --workspace --bins

test-engine: venv build-debug ## template.yaml and stacks/ through the local CloudFormation engine, every environment
	STACKHAND_FUNCTIONS_DIR=$(CURDIR)/$(TARGET_DIR)/debug $(VENV)/bin/python -m unittest discover -s tests/engine -p 'test_*.py'

# The fault matrix runs in test-reliability.
test-rust: venv build-debug build-release ## Unit, property and end-to-end tests
	$(CARGO) test --workspace -- --skip under_every_fault --skip cut_off:: --skip one_service:: --skip update_delete:: --skip cancelled::

test-reliability: venv build-debug ## Every function x every fault, failed-Create rollbacks, 2,048-case property tests, no data loss
	$(CARGO) test -p e2e --test faults
	PROPTEST_CASES=2048 $(CARGO) test --workspace --lib -- any_
	$(VENV)/bin/python -m unittest tests/lint/test_least_privilege.py

lint: venv $(CHECKOV_STAMP) $(SAM_STAMP) ## sam validate --lint, cfn-lint (serverless rules) and checkov on every template; least privilege
	AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml
	$(VENV)/bin/cfn-lint $(TEMPLATES) --append-rules cfn_lint_serverless.rules
	$(CHECKOV_VENV)/bin/checkov $(addprefix -f ,$(TEMPLATES)) --framework cloudformation --skip-download --compact --quiet
	$(VENV)/bin/python -m unittest discover -s tests/lint -p 'test_*.py'

test-demo: venv build-debug ## The demo's journey in dev and prod, checked by its summary
	@for env in dev prod; do \
	  $(DEMO) --env $$env > $(TARGET_DIR)/demo-$$env.log 2>&1 || { cat $(TARGET_DIR)/demo-$$env.log; exit 1; }; \
	  grep -q '^12 steps: 12 passed, 0 failed' $(TARGET_DIR)/demo-$$env.log || { cat $(TARGET_DIR)/demo-$$env.log; exit 1; }; \
	  echo "demo --env $$env: $$(tail -n 1 $(TARGET_DIR)/demo-$$env.log)"; \
	done

$(PEERS_STAMP): bench/requirements-peers.txt
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements-peers.txt
	@touch $@

$(PROWLER_STAMP): bench/requirements-prowler.txt
	@echo "==> installing pinned Prowler into $(PROWLER_VENV) (a few minutes, once)"
	$(PYTHON) -m venv $(PROWLER_VENV)
	$(PROWLER_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements-prowler.txt
	@touch $@

# `build` first: the size figures are of the arm64 bootstraps Lambda runs.
bench: venv build-release build $(PEERS_STAMP) $(PROWLER_STAMP) ## Benchmarks beside their peers; writes bench/RESULTS.md
	$(VENV)/bin/python bench/bench.py

bench-smoke: venv build-release $(PEERS_STAMP) ## make bench at its smallest size (no Prowler), to prove it still runs
	$(VENV)/bin/python bench/bench.py --runs 3 --sizes 20 --audit-runs 1 --drift-sizes 20 --org 2x2x10 --org-workers 2 --no-prowler --no-router --out $(TARGET_DIR)/bench-smoke.md

# What README's Deploying section runs: SAM CLI builds each function through the project's own
# cargo-lambda (arm64, release). About as long as `make build`; kept out of `make test`.
sam-build: $(SAM_STAMP) $(BUILD_STAMP) ## sam build, as README's Deploying section runs it (cargo-lambda from .venv-build)
	PATH="$(CURDIR)/$(BUILD_VENV)/bin:$(CURDIR)/$(SAM_VENV)/bin:$$PATH" sam build

# One function is enough to prove the cross build; all six would add about 15 minutes to CI.
test-arm64: ## The arm64 Lambda build of key-rotator succeeds and is an aarch64 ELF
	$(MAKE) build FUNCTION=key-rotator
	$(PYTHON) -c "import sys; h = open('$(TARGET_DIR)/lambda/key-rotator/bootstrap', 'rb').read(20); sys.exit(0 if h[:4] == b'\x7fELF' and int.from_bytes(h[18:20], 'little') == 183 else 'not an aarch64 ELF')"

test: fmt-check clippy test-emulator lint test-rust test-engine test-reliability test-demo bench-smoke test-arm64 ## Everything CI runs
	@echo "make test: all checks passed"

demo: venv build-local ## The user's journey: template.yaml and the seed stacks through the local CloudFormation engine (ENV=dev|qa|uat|prod)
	$(DEMO) --env $(ENV)

cost: venv build-local ## The platform's fixed monthly cost per environment, layer by layer, beside the seed's figures
	$(VENV)/bin/python tests/demo/cost.py --binaries $(TARGET_DIR)/debug

PORT ?= 4566
local: venv build-local ## The platform on this machine until Ctrl-C: emulator + engine + template.yaml (PORT=4566 ENV=dev)
	$(VENV)/bin/python tests/emulator/local.py --port $(PORT) --env $(ENV) --binaries $(TARGET_DIR)/debug

clean:
	$(CARGO) clean
	rm -rf $(VENV) $(CHECKOV_VENV) $(SAM_VENV) $(BUILD_VENV) $(PEERS_VENV) $(PROWLER_VENV)
