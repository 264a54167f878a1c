#!/usr/bin/env bash
# Checks the VS Code extension end to end:
#   1. npm dependencies (`npm ci`, only when node_modules is missing or stale),
#   2. type-check of every source against @types/vscode (`tsc --noEmit`), then compile,
#   3. the node tests (`node --test`) against the real server,
#      ${SUBCELL_BINARY:-<repository>/build/src/subcell},
#   4. `vsce package` into dist/subcell-<version>.vsix.
# Exits non-zero when any step fails; the last line is "vscode: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

export SUBCELL_BINARY="${SUBCELL_BINARY:-$(cd ../.. && pwd)/build/src/subcell}"
results=.test-results
mkdir -p "$results"
steps_ok=0
steps_failed=0
tests_passed=0
tests_failed=0

step() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    echo "-- $name: ok"
    steps_ok=$((steps_ok + 1))
    return 0
  fi
  echo "-- $name: FAILED"
  steps_failed=$((steps_failed + 1))
  return 1
}

summary() {
  echo
  echo "checks: ${steps_ok} steps ok, ${steps_failed} failed; node tests: ${tests_passed} passed, ${tests_failed} failed"
  echo "vscode: $((tests_passed + steps_ok)) passed, $((tests_failed + steps_failed)) failed"
  [ "$((tests_failed + steps_failed))" -eq 0 ]
  exit $?
}

# npm ci again whenever package-lock.json changed since the last install.
install_dependencies() {
  local stamp=node_modules/.subcell-lock-hash
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "node_modules is up to date with package-lock.json"
    return 0
  fi
  npm ci --no-audit --no-fund && echo "$want" >"$stamp"
}

check_binary() {
  if [ ! -x "$SUBCELL_BINARY" ]; then
    echo "no executable subcell binary at $SUBCELL_BINARY (set SUBCELL_BINARY)"
    return 1
  fi
  "$SUBCELL_BINARY" --version
}

typecheck() { npx tsc -p . --noEmit; }
compile() { rm -rf out && npx tsc -p .; }

run_tests() {
  local tap="$results/tests.tap"
  node --test --test-timeout=120000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    out/test/*.test.js
  local status=$?
  tests_passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -1)
  tests_failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -1)
  tests_passed=${tests_passed:-0}
  tests_failed=${tests_failed:-0}
  # A crash before any test ran still counts as a failure.
  if [ "$status" -ne 0 ] && [ "$tests_failed" -eq 0 ]; then tests_failed=1; fi
  [ "$status" -eq 0 ] && [ "$tests_passed" -gt 0 ]
}

package() {
  local version
  version=$(node -p 'require("./package.json").version')
  rm -rf dist && mkdir -p dist
  npx vsce package --skip-license --allow-missing-repository --no-rewrite-relative-links -o "dist/subcell-${version}.vsix" </dev/null || return 1
  # The runtime pieces must be inside: the compiled entry point and vscode-jsonrpc.
  local listing
  listing=$(npx vsce ls </dev/null) || return 1
  for needed in out/src/extension.js node_modules/vscode-jsonrpc/package.json README.md images/tour.png; do
    if ! grep -qx "$needed" <<<"$listing"; then
      echo "missing from the .vsix: $needed"
      return 1
    fi
  done
  ls -l "dist/subcell-${version}.vsix"
}

step "npm dependencies" install_dependencies || summary
step "subcell binary" check_binary || summary
step "type-check (tsc --noEmit, all sources)" typecheck || summary
step "compile" compile || summary
step "node tests against $SUBCELL_BINARY" run_tests
step "vsce package" package
summary
