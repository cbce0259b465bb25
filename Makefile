# Tidepool: the two commands are `make run` and `make test`. Both set up what they need
# (npm packages; Caddy, Incus and Chromium from Debian's apt) and are safe to run again.
SHELL := /bin/bash
DATA_DIR ?= $(HOME)/.local/share/tidepool
NPM := npm --no-audit --no-fund --loglevel=error

.PHONY: run test deps host build bench clean

## Installs npm packages when package-lock.json changed since the last install.
deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	$(NPM) ci
	touch $@

## Host setup (root): Caddy, Incus (bookworm-backports), its pool/bridge/profile, the minimal test image and the
## IDE image (built when missing or its recipe changed, ~4 min with progress), and Chromium for make test.
HOST_FLAGS ?=
host:
	bash scripts/setup-host.sh $(HOST_FLAGS)

## Rebuilds the IDE and minimal images now, even when they are current.
.PHONY: image
image:
	bash scripts/setup-host.sh --rebuild-image $(HOST_FLAGS)

build: deps
	$(NPM) run build
	$(NPM) run build:web

## Sets up the host and runs Tidepool with Incus and Caddy; the examples folder is synced (GitOps).
run: host build
	node dist/cli/main.js serve --data-dir $(DATA_DIR) --runtime incus --proxy caddy --sync-dir examples=$(CURDIR)/examples

## Sets up the host (and Chromium for the UI's end-to-end test), then runs every test suite against the real components.
test: HOST_FLAGS = --with-chromium
test: host build
	TIDEPOOL_REQUIRE_INCUS=1 TIDEPOOL_SKIP_BUILD=1 npx vitest run

bench: host build
	for b in bench/*.ts; do echo "== $$b"; npx tsx $$b || exit 1; done

clean:
	rm -rf dist web/dist
