# chainrule: everything needs only python3 and make.
#   make run    installs into .venv (with matplotlib for the report figures) and runs the main job
#   make test   installs .[dev] and runs ruff, ruff format --check, mypy and pytest
#   make bench  installs .[bench] (+ torch 2.13.0 CPU) and runs benchmarks/
#   make bench-avx2  the same with the kernels of an AVX2 CPU without AVX-512
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Installs are keyed on the hash of pyproject.toml and of the C extensions' sources (the install
# compiles src/chainrule/*.c and src/chainrule/*/*.c), so they are skipped when none changed.
C_SRC  := $(sort $(wildcard src/chainrule/*.c src/chainrule/*/*.c))
HASH   := $(shell $(PYTHON) -c "import hashlib,sys;print(hashlib.sha256(b''.join(open(f,'rb').read() for f in sys.argv[1:])).hexdigest()[:16])" pyproject.toml $(C_SRC))
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: run test lint bench bench-avx2 install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-$(HASH): | $(BIN)/python
	$(PIP) -e '.[plot]'
	@touch $@

$(VENV)/.dev-$(HASH): | $(BIN)/python
	$(PIP) -e '.[dev]'
	@touch $@ $(VENV)/.run-$(HASH)

$(VENV)/.bench-$(HASH): | $(BIN)/python
	$(PIP) -e '.[bench]'
	$(PIP) torch==2.13.0 || echo "note: torch 2.13.0 could not be installed; its anchors will be skipped"
	@touch $@

install: $(VENV)/.run-$(HASH)

run: $(VENV)/.run-$(HASH)
	$(BIN)/chainrule

lint: $(VENV)/.dev-$(HASH)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

bench: $(VENV)/.dev-$(HASH) $(VENV)/.bench-$(HASH)
	$(BIN)/python benchmarks/run.py

# The same, with the kernels an AVX2 CPU without AVX-512 would run (benchmarks/_machine.py).
bench-avx2: $(VENV)/.dev-$(HASH) $(VENV)/.bench-$(HASH)
	$(BIN)/python benchmarks/run.py --avx2

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
