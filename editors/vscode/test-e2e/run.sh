#!/usr/bin/env bash
# The VS Code extension in a real VS Code: code-server 4.100 (VS Code 1.100)
# serving the workbench to Debian's Chromium, driven by playwright-core.
#   1. installs what is missing (install-tools.sh: apt + npm only, cached in
#      ${XDG_CACHE_HOME:-~/.cache}/subcell-vscode-e2e),
#   2. packages the extension from the current sources into a fresh .vsix,
#   3. runs suite.test.js (node --test) against ${SUBCELL_BINARY:-<repo>/build/src/subcell},
#      with code-server's folders (user data, extensions, HOME, XDG_*) in a
#      temporary folder: nothing is written to the user's own config.
# A failing step leaves a screenshot and a text dump in the log folder printed
# first; the folder is removed after a run where everything passed.
#
#   run.sh                      the suite
#   run.sh --readme-screenshot  also copy the tour screenshot to ../images/tour.png
#   E2E_STEPS='Restricted|notebook on' run.sh
#                               only the steps whose names match (node --test-name-pattern);
#                               keep the Restricted Mode step, which trusts the folder
#
# The last line is "vscode-e2e: N passed, N failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
extension=$(dirname "$here")
repo=$(cd "$extension/../.." && pwd)
export SUBCELL_BINARY="${SUBCELL_BINARY:-$repo/build/src/subcell}"
readme_screenshot=false
[ "${1:-}" = "--readme-screenshot" ] && readme_screenshot=true

work=$(mktemp -d "${TMPDIR:-/tmp}/subcell-vscode-e2e.XXXXXX")
logs="$work/logs"
mkdir -p "$logs"
echo "vscode-e2e: log folder $logs"
started=$SECONDS

# code-server runs in its own process group (see lib/codeServer.js); node and
# Chromium run in timeout's. Whatever happened, none of them outlives the run.
cleanup() {
  local status=$?
  if [ -f "$work/code-server.pid" ]; then
    kill -KILL -- "-$(cat "$work/code-server.pid")" 2>/dev/null || true
  fi
  if [ "$status" -eq 0 ]; then
    rm -rf "$work"
  else
    rm -rf "$work/extensions" "$work/bin"
    echo "vscode-e2e: kept $work (screenshots and text dumps of failing steps in $logs)"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

summary() {
  echo "vscode-e2e: $1 passed, $2 failed ($((SECONDS - started)) s)"
}

if [ ! -x "$SUBCELL_BINARY" ]; then
  echo "vscode-e2e: no executable subcell binary at $SUBCELL_BINARY (set SUBCELL_BINARY)"
  summary 0 1
  exit 1
fi

echo "== tools (code-server, playwright-core, chromium)"
if ! tools=$("$here/install-tools.sh" 2>"$logs/install-tools.log"); then
  tail -30 "$logs/install-tools.log"
  summary 0 1
  exit 1
fi
echo "$tools"

# The .vsix from the current sources: npm ci when the lock file changed (as
# test.sh does), compile, package.
package() {
  cd "$extension"
  local stamp=node_modules/.subcell-lock-hash want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    npm ci --no-audit --no-fund && echo "$want" >"$stamp"
  fi
  rm -rf out && npx tsc -p . && npx vsce package --skip-license --allow-missing-repository --no-rewrite-relative-links -o "$work/subcell.vsix" </dev/null
}
echo "== package the extension"
if ! (package) >"$logs/package.log" 2>&1; then
  tail -30 "$logs/package.log"
  summary 0 1
  exit 1
fi
ls -l "$work/subcell.vsix"

echo "== the suite (${E2E_TIMEOUT:-600} s at most)"
set +e
E2E_TOOLS="$tools" E2E_WORK="$work" E2E_LOGS="$logs" E2E_VSIX="$work/subcell.vsix" \
  timeout -k 10 "${E2E_TIMEOUT:-600}" node --test ${E2E_STEPS:+--test-name-pattern="$E2E_STEPS"} \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$logs/results.tap" "$here/suite.test.js"
status=$?
set -e
passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$logs/results.tap" | tail -1)
failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$logs/results.tap" | tail -1)
passed=${passed:-0}
failed=${failed:-0}
[ "$status" -eq 124 ] && echo "vscode-e2e: the suite did not finish within ${E2E_TIMEOUT:-600} s"
# A crash or a timeout before any test failed still counts as a failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi

if [ "$status" -eq 0 ] && $readme_screenshot; then
  mkdir -p "$extension/images"
  cp "$logs/tour.png" "$extension/images/tour.png"
  echo "vscode-e2e: wrote $extension/images/tour.png"
fi
summary "$passed" "$failed"
[ "$status" -eq 0 ] && [ "$passed" -gt 0 ]
