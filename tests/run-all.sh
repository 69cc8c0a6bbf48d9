#!/usr/bin/env bash
# Every test tier, in order, stopping at the first failure. Called by `make test`
# (which installs the tools first). Ends with one plain summary line.
#
# Only the runners' own summary lines are counted (libtest's "test result:" line,
# Playwright's final "N passed (…)"), and a tier fails if any test was ignored, skipped,
# filtered out, flaky or did not run: a green run means every test ran and passed.
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=target/test-logs
mkdir -p "$log_dir" target/e2e
passed=0
started=$(date +%s)

fail() {
  echo "<== $1"
  echo "make test: $passed passed, 1 failed"
  exit 1
}

# libtest and wasm-bindgen-test: "test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"
count_libtest() {
  local log=$1 line n
  local found=0
  while IFS= read -r line; do
    found=1
    n=$(sed -nE 's/.* ([0-9]+) passed;.*/\1/p' <<<"$line")
    passed=$((passed + ${n:-0}))
    for what in ignored "filtered out"; do
      local k
      k=$(sed -nE "s/.* ([0-9]+) $what.*/\1/p" <<<"$line")
      if [ "${k:-0}" != 0 ]; then
        fail "$(basename "$log" .log): $k tests $what (every test must run): $line"
      fi
    done
  done < <(grep -aE '^test result: ' "$log")
  [ $found = 1 ] || fail "$(basename "$log" .log): no test summary line found"
}

# Playwright's list reporter: "  15 passed (41.2s)", plus "N skipped" / "N flaky" / "N did not run".
count_playwright() {
  local log=$1 n bad
  n=$(grep -aE '^\s+[0-9]+ passed \(' "$log" | tail -1 | grep -oE '[0-9]+' | head -1)
  [ -n "$n" ] || fail "$(basename "$log" .log): no Playwright summary line found"
  bad=$(grep -aE '^\s+[0-9]+ (skipped|flaky|did not run|interrupted)' "$log" || true)
  [ -z "$bad" ] || fail "$(basename "$log" .log): not every test ran cleanly: $bad"
  passed=$((passed + n))
}

# step NAME COUNTER COMMAND...: runs one tier; COUNTER is libtest, playwright or none.
step() {
  local name=$1 counter=$2; shift 2
  local log="$log_dir/$name.log"
  local t0
  t0=$(date +%s)
  echo "==> $name: $*"
  if "$@" 2>&1 | tee "$log"; then
    case $counter in
      libtest) count_libtest "$log" ;;
      playwright) count_playwright "$log" ;;
    esac
    echo "<== $name ok ($(( $(date +%s) - t0 ))s)"
  else
    fail "$name FAILED ($(( $(date +%s) - t0 ))s); see $log"
  fi
}

step fmt none cargo fmt --check
step clippy none cargo clippy --all-targets --locked -- -D warnings
step clippy-wasm none cargo clippy --all-targets --locked --target wasm32-unknown-unknown -- -D warnings
step native libtest cargo test --locked
# Random play: a few hundred runs of allowed actions per challenge, in release; prints each
# challenge's solved share (reported in src/lab/README.md) and fails above the bound.
step random-play none cargo test --release --locked --test engine random_play_rarely -- --nocapture
step browser libtest cargo test --locked --target wasm32-unknown-unknown --test web
step dist none trunk build --release
step e2e playwright bash -c 'cd tests/e2e && npx --no-install playwright test --grep-invert @benchmark'
# The frame benchmark is a measurement, reported apart (target/e2e/frames.json), not a test.
step frames none bash -c 'cd tests/e2e && npx --no-install playwright test --grep @benchmark'

echo "all tiers passed in $(( $(date +%s) - started ))s"
echo "make test: $passed passed, 0 failed"
