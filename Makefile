# ultimate_nb: `make live` runs the trading loop, `make test` runs every check.
# Both create .venv and install the project on first use; later runs reuse it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LIVE_STAMP := $(VENV)/.installed-live
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: live test install export

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

# after editing notebooks: regenerate the library, clean the notebooks, rebuild README.md
export: $(STAMP)
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean && $(BIN)/python .ci/readme.py
