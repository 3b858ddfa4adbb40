# Jamoum Orphan Care portal. `make run` and `make test` work on a fresh machine.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CHROMIUM ?= /usr/bin/chromium
export NO_MKDOCS_2_WARNING := 1

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) ## Create the virtual environment and install the Python packages

chromium: ## Install Chromium from Debian's packages when it is missing (tests use it)
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y --no-install-recommends chromium \
	  || { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; }; \
	fi

java: ## Install Java from Debian's packages when it is missing (the HTML checker uses it)
	@if ! command -v java >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y --no-install-recommends default-jre-headless \
	  || { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends default-jre-headless; }; \
	fi

libreoffice: ## Install LibreOffice Calc (headless) when it is missing (export tests open files in it)
	@if ! command -v soffice >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y --no-install-recommends libreoffice-calc-nogui \
	  || { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends libreoffice-calc-nogui; }; \
	fi

site: $(STAMP) ## Build the static site into site/ (MkDocs, Pagefind, compression)
	$(BIN)/portal build

run: site ## Build everything and serve it at http://127.0.0.1:$${PORT:-8000}
	$(BIN)/portal serve

test: site $(NODE_STAMP) chromium java libreoffice ## Run the whole test suite (installs what it needs)
	$(BIN)/pytest -n 2 --dist loadfile

translations: $(STAMP) ## Re-extract the strings and update the Arabic catalog
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o forms_service/translations/messages.pot \
	  --sort-output --omit-header --no-location .
	$(BIN)/pybabel update -i forms_service/translations/messages.pot -d forms_service/translations \
	  --no-fuzzy-matching --ignore-obsolete

lint: $(STAMP) ## ruff (lint and format check), bandit and mypy (the files in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r forms_service hooks
	$(BIN)/mypy

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: site chromium ## Run the benchmarks (see bench/README.md)
	$(MAKE) -C bench all

clean: ## Remove built and runtime files (keeps var/)
	rm -rf site .pytest_cache test-artifacts

.PHONY: help install chromium java libreoffice site run test translations lint format bench clean
