# Two commands for a new user: `make run` and `make test`. Everything else is set-up they pull in.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench rebuild clean

$(BIN)/folgja: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

run: $(BIN)/folgja
	$(BIN)/folgja run --demo

test: $(BIN)/folgja
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(BIN)/folgja
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
