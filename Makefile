# nnlab: `make run` sets everything up and serves the lucky-bag page; `make test` runs the tests.
VENV := .venv
PYTHON ?= python3
BIN := $(VENV)/bin

# The model `make run` trains when runs/ has no calibrated cnn-fast run (`nnlab serve`'s default), and flags for
# that training: `make run SERVED_FLAGS="--epochs 1 --limit 2000"` makes a quick, weaker one to try the page.
SERVED_RUN := runs/cnn-fast
SERVED_FLAGS ?=

.PHONY: setup system-deps run served-model test test-fast bench bench-serve clean

$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

system-deps:
	@scripts/install-system-deps.sh

setup: $(BIN)/.installed system-deps

# The product: the lucky-bag page at http://127.0.0.1:8000/ with `nnlab serve`'s default model (Ctrl-C stops).
# E10, the seeds' final pipeline, is `nnlab train --preset seeds-final`; all of E1-E10 `nnlab reproduce`.
run: setup
	@$(BIN)/python -c 'import sys; from nnlab.cli.serve import best_fashion_run; run = best_fashion_run("runs"); \
	  sys.exit(not (run and run.calibrated and run.preset and (run.path / "ood.keras").is_file()))' \
	  || $(MAKE) --no-print-directory served-model
	$(BIN)/nnlab serve

# Train (progress bar; an interrupted run is continued) and calibrate $(SERVED_RUN), each step only when not done.
served-model:
	@if test -f $(SERVED_RUN)/final.keras; then :; \
	elif test -f $(SERVED_RUN)/config.json; then $(BIN)/nnlab train --resume $(SERVED_RUN); \
	else $(BIN)/nnlab train --preset cnn-fast --name $(notdir $(SERVED_RUN)) $(SERVED_FLAGS); fi
	@test -f $(SERVED_RUN)/ood.keras || $(BIN)/nnlab calibrate $(SERVED_RUN)

# Two test processes (pytest-xdist): one pytest keeps 2 cores only ~40 % busy (imports, compiles, subprocesses).
test: setup
	$(BIN)/python -m pytest -q -ra -n 2 --dist loadgroup --durations=15

test-fast: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m "not slow"

# About an hour on 2 cores; run it on an otherwise idle machine (other work on the cores skews every figure).
bench: setup
	$(BIN)/python bench/data_load.py
	$(BIN)/python bench/train_speed.py
	$(BIN)/python bench/cnn_preset.py
	$(BIN)/python bench/time_to_accuracy.py
	$(BIN)/python bench/time_to_accuracy.py --preset cnn-ensemble
	$(BIN)/python bench/predict_speed.py
	$(BIN)/python bench/tickets_speed.py
	$(MAKE) bench-serve
	$(BIN)/python bench/photo_robustness.py

# The serving benchmarks time the model `nnlab serve` picks: they train and calibrate runs/bench-cnn-fast first
# when it is not there.
bench-serve: setup
	@test -f runs/bench-cnn-fast/final.keras || $(BIN)/nnlab train --preset cnn-fast --name bench-cnn-fast --verbose 2
	@test -f runs/bench-cnn-fast/ood.keras || $(BIN)/nnlab calibrate runs/bench-cnn-fast
	$(BIN)/python bench/serve_start.py
	$(BIN)/python bench/serve_load.py
	$(BIN)/python bench/predict_cold.py
	$(BIN)/python bench/serve_photos.py --model runs/bench-cnn-fast
	$(BIN)/python bench/ood_rejection.py --run runs/bench-cnn-fast
	$(BIN)/python bench/readme_table.py

clean:
	rm -rf $(VENV) build *.egg-info
