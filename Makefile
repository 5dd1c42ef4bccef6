# The two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv/ from pyproject.toml on first use (uv when present, else pip).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck console serve migrate clean

$(STAMP): pyproject.toml
	@echo "Setting up Tend in $(VENV)/ (first run, or pyproject.toml changed): about a minute..."
	python3 -m venv $(VENV)
	@if command -v uv >/dev/null 2>&1; then \
		uv pip install --python $(PY) -q -e '.[dev]'; \
	else \
		$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'; \
	fi
	@touch $(STAMP)
	@echo "Tend is installed in $(VENV)/."

run: $(STAMP)
	$(PY) app.py

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

typecheck: $(STAMP)
	$(PY) -m mypy

console: $(STAMP)
	$(PY) app.py console

serve: $(STAMP)
	$(PY) app.py serve

migrate: $(STAMP)
	$(PY) app.py migrate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
