# The two commands of the README: `make train` (set up, then the main job) and `make test`
# (set up, then the whole test suite). Both go through the same idempotent set-up.
PYTHON := .venv/bin/python
CONFIG ?= configs/lcnet_fcos.py
ARGS ?=

.PHONY: setup train test
setup:
	@bash tools/setup_env.sh

train: setup
	$(PYTHON) tools/train.py $(CONFIG) $(ARGS)

test: setup
	$(PYTHON) -m pytest $(ARGS)
