# Two commands on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-slow bench lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)  ## set up and run the predictive-maintenance example (local .fab/, MLflow on SQLite)
	$(BIN)/modelfab run examples/predictive-maintenance

test: $(STAMP)  ## the whole suite, the way CI runs it
	$(BIN)/python -m pytest -n 2 -q

test-slow: $(STAMP)  ## also the tests on the real datasets in ../shared
	$(BIN)/python -m pytest -n 2 -q --runslow

bench: $(STAMP)  ## every benchmark table in docs/benchmarks.md (about 45 minutes; bench_deep needs ../shared)
	$(BIN)/python benchmarks/bench_tables.py
	$(BIN)/python benchmarks/bench_trainer.py
	$(BIN)/python benchmarks/bench_deep.py
	$(BIN)/python benchmarks/bench_rul.py
	benchmarks/peers/setup_bentoml.sh
	$(BIN)/python benchmarks/bench_serve.py --peers --load 60
	$(BIN)/python benchmarks/bench_monitor.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) examples/*/.fab
