# Commhub — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint deps venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

venv: $(STAMP)

deps:
	bash scripts/system-deps.sh

run: $(STAMP)
	$(PY) -m app

lint: $(STAMP)
	$(VENV)/bin/ruff check services app ui tests
	$(VENV)/bin/mypy --strict services

test: deps $(STAMP)
	$(VENV)/bin/ruff check services app ui tests
	$(VENV)/bin/mypy --strict services
	$(PY) -m pytest -q

bench: deps $(STAMP)
	$(PY) -m tests.perf.bench_import_search
	$(PY) -m tests.perf.bench_imap_sync
	$(PY) -m tests.perf.bench_attachments
	$(PY) -m tests.perf.bench_encryption
	$(PY) -m tests.perf.bench_audit
	$(PY) -m tests.perf.bench_privacy
	$(PY) -m tests.perf.bench_ui
	$(PY) -m tests.perf.bench_contacts

clean:
	rm -rf $(VENV) build *.egg-info
