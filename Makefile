# berth: `make demo` sets up and shows berth's main job; `make test` sets up and runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python3

.PHONY: install demo test lint unit integration conformance oracle bench clean

install:
	@bash scripts/install.sh

demo: install
	@$(PY) scripts/demo.py

lint: install
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: install
	$(PY) -m pytest -q tests/unit

# Root tests: integration and the conformance suite (berth-runtime and runc).
integration: install
	$(PY) -m pytest -q tests/integration tests/conformance

test: install lint
	$(PY) -m pytest -q tests

oracle: install
	$(PY) -m pytest -q --oracle -m oracle tests

bench: install
	$(PY) bench/runtime_start.py
	$(PY) bench/pull_push.py
	$(PY) bench/run_latency.py
	$(PY) bench/shim_pss.py
	$(PY) bench/port_publish.py
	$(PY) bench/build.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
