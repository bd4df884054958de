# The two commands (see README): `make demo` runs the main job, `make test` the whole suite.
# Both set up what they need on a fresh machine: Debian packages, a virtualenv, the C hook.

VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
APT_PKGS := softhsm2 clang libclang-rt-14-dev poppler-utils zbar-tools tmux chromium \
            qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi
HOOKS   := firmware-hooks

.PHONY: demo test setup system-deps hooks lint typecheck pytest clean

demo: setup
	$(VENV)/bin/credline demo

test: setup lint typecheck hooks pytest

setup: system-deps $(STAMP)

# Installs only what is missing; needs root or sudo on a machine that lacks the packages.
system-deps:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy

# check: C tests and fuzz; cross: the four Cortex-M builds (size, stack) and the examples;
# qemu: the emulated board the pytest QEMU tests provision.
hooks:
	@if [ -f $(HOOKS)/Makefile ]; then $(MAKE) -C $(HOOKS) check cross qemu; fi

pytest: setup
	$(VENV)/bin/pytest -q

clean:
	rm -rf $(VENV) build $(HOOKS)/build
