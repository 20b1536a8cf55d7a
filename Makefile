# nnlab: `make run` sets everything up and trains the seeds' final pipeline; `make test` runs the tests.
VENV := .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup system-deps run test test-fast bench clean

$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

system-deps:
	@scripts/install-system-deps.sh

setup: $(BIN)/.installed system-deps

run: setup
	$(BIN)/nnlab train --preset seeds-final --verbose 2

test: setup
	$(BIN)/python -m pytest -q -ra

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python bench/data_load.py
	$(BIN)/python bench/train_speed.py
	$(BIN)/python bench/cnn_preset.py
	$(BIN)/python bench/tickets_speed.py
	$(BIN)/python bench/readme_table.py

clean:
	rm -rf $(VENV) build *.egg-info
