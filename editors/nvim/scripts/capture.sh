#!/usr/bin/env bash
# Re-makes the terminal capture in README.md: runs Neovim with this plugin in
# a detached 120x40 tmux session on examples/tour.py, runs every cell, and
# captures the screen at the first cells, at the error, and with the
# :SubcellOutput window open on the error.
#   SUBCELL_BINARY  the server (default: this repository's build/src/subcell)
#   scripts/capture.sh            print the screens
#   scripts/capture.sh --readme   also replace the capture block in README.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$here/../.." && pwd)"
tour="$repo/examples/tour.py"
export SUBCELL_BINARY="${SUBCELL_BINARY:-$repo/build/src/subcell}"
command -v tmux >/dev/null || { echo "capture.sh: tmux is required" >&2; exit 2; }
command -v nvim >/dev/null || { echo "capture.sh: nvim is required" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/subcell-capture.XXXXXX")"
session="subcell-capture-$$"
cleanup() { tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for d in config data state cache; do mkdir -p "$work/$d"; done

# A minimal config: this plugin, line numbers, a sign column, and a file
# written once every cell has finished so we never sleep for a fixed time.
cat >"$work/init.lua" <<LUA
vim.opt.rtp:prepend('$here')
vim.cmd('runtime! plugin/subcell.lua')
vim.cmd('syntax on | filetype plugin on')
vim.o.number = true
vim.o.signcolumn = 'yes'
vim.o.laststatus = 2
vim.o.shortmess = vim.o.shortmess .. 'I'
require('subcell').setup({ cmd = '$SUBCELL_BINARY' })
local timer = vim.loop.new_timer()
timer:start(100, 100, vim.schedule_wrap(function()
  local runs = require('subcell.state').runs
  if next(runs) == nil then return end
  for _, run in pairs(runs) do
    if run.state == 'queued' or run.state == 'running' then return end
  end
  timer:stop()
  vim.fn.writefile({ 'done' }, '$work/done')
end))
LUA

wait_for() { # wait_for DESCRIPTION COMMAND...: poll until COMMAND succeeds (30 s)
  local what="$1"; shift
  for _ in $(seq 300); do "$@" && return 0; sleep 0.1; done
  echo "capture.sh: timed out waiting for $what" >&2; exit 1
}
screen() { tmux capture-pane -p -t "$session"; }
shows() { screen | grep -qF -- "$1"; }

cd "$repo"
tmux new-session -d -s "$session" -x 120 -y 40 \
  "env XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache nvim -i NONE -n -u $work/init.lua examples/tour.py"
wait_for "Neovim to start" shows "tour.py"
tmux send-keys -t "$session" ":SubcellRunAll" Enter
wait_for "every cell to finish" test -f "$work/done"
tmux send-keys -t "$session" "gg" ""
tmux send-keys -t "$session" ":echo" Enter # clear the command line
wait_for "the first screen" shows "step 3 of 3"
top="$(screen)"
tmux send-keys -t "$session" "/^average(\\[\\])" Enter "zz" ":echo" Enter
wait_for "the error screen" shows "ZeroDivisionError: division by zero"
err="$(screen)"
tmux send-keys -t "$session" ":SubcellOutput" Enter
wait_for "the output window" shows "Traceback (most recent call last)"
view="$(screen)"

block="$(printf '%s\n' '```text' "$top" '```' '' 'Further down, at the error and the reset:' '' '```text' "$err" '```' '' \
  '`:SubcellOutput` on the failing cell opens its full output and traceback:' '' '```text' "$view" '```')"
printf '%s\n' "$block"

if [ "${1:-}" = "--readme" ]; then
  readme="$here/README.md"
  printf '%s\n' "$block" >"$work/block"
  awk -v blockfile="$work/block" '
    /<!-- capture:start -->/ { print; while ((getline line < blockfile) > 0) print line; skip = 1; next }
    /<!-- capture:end -->/ { skip = 0 }
    !skip { print }
  ' "$readme" >"$work/readme" && cp "$work/readme" "$readme"
  echo "capture.sh: updated $readme" >&2
fi
