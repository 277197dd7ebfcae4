# Two commands do all the set-up on a fresh machine:
#   make run    install into .venv (first time only) and start segstudio
#   make test   install into .venv (first time only) and run the whole test suite
#   make lint   ruff, the import-linter contracts (layers, no Qt below the window) and
#               mypy --strict on core, nn and cli (settings in pyproject.toml)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# ruff covers the whole package and its tests (benchmarks are next)
LINT_PATHS ?= segstudio tests
LINT_LATER ?= .venv

.PHONY: run test lint bench clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,onnx]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/segstudio $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check --extend-exclude $(LINT_LATER) $(LINT_PATHS)
	PYTHONPATH=. $(VENV)/bin/lint-imports
	$(VENV)/bin/mypy segstudio/core segstudio/nn segstudio/cli

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean-venv:
	rm -rf $(VENV)
