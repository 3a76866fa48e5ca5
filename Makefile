# ultimate_nb: `make live` runs the trading loop, `make test` runs every check.
# Both create .venv and install the project on first use; later runs reuse it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LIVE_STAMP := $(VENV)/.installed-live
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: live test test-portable install export lab

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	@# torch first, pinned, so the CPU build on disk is used and no CUDA wheels are pulled
	$(PIP) install torch==2.13.0

# everything: the loop, pipelines, apps, notebook tooling and the references the tests use
$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[dev]"
	@touch $(STAMP) $(LIVE_STAMP)

# what `make live` needs: the loop with models, Dask and the PostgreSQL driver
$(LIVE_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[live]"
	@touch $(LIVE_STAMP)

install: $(STAMP)

live: $(LIVE_STAMP)
	$(BIN)/python -m ultimate_nb.live $(ARGS)

test: $(STAMP)
	$(BIN)/python .ci/check_notebooks.py
	$(BIN)/nbdev-test --n-workers 2 --timing
	$(BIN)/python -m pytest -q tests

# JupyterLab on the project's environment (its python3 kernel is .venv's): edit nbs/, run pipelines/ and apps/
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. $(ARGS)

# the numeric notebooks on a baseline x86-64 CPU: torch without its AVX2/AVX-512 kernels, then
# numba compiling for a generic CPU; results must not depend on the vector unit (tolerances only)
PORTABLE_NBS := /(10_options|20_risk|30_analytics|60_ml)/

test-portable: $(STAMP)
	ATEN_CPU_CAPABILITY=default $(BIN)/nbdev-test --n-workers 2 --path-re '$(PORTABLE_NBS)' nbs
	NUMBA_CPU_NAME=generic $(BIN)/nbdev-test --n-workers 2 --path-re '$(PORTABLE_NBS)' nbs

# after editing notebooks: regenerate the library, clean the notebooks, rebuild README.md
export: $(STAMP)
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean && $(BIN)/python .ci/readme.py
