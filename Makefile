# openvpn-auth-oidc: every developer and CI entry point.
# Deno and Bun come from PATH when present, otherwise from npm into .tools/ (no other downloads).

DENO_VERSION := 2.9.6
BUN_VERSION  := 1.4.5
TOOLS        := $(CURDIR)/.tools
DENO ?= $(shell command -v deno 2>/dev/null || echo $(TOOLS)/node_modules/.bin/deno)
BUN  ?= $(shell command -v bun 2>/dev/null || echo $(TOOLS)/node_modules/.bin/bun)
export DENO BUN
# Test stages append "stage passed failed" lines here; .ci/run sums them.
SUMMARY ?= $(CURDIR)/.tools/test-summary.txt
export SUMMARY
CONFIG ?= /etc/openvpn-auth-oidc/server.toml
BIN := dist/openvpn-auth-oidc
BIN_ARM64 := dist/openvpn-auth-oidc-arm64
# Bun's runtime for Linux on arm64 (glibc), from npm like bun itself: the bun package at the same
# version, installed as on an arm64 host so that npm picks that runtime; bun's install script,
# which would run it, is skipped. The version is in the directory: a new BUN_VERSION installs anew.
BUN_ARM64_DIR := $(TOOLS)/bun-$(BUN_VERSION)-linux-arm64
BUN_ARM64_RUNTIME := $(BUN_ARM64_DIR)/node_modules/@oven/bun-linux-aarch64/bin/bun
# What every binary Bun compiles gets: no .env or bunfig.toml read from the working directory at
# run time (tests/binary/binary_test.ts says why), and the SQLite worker as a second entry.
BUN_COMPILE := build --compile --minify --sourcemap=none \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig
BUN_ENTRIES := src/main.ts src/sessions/sqlite_worker.ts
# The V8 flags of the service on Deno (src/deno_v8_flags.ts says why; a unit test holds this to it).
DENO_V8_FLAGS := --v8-flags=--no-allocation-site-pretenuring
# No --quiet: failing tests print their diagnostics (bridge and OpenVPN logs).
DENO_TEST := $(DENO) test --allow-all

.PHONY: tools deps system-deps check fmt test test-unit test-integration test-stress test-e2e test-binary test-package build build-bun build-bun-arm64 deb deb-arm64 run demo bench bench-scale clean

tools: $(DENO) $(BUN)

$(TOOLS)/node_modules/.bin/deno $(TOOLS)/node_modules/.bin/bun:
	mkdir -p $(TOOLS)
	cd $(TOOLS) && [ -f package.json ] || (cd $(TOOLS) && echo '{"private":true}' > package.json)
	cd $(TOOLS) && npm install --no-audit --no-fund --save-exact deno@$(DENO_VERSION) bun@$(BUN_VERSION)

$(BUN_ARM64_RUNTIME):
	mkdir -p $(BUN_ARM64_DIR)
	cd $(BUN_ARM64_DIR) && { [ -f package.json ] || echo '{"private":true}' > package.json; }
	cd $(BUN_ARM64_DIR) && npm install --no-audit --no-fund --save-exact --ignore-scripts \
	  --os=linux --cpu=arm64 --libc=glibc bun@$(BUN_VERSION)

# Fills node_modules/ from deno.lock (Bun's compiler resolves the same bare names from there).
deps: tools
	$(DENO) install --frozen

check: deps
	$(DENO) fmt --check
	$(DENO) lint
	$(DENO) check src/ tests/ bench/ scripts/
	$(DENO) run --allow-read scripts/check_imports.ts src
	$(DENO) run --allow-read scripts/check_test_imports.ts tests bench

fmt: tools
	$(DENO) fmt

test-unit: deps
	scripts/stage.sh unit $(DENO_TEST) tests/unit/

test-integration: deps
	scripts/stage.sh integration $(DENO_TEST) tests/integration/

test-stress: deps
	scripts/stage.sh stress $(DENO_TEST) tests/stress/

test-binary: build-bun build-bun-arm64
	scripts/stage.sh binary $(DENO_TEST) tests/binary/

test-e2e: deps build-bun
	scripts/stage.sh e2e $(DENO_TEST) tests/e2e/

test-package: deb deb-arm64
	scripts/stage.sh package $(DENO_TEST) tests/package/

# Debian packages for the e2e, package and store tests and the demo: installed when root,
# otherwise the exact command is printed.
system-deps:
	@scripts/install-system-deps.sh

# Every stage runs even when an earlier one fails, so the summary is complete; any failure fails.
# Without root the system packages cannot be installed: the tests that need them are skipped and
# counted as skipped (a failure under CI=true).
test:
	@rm -f $(SUMMARY)
	@status=0; \
	scripts/install-system-deps.sh || { [ "$$CI" = true ] && status=1; }; \
	scripts/stage.sh check $(MAKE) --no-print-directory check || status=1; \
	$(MAKE) --no-print-directory -k test-unit test-integration test-stress test-binary test-e2e \
	  test-package || status=1; \
	scripts/summary.sh $$status

build: deps
	@mkdir -p dist
	$(DENO) compile --allow-all $(DENO_V8_FLAGS) --include src/sessions/sqlite_worker.ts --output $(BIN) src/main.ts || { \
	  echo "deno compile needs internet once to download Deno's runtime (denort)." >&2; \
	  echo "On an offline host use 'make build-bun', or compile on a connected host and copy dist/." >&2; exit 1; }

build-bun: deps
	@mkdir -p dist
	$(BUN) $(BUN_COMPILE) --outfile $(BIN) $(BUN_ENTRIES)

# The same program on Bun's arm64 runtime (from npm, no other download): the bundle and the
# runtime must be one Bun version, so a bun on PATH of another version is refused.
build-bun-arm64: deps $(BUN_ARM64_RUNTIME)
	@mkdir -p dist
	@[ "$$($(BUN) --version)" = $(BUN_VERSION) ] || { echo "$(BUN) is not Bun $(BUN_VERSION), the" \
	  "arm64 runtime's version: make BUN=$(TOOLS)/node_modules/.bin/bun build-bun-arm64" >&2; exit 1; }
	$(BUN) $(BUN_COMPILE) --target=bun-linux-arm64 --compile-executable-path=$(BUN_ARM64_RUNTIME) \
	  --outfile $(BIN_ARM64) $(BUN_ENTRIES)

# dist/openvpn-auth-oidc_<version>_<arch>.deb, offline, with dpkg-deb.
deb: build-bun
	scripts/build-deb.sh amd64

deb-arm64: build-bun-arm64
	scripts/build-deb.sh arm64

run: deps
	$(DENO) run --allow-all $(DENO_V8_FLAGS) src/main.ts --config $(CONFIG)

demo: system-deps deps
	$(DENO) run --allow-all tests/e2e/demo.ts

bench: deps build-bun
	$(DENO) run --allow-all bench/main.ts

# The growth table up to 1,000,000 sessions, file store and Redis (filling each takes minutes;
# Redis then holds about 3.3 GB).
bench-scale: deps build-bun
	$(DENO) run --allow-all bench/main.ts --only G --growth-sizes 10000,100000,1000000

clean:
	rm -rf dist node_modules
