# Two commands do all the set-up on a fresh machine:
#   make run    create .venv if missing, install, start the app on http://localhost:8501
#   make test   create .venv if missing, install the test extras (Debian's chromium
#               included), lint, and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench install install-dev browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install whenever a requirements file changes.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Playwright drives Debian's Chromium: its own browser download is not used.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: install
	$(BIN)/streamlit run app.py --server.port 8501

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-dev browser lint
	$(BIN)/python -m pytest

bench: install-dev
	$(BIN)/python -m bench.scale_speed
	$(BIN)/python -m bench.weather_speed
	$(BIN)/python -m bench.gmm_speed
	$(BIN)/python -m bench.open_world_speed
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.class_follow
	$(BIN)/python -m bench.class_batch
	$(BIN)/python -m bench.memory
