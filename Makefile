# The two commands of the README: `make train` (set up, then the main job) and `make test`
# (set up, lint, then the whole test suite). All go through the same idempotent set-up.
PYTHON := .venv/bin/python
RUFF := .venv/bin/ruff
CONFIG ?= configs/lcnet_fcos.py
ARGS ?=

.PHONY: setup train test lint format
setup:
	@bash tools/setup_env.sh

train: setup
	$(PYTHON) tools/train.py $(CONFIG) $(ARGS)

test: lint
	$(PYTHON) -m pytest $(ARGS)

lint: setup
	$(RUFF) check .
	$(RUFF) format --check .

format: setup
	$(RUFF) check --fix .
	$(RUFF) format .
