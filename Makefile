# The two commands of the README quick start, and what they stand on.
#   make demo   install mailward in .venv and audit the bundled example domain (no network)
#   make test   install everything the tests need (Debian and Python) and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Debian packages the test suite starts or calls: knot (authoritative DNS on loopback),
# chromium (renders the HTML audit report), ldnsutils and bind9-utils (verify signed zones,
# key-format interop), postsrsd (SRS interop), postfix (end-to-end forwarding with SRS),
# opendkim (DKIM interop).
DEB_TEST_PACKAGES := knot chromium ldnsutils bind9-utils postsrsd postfix opendkim

.PHONY: demo test lint check-system install-test docs

# The example has deliberate mistakes, so the audit and lint exit 1: that is the demo working.
demo: $(VENV)/.installed
	$(BIN)/mailward check --zone examples/example.com.zone example.com || test $$? -eq 1
	$(BIN)/mailward lint examples/translated-howto.zone || test $$? -eq 1

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install-test: check-system $(VENV)/.installed-test

# Installs the Debian packages when any is missing (as root, or through sudo).
check-system:
	@missing=""; for p in $(DEB_TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  echo "postfix postfix/main_mailer_type select No configuration" | $$SUDO debconf-set-selections; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: install-test lint
	$(BIN)/pytest

docs: $(VENV)/.installed
	$(BIN)/python -m mailward.docs docs/checks.md
