#!/usr/bin/env bash
# Every test tier, in order, stopping at the first failure. Called by `make test`
# (which installs the tools first). Ends with one plain summary line.
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=target/test-logs
mkdir -p "$log_dir" target/e2e
passed=0
started=$(date +%s)

# Adds the "N passed" counts a runner printed to the total.
count() {
  local n
  n=$(grep -aoE '(test result: (ok|FAILED)\. )?[0-9]+ passed' "$1" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + n))
}

step() {
  local name=$1; shift
  local log="$log_dir/$name.log"
  local t0=$(date +%s)
  echo "==> $name: $*"
  if "$@" 2>&1 | tee "$log"; then
    count "$log"
    echo "<== $name ok ($(( $(date +%s) - t0 ))s)"
  else
    count "$log"
    echo "<== $name FAILED ($(( $(date +%s) - t0 ))s); see $log"
    echo "make test: $passed passed, 1 failed"
    exit 1
  fi
}

step fmt cargo fmt --check
step clippy cargo clippy --all-targets --locked -- -D warnings
step clippy-wasm cargo clippy --all-targets --locked --target wasm32-unknown-unknown -- -D warnings
step native cargo test --locked
step browser cargo test --locked --target wasm32-unknown-unknown --test web
step dist trunk build --release
step e2e bash -c 'cd tests/e2e && npx --no-install playwright test'

echo "all tiers passed in $(( $(date +%s) - started ))s"
echo "make test: $passed passed, 0 failed"
