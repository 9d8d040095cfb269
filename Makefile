# eClinic: `make run` runs the whole system locally, `make test` installs what the tests need
# and runs them (ruff, mypy, pytest). Both work on a fresh machine with Python 3.11+.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench package synth clean browsers-and-turn node

$(STAMP): requirements.txt requirements-dev.txt media_worker/requirements.txt infra/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "eClinic needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Debian packages, installed when the command they provide is missing: `$(call apt_install,command,package)`.
define apt_install
	@command -v $(1) >/dev/null 2>&1 || { \
	  echo "Installing Debian's $(2)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(2) >/dev/null; }
endef

# Browser tests drive Debian's Chromium and Firefox ESR (Playwright's own browser downloads
# cannot work here); the TURN tests start Debian's coturn.
browsers-and-turn:
	$(call apt_install,chromium,chromium)
	$(call apt_install,firefox-esr,firefox-esr)
	$(call apt_install,turnserver,coturn)

# The CDK libraries run on Node.js (jsii); the infra tests and `make synth` need it.
node:
	$(call apt_install,node,nodejs)

run: $(STAMP)
	$(BIN)/python -m local

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) browsers-and-turn node
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@# pytest exits 5 when it collected no tests: never right for this project's own suite.
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: treating that as a failure" >&2; exit 1; fi; \
	exit $$status

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# CloudFormation templates in infra/cdk.out/, with no AWS credentials and no network to AWS.
synth: $(STAMP) node
	cd infra && JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} ../$(BIN)/python main.py
	@echo "Templates written to infra/cdk.out/"

package: $(STAMP)
	$(BIN)/chalice package --stage dev build/package

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .chalice/deployments
