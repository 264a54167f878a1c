#!/usr/bin/env bash
# The screen as a person sees it: Neovim in a 100x30 tmux pane (a private
# tmux server), a file taller than the window, :SubcellRun on its last cell
# with the cursor on the last line. The output under the last line must be
# on screen, not cut off at the window's bottom. Prints "ok - ..." or
# "FAIL - ..." and "RESULT <passed> <failed>" like tests/run.lua.
#   SUBCELL_BINARY  the server (test.sh sets it)
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="output under the last line of a full window is on screen (tmux)"
if [ -n "${SUBCELL_ONLY:-}" ] && [ "${name#*"$SUBCELL_ONLY"}" = "$name" ]; then
  echo "RESULT 0 0" # not selected by SUBCELL_ONLY
  exit 0
fi
if ! command -v tmux >/dev/null 2>&1; then
  echo "skip - $name: tmux is not installed"
  echo "RESULT 0 0"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/subcell-screen.XXXXXX")"
sock="$work/tmux.sock" # a private tmux server, its socket removed with $work
cleanup() { tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for d in config data state cache; do mkdir -p "$work/$d"; done

{
  echo '# %% filler'
  for i in $(seq 1 40); do echo "v$i = $i"; done
  printf '%s\n' '' '# %% last' 'for i in range(8):' '    print("row", i)'
} >"$work/last.py"
cat >"$work/init.lua" <<LUA
vim.opt.rtp:prepend('$here')
vim.cmd('runtime! plugin/subcell.lua')
vim.o.number = true
vim.o.laststatus = 2
vim.o.shortmess = vim.o.shortmess .. 'I'
require('subcell').setup({ cmd = '${SUBCELL_BINARY:-subcell}' })
LUA

screen() { tmux -S "$sock" capture-pane -p -t screen; }
wait_for() { # wait_for TEXT: poll the screen for TEXT for at most 15 s
  for _ in $(seq 150); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
  return 1
}

tmux -S "$sock" new-session -d -s screen -x 100 -y 30 \
  "env XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache nvim -i NONE -n -u $work/init.lua $work/last.py"
if ! wait_for "last.py"; then
  echo "FAIL - $name: Neovim did not start"; screen; echo "RESULT 0 1"; exit 1
fi
tmux -S "$sock" send-keys -t screen "G" ":SubcellRun" Enter
if wait_for "└ [1]" && screen | grep -qF "│ row 7" && screen | grep -qF "# %% last"; then
  echo "ok   - $name"
  echo "RESULT 1 0"
else
  echo "FAIL - $name; the screen:"
  screen | sed 's/^/    /'
  echo "RESULT 0 1"
  exit 1
fi
