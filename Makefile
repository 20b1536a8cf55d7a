# nnlab: `make run` sets everything up and trains the seeds' final pipeline; `make test` runs the tests.
VENV := .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup system-deps run test test-fast bench bench-serve clean

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

# About an hour on 2 cores; run it on an otherwise idle machine (other work on the cores skews every figure).
bench: setup
	$(BIN)/python bench/data_load.py
	$(BIN)/python bench/train_speed.py
	$(BIN)/python bench/cnn_preset.py
	$(BIN)/python bench/time_to_accuracy.py
	$(BIN)/python bench/time_to_accuracy.py --preset cnn-deep
	$(BIN)/python bench/predict_speed.py
	$(BIN)/python bench/tickets_speed.py
	$(MAKE) bench-serve
	$(BIN)/python bench/photo_robustness.py

# The serving benchmarks time the model `nnlab serve` picks: they train and calibrate runs/bench-cnn-fast first
# when it is not there.
bench-serve: setup
	@test -f runs/bench-cnn-fast/final.keras || $(BIN)/nnlab train --preset cnn-fast --name bench-cnn-fast --verbose 2
	@test -f runs/bench-cnn-fast/calibrated.keras || $(BIN)/nnlab calibrate runs/bench-cnn-fast
	$(BIN)/python bench/serve_start.py
	$(BIN)/python bench/serve_load.py
	$(BIN)/python bench/predict_cold.py
	$(BIN)/python bench/readme_table.py

clean:
	rm -rf $(VENV) build *.egg-info
