# marc — two commands: `make demo` and `make test`.
# Both install what is missing (Debian packages from packages.txt), build, and run.

SHELL := /bin/bash
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Screening lists live beside the checkout (../shared/data); override with MARC_LISTS_DIR.
export MARC_LISTS_DIR ?= $(abspath $(CURDIR)/../shared/data)
# tesseract: one thread per engine; marc parallelises across screens itself.
export OMP_THREAD_LIMIT ?= 1

.PHONY: all deps build demo test check lint dsl clean

all: build

## Install the Debian packages listed in packages.txt that are not installed yet.
deps:
	@missing=$$(grep -v '^[[:space:]]*#' packages.txt | xargs -n1 | while read -r p; do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || echo "$$p"; done | xargs); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "Debian packages: all present"; fi
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust (rustup) first"; exit 1; }

build: deps
	$(CARGO) build -p marc

## Run the main job end to end on the embedded default (the testbed).
demo: build
	./target/debug/marc demo

## Every test: unit, integration, end-to-end (real Chromium, tesseract, Xvfb, sled).
test: deps
	$(CARGO) build -p marc
	$(CARGO) test --workspace --no-fail-fast -- --test-threads=2

## Static checks.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Regenerate the DSL reference from the registered API.
dsl: build
	./target/debug/marc dsl > docs/DSL.md

clean:
	$(CARGO) clean
