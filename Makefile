# Kafka Lab: two commands, `make serve` and `make test`. Each installs what is missing first.
#
# Tools live outside the checkout so a clean clone (CI is one) reuses them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

TOOLS ?= $(HOME)/.cache/kafka-lab/tools
TRUNK_VERSION := 0.21.14
BINARYEN_VERSION := 132.0.0
# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock, or the test runner refuses.
WASM_BINDGEN_VERSION = $(shell awk '/^name = "wasm-bindgen"$$/{getline; gsub(/"/,"",$$3); print $$3; exit}' Cargo.lock)
PORT ?= 8080

export PATH := $(TOOLS)/bin:$(TOOLS)/npm/node_modules/.bin:$(PATH)
export TRUNK_SKIP_VERSION_CHECK := true
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export CARGO_TERM_COLOR ?= never

.PHONY: help tools browser serve dist test bench bench-fcp soak soak-seed clean-tools

help:
	@echo "make serve   install what is missing, then serve the lab at http://127.0.0.1:$(PORT)"
	@echo "make test    install what is missing, then run every test"
	@echo "make dist    build the static release into dist/"
	@echo "make bench   run the native engine benchmarks"
	@echo "make bench-fcp  time the first render against a bare Leptos page"
	@echo "make soak    the compound-fault run over SOAK_SEEDS seeds (default 2000), optimised"

## Tools: each is checked by version and installed only when missing.
tools:
	@mkdir -p "$(TOOLS)/bin"
	@if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then \
	  echo "tools: adding the wasm32-unknown-unknown target"; rustup target add wasm32-unknown-unknown; fi
	@if [ "$$(trunk --version 2>/dev/null)" != "trunk $(TRUNK_VERSION)" ]; then \
	  echo "tools: installing trunk $(TRUNK_VERSION) into $(TOOLS) (about 8 min on 2 cores)"; \
	  cargo install --locked --root "$(TOOLS)" trunk --version "=$(TRUNK_VERSION)"; fi
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "tools: installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) into $(TOOLS)"; \
	  cargo install --force --root "$(TOOLS)" wasm-bindgen-cli --version "=$(WASM_BINDGEN_VERSION)"; fi
	@if [ "$$(wasm-opt --version 2>/dev/null | awk '{print $$3}')" != "$(word 1,$(subst ., ,$(BINARYEN_VERSION)))" ]; then \
	  echo "tools: installing npm binaryen@$(BINARYEN_VERSION) (wasm-opt) into $(TOOLS)/npm"; \
	  npm install --no-audit --no-fund --silent --prefix "$(TOOLS)/npm" "binaryen@$(BINARYEN_VERSION)"; fi
	@echo "tools: $$(trunk --version), $$(wasm-bindgen --version), wasm-opt $$(wasm-opt --version | awk '{print $$3}')"

browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "browser: installing Debian chromium + chromium-driver"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; fi
	@if [ ! -d tests/e2e/node_modules/playwright-core ] || ! (cd tests/e2e && npm ls --silent >/dev/null 2>&1); then \
	  echo "browser: installing the e2e suite's npm packages (no browser download)"; \
	  (cd tests/e2e && npm ci --no-audit --no-fund --silent); fi

serve: tools
	cargo fetch --locked
	trunk serve --release --address 127.0.0.1 --port $(PORT)

dist: tools
	cargo fetch --locked
	trunk build --release

## `make test`: every tier, stopping at the first failure, ending with one summary line.
test: tools browser
	@bash tests/run-all.sh

bench:
	cargo bench --bench engine

## The compound-fault run (tests/scenarios/compound.rs) over many more seeds than `make test`.
SOAK_SEEDS ?= 2000
soak:
	@time SOAK_SEEDS=$(SOAK_SEEDS) cargo test --release --locked --test engine compound -- --nocapture 2>&1 \
	  | grep -E '^compound faults|^test result|FAILED|seed [0-9]+:'

## One seed of the compound-fault run, its faults and events printed (SEED=n).
soak-seed:
	DEBUG_SEED=$(SEED) cargo test --release --locked --test engine compound_run_is_deterministic -- --nocapture

## First render against a bare Leptos page built the same way (target/e2e/fcp.json).
bench-fcp: tools browser dist
	cd benches/bare && trunk build --release
	cd tests/e2e && npx --no-install playwright test --grep fcp

clean-tools:
	rm -rf "$(TOOLS)"
