# Two commands do everything on a fresh machine with Python 3.11, 3.12 or 3.13 and make:
#   make run        start the assistant in this terminal (local data, no token needed)
#   make test       lint, type-check and run the whole test suite
# and for the inner loop and production:
#   make test-fast  lint and the quick tests (no end-to-end, crash or long fuzz runs)
#   make install    a production environment in .venv-prod, without the development tools
# PYTHON is found by .ci/find-python (3.13, 3.12, 3.11; an existing .venv keeps its version);
# override it with PYTHON=/path/to/python3.12 make test.
PYTHON ?= $(shell .ci/find-python)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROD := .venv-prod
FAST := -m "not slow" -n auto

.PHONY: run test test-fast lint typecheck pytest telegram bench fuzz install constraints diagram clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(PROD)
	$(PROD)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt .
	@echo "Klaar: $(PROD)/bin/inkoopkompas"

# Regenerate the pinned versions after changing dependencies in pyproject.toml (documented in
# the README): a clean environment, the newest allowed versions, then the freeze.
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install --quiet --disable-pip-version-check '.[dev]'
	.venv-constraints/bin/pip freeze --exclude-editable | grep -v '^inkoopkompas' > constraints.txt
	rm -rf .venv-constraints

diagram: $(STAMP)
	$(BIN)/python -m flows.conversation.diagram --write

run: $(STAMP)
	$(BIN)/inkoopkompas chat

telegram: $(STAMP)
	$(BIN)/inkoopkompas telegram

test: lint typecheck pytest

test-fast: lint $(STAMP)
	$(BIN)/pytest $(FAST) -x

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
	rm -rf $(VENV) $(PROD) .mypy_cache .ruff_cache .pytest_cache .hypothesis
