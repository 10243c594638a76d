# `make test` and `make demo` create .venv when it is missing and install the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.agan-installed

.PHONY: test demo serve bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/agan demo

serve: $(STAMP)
	$(BIN)/agan serve

bench: $(STAMP)
	$(BIN)/python scripts/bench_degradations.py

clean:
	rm -rf $(VENV) agan-demo build *.egg-info
