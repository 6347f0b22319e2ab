# The two commands of the README. Both set up everything on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup test-tools bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

## make run: simulate an archive, pull it, and serve the dashboard on http://localhost:8501
run: $(STAMP)
	$(BIN)/chatarchive demo

## make test: the whole test suite (installs headless Chromium and docker-compose for the tests that drive them)
test-tools:
	bash scripts/install-test-tools.sh

test: $(STAMP) test-tools
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data demo-archive
