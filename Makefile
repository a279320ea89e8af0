# Two commands do everything on a fresh machine:  `make run` (main job)  and  `make test`.
PY     ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of torch lies on disk here; installing it first keeps pip from pulling a CUDA build.
TORCH  := torch==2.13.0

$(BIN)/tinycnn: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev]"
	@touch $@

.PHONY: setup run test lint
setup: $(BIN)/tinycnn

run: setup          ## train the default model on the bundled MNIST
	$(BIN)/tinycnn train

test: setup lint    ## lint + the test suite (what CI runs)
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
