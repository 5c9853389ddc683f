# costtrend_nb developer commands. Each target creates .venv when missing and installs what it
# needs, pinned by constraints.txt so that a new upstream release cannot change results.
#
#   make demo         render the demo reports (no credentials, no network)
#   make test         every test, notebooks included (make test-slow: the long runs)
#   make test-floors  the tests on the lowest version in each dependency's range (.venv-floors)
#   make bench        the benchmarks, each against its baseline (benchmarks/RESULTS.md)
#   make mutation     mutation testing of the core (docs/mutation.md; make mutation-smoke: a few mutants)
#   make lint         ruff and mypy
#   make lab          open the notebooks in JupyterLab (installed into .venv, pinned)
#   make notebook-outputs  re-run the notebooks on the demo, storing the outputs nbval compares
#   make constraints  re-pin constraints.txt from a fresh, unconstrained install

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
DEMO_DIR ?= reports/demo

# never let anything here probe a cloud metadata address
export ALIBABA_CLOUD_ECS_METADATA_DISABLED := true

.PHONY: demo test test-slow test-floors bench lint lab notebook-outputs constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e .
	@touch $@

$(VENV)/.test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e ".[test]"
	@touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/costtrend-nb report --demo -o $(DEMO_DIR)
	@echo "demo report: $(abspath $(DEMO_DIR))/index.html"

# focus-validator 1.0.0 needs pandas<3 and numpy<2: its own environment, run by the tests
$(VENV)/focus-validator/.installed: tests/focus-validator.txt | $(BIN)/python
	$(BIN)/python -m venv $(VENV)/focus-validator
	$(VENV)/focus-validator/bin/python -m pip --disable-pip-version-check --quiet install -r tests/focus-validator.txt
	@touch $@

test: $(VENV)/.test $(VENV)/focus-validator/.installed  # the browser set runs when Debian's chromium is installed
	@$(BIN)/python tests/browser/chromium.py
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pytest

test-slow: $(VENV)/.test  # the long runs: full-size backtests and fuzzing
	$(BIN)/python -m pytest -m slow

# A fresh .venv-floors holding the lowest version each range in pyproject.toml admits (uv's
# lowest-direct: the dependencies' own dependencies newest), as pip or Binder may install them.
# Stored notebook outputs are the pins' (nbval is off): the notebooks must run without an error
# instead. tests/floors/left-out.txt names the tests left out (figures to the cent) and why.
FLOORS := .venv-floors
test-floors:
	rm -rf $(FLOORS)
	$(PYTHON) -m venv $(FLOORS)
	$(FLOORS)/bin/python -m pip --disable-pip-version-check --quiet install uv
	$(FLOORS)/bin/uv pip install --python $(FLOORS)/bin/python --resolution lowest-direct -e ".[test,aliyun,lab,parquet]"
	$(FLOORS)/bin/python -m pytest -p no:nbval -o addopts="-ra --strict-markers --doctest-modules" \
		-m "not slow and not browser" --durations=10 $(addprefix --deselect=,$(shell grep -v '^#' tests/floors/left-out.txt))
	$(FLOORS)/bin/python tests/floors/run_notebooks.py

bench: $(VENV)/.test  # the full benchmarks (benchmarks/README.md)
	$(BIN)/python benchmarks/run.py

# mutmut in a venv of its own (.venv-mutation); tools/mutation.py runs each target of
# tests/mutation_targets.toml in a snapshot under build/mutation/, never in the checkout
MUTATION := .venv-mutation
.PHONY: mutation mutation-smoke
$(MUTATION)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(MUTATION)
	$(MUTATION)/bin/python -m pip --disable-pip-version-check --quiet install -c constraints.txt -e ".[test]" mutmut==3.8.1
	@touch $@

mutation: $(MUTATION)/.installed  # every target (docs/mutation.md); fails under 85 % killed
	$(MUTATION)/bin/python tools/mutation.py

mutation-smoke: $(MUTATION)/.installed  # 24 mutants, under a minute of wall time (for CI)
	$(MUTATION)/bin/python tools/mutation.py --smoke

$(VENV)/.lab: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e ".[lab]"
	@touch $@ $(VENV)/.runtime

lab: $(VENV)/.lab  # JupyterLab on notebooks/ (Ctrl-C stops it)
	# one BLAS thread per kernel: a forecast's tiny fits run 5x slower with OpenBLAS's spinning threads
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/jupyter lab notebooks

notebook-outputs: $(VENV)/.test  # re-run the notebooks on the demo and store their outputs
	$(BIN)/python -m costtrend_nb.report notebooks/*.ipynb

lint: $(VENV)/.test
	$(BIN)/ruff check costtrend_nb tests benchmarks tools
	$(BIN)/ruff format --check costtrend_nb tests benchmarks tools
	$(BIN)/mypy

constraints:
	rm -rf .venv-pin
	$(PYTHON) -m venv .venv-pin
	.venv-pin/bin/python -m pip --disable-pip-version-check --quiet install -e ".[test,aliyun,lab]"
	.venv-pin/bin/python -m pip freeze --exclude-editable | grep -v '^costtrend' > constraints.txt
	rm -rf .venv-pin

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
