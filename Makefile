# marc — two commands: `make demo` and `make test`.
# Both install what is missing (Debian packages from packages.txt), build, and run.
# `make bench-selenium`: marc side by side with a plain Python Selenium robot.

SHELL := /bin/bash
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# tesseract: one thread per engine; marc parallelises across screens itself.
export OMP_THREAD_LIMIT ?= 1
# The Debian package list `make deps` installs from.
PACKAGES ?= packages.txt
# Rounds of the side-by-side benchmark.
BENCH_ROUNDS ?= 3

.PHONY: all deps build demo test check lint dsl clean bench-selenium

all: build

## Install the Debian packages listed in $(PACKAGES) that are not installed yet.
deps:
	@missing=$$(grep -v '^[[:space:]]*#' $(PACKAGES) | xargs -n1 | while read -r p; do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || echo "$$p"; done | xargs); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "Debian packages: all present"; fi
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust (rustup) first"; exit 1; }

build: deps
	$(CARGO) build -p marc --features testbed

## Run the main job end to end on the embedded default (the testbed), in the
## demo's own data directory, settings and key (out/demo).
demo: build
	./target/debug/marc demo

## Every test: unit, integration, end-to-end (real Chromium, tesseract, Xvfb, sled).
test: deps
	$(CARGO) build -p marc --features testbed
	$(CARGO) test --workspace --features marc/testbed --no-fail-fast -- --test-threads=2

## marc and a plain Python Selenium robot doing the same job on the same
## testbed, interleaved (tests/benches/selenium.rs); BENCH_ROUNDS rounds.
bench-selenium: deps
	$(MAKE) deps PACKAGES=packages-bench.txt
	$(CARGO) build -p marc --features testbed
	$(CARGO) bench -p marc-e2e --bench selenium -- $(BENCH_ROUNDS)

## Static checks.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Regenerate the DSL reference from the registered API.
dsl: build
	./target/debug/marc dsl > docs/DSL.md

clean:
	$(CARGO) clean
