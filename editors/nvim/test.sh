#!/usr/bin/env bash
# Runs the headless Neovim suite against a real subcell server.
#   SUBCELL_BINARY  the server (default: this repository's build/src/subcell)
#   SUBCELL_ONLY    run only tests whose name contains this text
#   ./test.sh [spec...]   e.g. ./test.sh tests/run_spec.lua
# Each tests/*_spec.lua runs in its own headless Neovim; each tests/*_spec.sh
# is a script (tmux screen checks) that prints the same RESULT line.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export SUBCELL_BINARY="${SUBCELL_BINARY:-$(cd "$(dirname "$0")/../.." && pwd)/build/src/subcell}"

if ! command -v nvim >/dev/null 2>&1; then
  echo "test.sh: nvim not found; install Neovim 0.7.2 or later (Debian: apt-get install neovim)" >&2
  exit 2
fi
if [ ! -x "$SUBCELL_BINARY" ]; then
  echo "test.sh: subcell binary not found or not executable: $SUBCELL_BINARY (set SUBCELL_BINARY)" >&2
  exit 2
fi

# Isolation: the user's config, plugins, shada and logs never leak in.
env_dir="$(mktemp -d "${TMPDIR:-/tmp}/subcell-nvim-test.XXXXXX")"
trap 'rm -rf "$env_dir"' EXIT
for d in config data state cache runtime; do mkdir -p "$env_dir/$d"; done
# The Python of new sessions comes from these when set; tests set their own.
unset VIRTUAL_ENV CONDA_PREFIX
export XDG_CONFIG_HOME="$env_dir/config" XDG_DATA_HOME="$env_dir/data" \
  XDG_STATE_HOME="$env_dir/state" XDG_CACHE_HOME="$env_dir/cache" XDG_RUNTIME_DIR="$env_dir/runtime"

if [ "$#" -gt 0 ]; then specs=("$@"); else specs=("$here"/tests/*_spec.lua "$here"/tests/*_spec.sh); fi

echo "nvim: $(nvim --version | head -n1); server: $SUBCELL_BINARY"
passed=0 failed=0 skipped=0
for spec in "${specs[@]}"; do
  echo "== $(basename "$spec")"
  log="$env_dir/$(basename "$spec").log"
  if [ "${spec%.sh}" != "$spec" ]; then # a screen test driving a real terminal (tmux)
    timeout 300 bash "$spec" >"$log" 2>&1
  else
    SUBCELL_SPEC="$spec" timeout 300 nvim --headless -u NONE -i NONE -n \
      -c "luafile $here/tests/run.lua" >"$log" 2>&1
  fi
  status=$?
  grep -v -e '^RESULT ' -e '^$' "$log"
  result="$(grep '^RESULT ' "$log" | tail -n1)"
  if [ -z "$result" ]; then
    echo "FAIL - $(basename "$spec") did not finish (exit status $status)"
    failed=$((failed + 1))
    continue
  fi
  read -r _ p f s <<<"$result"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
