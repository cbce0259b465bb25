# Tidepool: the two commands are `make run` and `make test`. Both set up what they need
# (npm packages; Caddy, Incus and Chromium from Debian's apt) and are safe to run again.
SHELL := /bin/bash
DATA_DIR ?= $(HOME)/.local/share/tidepool
NPM := npm --no-audit --no-fund --loglevel=error

.PHONY: run test check fmt deps host build bench clean install

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
## ARGS are more serve flags, e.g. make run ARGS="--app-port 18080 --workspace-port 18081 --preview-port 18082".
ARGS ?=
run: host build
	node dist/cli/main.js serve --data-dir $(DATA_DIR) --runtime incus --proxy caddy --sync-dir examples=$(CURDIR)/examples $(ARGS)

## The quick checks, without root or any host service, in well under a minute: lint (a warning
## fails it too), the format of the whole tree, type-check of every tsconfig, the unit tests.
check: deps
	npx biome lint --error-on-warnings .
	npx biome format .
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p tsconfig.check.json
	npx tsc -p web
	npx vitest run --config vitest.unit.config.ts

## Formats every file Biome knows (biome.jsonc: 2 spaces, single quotes, semicolons, 120 columns).
fmt: deps
	npx biome format --write .

## Runs `make check`, sets up the host (and Chromium for the UI's end-to-end test), then runs every test suite against the real components.
test: HOST_FLAGS = --with-chromium
test: check host build
	@bash scripts/cluster-lab.sh up || echo "make test: the cluster lab could not be built (see above); test/cluster fails under TIDEPOOL_REQUIRE_INCUS=1"
	@# The lab is torn down afterwards, pass or fail (KEEP_LAB=1 keeps it for another run).
	@# The failures are repeated last, after the teardown, with the first lines of each error.
	rc=0; rm -f test-results/vitest.json; \
	  TIDEPOOL_REQUIRE_INCUS=1 TIDEPOOL_SKIP_BUILD=1 TIDEPOOL_SKIP_UNIT=1 npx vitest run \
	    --reporter=default --reporter=json --outputFile.json=test-results/vitest.json || rc=$$?; \
	  [ -n "$(KEEP_LAB)" ] || bash scripts/cluster-lab.sh down; \
	  [ $$rc = 0 ] || npx tsx test/failure-summary.ts test-results/vitest.json; exit $$rc

## The cluster lab: a 3-member Incus cluster of nested containers on this machine, behind an egress
## guard (scripts/cluster-lab.sh; the member image is built once, ~1 min, then forming takes seconds).
## test/cluster runs against it; `make test` tears it down at its end unless KEEP_LAB=1.
.PHONY: cluster-lab cluster-lab-down
cluster-lab: host
	bash scripts/cluster-lab.sh up
cluster-lab-down:
	bash scripts/cluster-lab.sh down

## Puts `tidepool` on PATH: a link /usr/local/bin/tidepool -> dist/cli/main.js of this checkout (PREFIX=... elsewhere).
PREFIX ?= /usr/local
install: build
	mkdir -p $(PREFIX)/bin
	ln -sfn $(CURDIR)/dist/cli/main.js $(PREFIX)/bin/tidepool
	@echo "tidepool -> $(CURDIR)/dist/cli/main.js (try: tidepool version --client; completion: source <(tidepool completion bash))"

## Runs every benchmark (bench/dataplane's throughput part drives Debian's wrk, installed here when missing).
bench: host build
	command -v wrk >/dev/null || apt-get install -y -qq --no-install-recommends wrk
	for b in bench/*.ts; do echo "== $$b"; npx tsx $$b || exit 1; done

clean:
	rm -rf dist web/dist
