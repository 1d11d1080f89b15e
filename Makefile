# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make run    start the assistant in this terminal (local data, no token needed)
#   make test   lint, type-check and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest telegram bench fuzz clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/inkoopkompas chat

telegram: $(STAMP)
	$(BIN)/inkoopkompas telegram

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=thorough $(BIN)/pytest tests/test_fuzz.py tests/test_engine_properties.py tests/test_adversarial_fuzz.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
