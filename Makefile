# OPAL: `make run` (demo portal on http://127.0.0.1:5000) and `make test` (lint, types, whole suite).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.opal-installed
export OPAL_DATA_DIR ?= var


.PHONY: test-clock run test lint typecheck pytest system-deps demo bench clean security

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the project metadata changed.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# Debian tools some tests need (pdftotext, Chromium, LibreOffice headless for the formula-injection
# check); installed only when missing and we are root.
system-deps:
	@missing=""; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v soffice >/dev/null 2>&1 || missing="$$missing libreoffice-calc-nogui"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not root: skipping$$missing (tests that need them are skipped)"; fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy opal/

pytest: $(STAMP) system-deps
	$(BIN)/pytest -q

test: $(STAMP) system-deps lint typecheck pytest

# The SQLite leg with the system clock shifted: 400 days ahead, and across a daylight-saving change
# in Europe/Berlin (README, Testing). Not part of `make test`: it doubles the run time. The monotonic
# clock is faked too: libfaketime 0.9.10 makes Python's time.sleep fail (EINVAL) otherwise.
FAKE := faketime -f
test-clock: $(STAMP) system-deps
	@command -v faketime >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; }
	$(FAKE) '+400d' $(BIN)/pytest -q -p no:cacheprovider -k 'not pg'
	TZ=Europe/Berlin $(FAKE) '@2027-03-28 01:40:00' $(BIN)/pytest -q -p no:cacheprovider -k 'not pg'

# Demo: Kreis-scale export (fixed seed), refresh, demo users, gunicorn on 127.0.0.1:5000.
run: $(STAMP)
	$(BIN)/python -m opal.demo.setup
	OPAL_SESSION_COOKIE_SECURE=0 $(BIN)/opal serve --host 127.0.0.1 --port 5000

bench: $(STAMP)
	$(BIN)/python bench/refresh.py --scale small --scale kreis

# Not in CI nor in `make test`: sqlmap against every report parameter (security/sqlmap.sh).
security: $(STAMP)
	bash security/sqlmap.sh

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
