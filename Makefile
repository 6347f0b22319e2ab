# The two commands of the README. Both set up everything on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast check setup test-tools bench clean

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
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup --hypothesis-profile=ci $(PYTEST_ARGS)

## make test-fast: the inner loop (no browser, nothing marked slow, Hypothesis "dev" profile), under a minute
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m "not slow and not browser" --hypothesis-profile=dev $(PYTEST_ARGS)

## make check: lint, format and type gates (ruff; mypy held to scripts/mypy-baseline.txt)
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/mypy_gate.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data demo-archive
