# Waymark: build, set up, run and test.
#
#   make run    set up everything (system packages, both venvs, spaCy pipeline, Rasa model,
#               database, demo data) and start the whole assistant; Ctrl-C stops it.
#   make test   set up what the tests need and run every check; stops at the first failure.
#
# Every step is idempotent and cheap when nothing changed: the venvs carry stamps keyed on their
# lock files, and trained models are cached in ~/.cache/waymark/models keyed on their inputs.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# The steps build on each other (the model needs .venv-rasa, the database needs .venv), so
# `make -j` must not run them side by side.
.NOTPARALLEL:
MAKEFLAGS += --no-print-directory

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
# Rasa 3.6 needs Python <3.11; the application uses 3.11.
PYTHON_RASA := 3.10
PYTHON_APP := 3.11

# in_root CMD: show CMD as typed at the repository root, then run it there (so `make -C` and
# `make -f path/Makefile` work from anywhere). CMD must not contain commas.
define in_root
	@printf '+ %s\n' '$(1)'; cd "$(ROOT)" && $(1)
endef

.PHONY: help setup system venvs venv-rasa venv-app model db run test lint bench eval lock \
	clean distclean

help: ## Show this help
	@echo "Waymark make targets:"
	@grep -E '^[a-z-]+:.*## ' $(lastword $(MAKEFILE_LIST)) | \
		awk -F ':.*## ' '{ printf "  make %-10s %s\n", $$1, $$2 }'

setup: system venvs ## Install missing system packages (apt) and build both venvs

system: ## Install missing Debian packages (chromium for the browser tests)
	@bash "$(ROOT)/scripts/ensure-system.sh"

venvs: venv-rasa venv-app

venv-rasa:
	@bash "$(ROOT)/scripts/ensure-venv.sh" .venv-rasa $(PYTHON_RASA) requirements/rasa.lock

venv-app:
	@bash "$(ROOT)/scripts/ensure-venv.sh" .venv $(PYTHON_APP) requirements/app.lock --editable

model: venv-rasa ## Build the spaCy pipeline and train the Rasa model (only when inputs changed)
	@bash "$(ROOT)/scripts/model.sh"

db: venv-app ## Write .env if missing, migrate the database, load demo data
	@printf '\n==> Database: .env with generated keys (if missing), migrations, demo data\n'
	$(call in_root,.venv/bin/waymark init-env)
	$(call in_root,.venv/bin/waymark db upgrade)
	$(call in_root,.venv/bin/waymark seed)

run: setup model db ## Set up everything and start Rasa, the action server and the API
	@printf '\n==> Starting Waymark (Ctrl-C stops everything)\n'
	$(call in_root,exec .venv/bin/waymark run)

test: setup model ## Set up, then lint, type-check, validate and test the bot, run pytest
	@bash "$(ROOT)/scripts/test.sh"

lint: venv-app ## ruff check, ruff format --check, mypy
	$(call in_root,.venv/bin/ruff check .)
	$(call in_root,.venv/bin/ruff format --check .)
	$(call in_root,.venv/bin/mypy)

bench: setup model ## Run the benchmarks
	$(call in_root,WAYMARK_RASA_MODEL=models/waymark.tar.gz .venv/bin/python -m bench)

eval: setup model ## Evaluate the disclosure screen, then the whole assistant
	$(call in_root,WAYMARK_RASA_MODEL=models/waymark.tar.gz .venv/bin/python -m eval.screen_eval)
	$(call in_root,WAYMARK_RASA_MODEL=models/waymark.tar.gz .venv/bin/python -m eval.assistant_eval)

lock: ## Regenerate requirements/*.lock from requirements/*.in in throwaway venvs
	@bash "$(ROOT)/scripts/lock.sh" rasa $(PYTHON_RASA)
	@bash "$(ROOT)/scripts/lock.sh" app $(PYTHON_APP)

clean: ## Remove generated files (var/, models/, caches); keeps the venvs and .env
	$(call in_root,rm -rf var models .rasa results .pytest_cache .mypy_cache .ruff_cache *.egg-info)
	@cd "$(ROOT)" && find . \( -path ./.venv -o -path ./.venv-rasa \) -prune -o \
		-type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean ## Also remove both venvs (trained models stay cached in ~/.cache/waymark)
	$(call in_root,rm -rf .venv .venv-rasa)
