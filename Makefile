# OPAL: `make run` (demo portal on http://127.0.0.1:5000) and `make test` (lint, types, whole suite).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.opal-installed
# axe-core for the browser layout test (tests/test_browser_layout.py), from the npm registry
AXE    := node_modules/axe-core/axe.min.js
export OPAL_DATA_DIR ?= var


.PHONY: test-clock run test lint typecheck pytest system-deps build-deps demo bench clean security

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the project metadata changed. python-ldap (extra `ldap`, the directory
# sign-in) compiles against libldap2-dev and libsasl2-dev: `build-deps` installs them first (as
# root); without them (not root) the extra is left out and the directory tests are skipped.
$(STAMP): pyproject.toml | $(BIN)/python build-deps
	@extras=test; \
	if [ -f /usr/include/ldap.h ] && [ -f /usr/include/sasl/sasl.h ]; then extras=test,ldap; \
	else echo "libldap2-dev/libsasl2-dev missing: python-ldap not installed"; fi; \
	echo "$(BIN)/pip install -q -e '.[$$extras]'"; \
	$(BIN)/pip install -q -e ".[$$extras]"
	touch $(STAMP)

# Install the Debian packages named in $$missing, only as root; otherwise say what is skipped.
APT_MISSING = if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      -o DPkg::Lock::Timeout=300 $$missing >/dev/null; \
	  else echo "not root: skipping$$missing (what needs them is skipped)"; fi; \
	fi

# Headers python-ldap builds against.
build-deps:
	@missing=""; \
	[ -f /usr/include/ldap.h ] || missing="$$missing libldap2-dev"; \
	[ -f /usr/include/sasl/sasl.h ] || missing="$$missing libsasl2-dev"; \
	$(APT_MISSING)

# Debian tools some tests need (pdftotext, Chromium, LibreOffice headless for the formula-injection
# check, slapd and ldap-utils for the directory sign-in against a real OpenLDAP, nginx for the
# reverse-proxy example in docs/nginx); installed only
# when missing and we are root.
system-deps:
	@missing=""; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v soffice >/dev/null 2>&1 || missing="$$missing libreoffice-calc-nogui"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	[ -x /usr/sbin/slapd ] || missing="$$missing slapd"; \
	command -v ldapsearch >/dev/null 2>&1 || missing="$$missing ldap-utils"; \
	$(APT_MISSING)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy opal/

$(AXE):
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --no-save --no-audit --no-fund --prefix . axe-core@4.14.1 >/dev/null; \
	else echo "npm missing: the axe-core check is skipped"; fi

pytest: $(STAMP) system-deps
	@$(MAKE) --no-print-directory $(AXE) || true
	$(BIN)/pytest -q

test: $(STAMP) system-deps lint typecheck pytest

# The SQLite leg with the system clock shifted: 400 days ahead, and across a daylight-saving change
# in Europe/Berlin (README, Testing). Not part of `make test`: it doubles the run time. The monotonic
# clock is faked too: libfaketime 0.9.10 makes Python's time.sleep fail (EINVAL) otherwise.
# The daylight-saving run shifts by an offset, not to an absolute '@' time: with '@' every process
# starts its own clock at that moment, so a command started later would run earlier than the
# server that published before it.
# A thread's timed wait (Thread.join(t), Event.wait(t)) never expires under a faked monotonic
# clock (libfaketime issues 390 and 469): the one test that needs it (a hung directory given up
# after its timeout; it reads no date) is left out of these runs.
FAKE := faketime -f
CLOCK_PYTEST := $(BIN)/pytest -q -p no:cacheprovider -k 'not pg' -m 'not timed_wait'
test-clock: $(STAMP) system-deps
	@$(MAKE) --no-print-directory $(AXE) || true
	@command -v faketime >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; }
	$(FAKE) '+400d' $(CLOCK_PYTEST)
	@s=$$(( $$(date -d '2027-03-28 00:55:00 UTC' +%s) - $$(date +%s) )); \
	case $$s in -*) ;; *) s="+$$s";; esac; \
	echo "TZ=Europe/Berlin $(FAKE) '$$s' (2027-03-28 01:55 CET: the clocks go to 03:00 CEST about 5 minutes into the run)"; \
	TZ=Europe/Berlin $(FAKE) "$$s" $(CLOCK_PYTEST)

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
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache node_modules
