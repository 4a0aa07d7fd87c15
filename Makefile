# The two commands of the README: `make train` (set up, then the main job) and `make test`
# (set up, lint, then the whole test suite, the 25 slowest tests listed at the end). All go through the same
# idempotent set-up.
PYTHON := .venv/bin/python
RUFF := .venv/bin/ruff
CONFIG ?= configs/lcnet_fcos.py
ARGS ?=

.PHONY: setup train test lint format
setup:
	@bash tools/setup_env.sh

train: setup
	$(PYTHON) tools/train.py $(CONFIG) $(ARGS)

# Test files run in parallel worker processes (pytest-xdist), one file per worker at a time (--dist
# loadfile: the tests of a file share fixtures and ports). Much of the suite is process start-up, export
# tracing and data loading, which two workers overlap: 507 s instead of 674 s on 2 cores.
TEST_WORKERS ?= 2
# Each worker's torch gets its share of the cores: two workers of two threads each on two cores fight over
# them (a third of the suite ran 15 % slower that way).
TEST_THREADS ?= $(shell n=$$(( $$(nproc) / $(TEST_WORKERS) )); echo $$(( n > 0 ? n : 1 )))

test: lint
	OMP_NUM_THREADS=$(TEST_THREADS) $(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 $(ARGS)

lint: setup
	$(RUFF) check .
	$(RUFF) format --check .

format: setup
	$(RUFF) check --fix .
	$(RUFF) format .
