# Two commands do everything on a fresh machine:  `make run` (main job)  and  `make test`.
PY     ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of torch lies on disk here; installing it first keeps pip from pulling a CUDA build.
TORCH  := torch==2.13.0

$(BIN)/tinycnn: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev,deploy,tensorboard]"
	@touch $@

.PHONY: setup run test lint
setup: $(BIN)/tinycnn

run: setup          ## train the default model on the bundled MNIST
	$(BIN)/tinycnn train

# Users' CPUs differ: native bf16 through AMX, through AVX512-BF16 only, or none (then tinycnn
# trains in fp32). After the whole suite at this machine's defaults, the tests that assert exact
# numbers run again as the other kinds compute them: oneDNN held to their instruction set and
# tinycnn's bf16 detection overridden (TINYCNN_CPU_BF16), so green here means green there.
NO_BF16_CPU    := ONEDNN_MAX_CPU_ISA=AVX2 TINYCNN_CPU_BF16=0
AVX512BF16_CPU := ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 TINYCNN_CPU_BF16=1

test: setup lint    ## lint + the test suite (what CI runs)
	$(BIN)/pytest
	$(NO_BF16_CPU) $(BIN)/pytest -m exact
	$(AVX512BF16_CPU) $(BIN)/pytest -m exact

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
