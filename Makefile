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
# Seconds of each bounded load in `make bench-serve`.
BENCH_SECONDS ?= 20
# Folders with a package.json and a committed package-lock.json that
# `make deps` installs with `npm ci`: the test OpenID provider, and the
# browser tools of the end-to-end tests (axe-core).
NPM_DIRS ?= testbed/idp tests
# oidc-provider 9 needs Node.js 20 or later (Debian 12's nodejs is 18).
NODE_MIN ?= 20

.PHONY: all deps build demo test check lint dsl clean bench-selenium bench-serve bench-workers

all: build

## Install the Debian packages listed in $(PACKAGES) that are not installed
## yet, and the npm packages of $(NPM_DIRS) from their lockfiles.
deps:
	@missing=$$(grep -v '^[[:space:]]*#' $(PACKAGES) | xargs -n1 | while read -r p; do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || echo "$$p"; done | xargs); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "Debian packages: all present"; fi
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust (rustup) first"; exit 1; }
	@command -v node >/dev/null && command -v npm >/dev/null || { \
		echo "node and npm are missing: install Node.js $(NODE_MIN) or later (Debian 12's nodejs 18 is too old for oidc-provider 9)"; exit 1; }
	@major=$$(node -p 'process.versions.node.split(".")[0]'); [ "$$major" -ge $(NODE_MIN) ] || { \
		echo "Node.js $$(node --version) is too old: install Node.js $(NODE_MIN) or later"; exit 1; }
	@# npm ci from each lockfile, only when node_modules is missing or older than the lockfile.
	@for d in $(NPM_DIRS); do \
		if [ ! -f "$$d/node_modules/.package-lock.json" ] \
			|| [ "$$d/package-lock.json" -nt "$$d/node_modules/.package-lock.json" ] \
			|| [ "$$d/package.json" -nt "$$d/node_modules/.package-lock.json" ]; then \
			echo "npm ci --prefix $$d"; npm ci --prefix "$$d" --no-audit --no-fund || exit 1; \
		else echo "npm packages in $$d: up to date"; fi; \
	done

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

## marc serve under load: requests per hour with 1, 2 and 4 at once, and
## the status page's p50/p99 under wrk (tests/benches/serve.rs).
## The server is the release build; the driver (browsers, wrk) needs no optimising.
bench-serve: deps
	$(MAKE) deps PACKAGES=packages-bench.txt
	$(CARGO) build --release -p marc --features testbed
	MARC_BIN=$(CURDIR)/target/release/marc $(CARGO) test -p marc-e2e --bench serve -- $(BENCH_SECONDS)

## Workers on PostgreSQL on the load testbed (12 systems, 500 documents):
## one request end to end, requests per hour with 1, 2 and 4 worker
## processes, memory per worker (tests/benches/workers.rs); and the shared
## queue's own cost per job (engine/benches/queue.rs).
bench-workers: deps
	$(CARGO) build --release -p marc --features testbed
	$(CARGO) bench -p marc --bench queue
	MARC_BIN=$(CURDIR)/target/release/marc $(CARGO) bench -p marc-e2e --bench workers

## Static checks.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Regenerate the DSL reference from the registered API.
dsl: build
	./target/debug/marc dsl > docs/DSL.md

clean:
	$(CARGO) clean
