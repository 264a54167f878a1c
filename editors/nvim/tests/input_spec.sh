#!/usr/bin/env bash
# The screen while a cell waits for input: Neovim in a 100x30 tmux pane (a
# private tmux server) runs a cell that prints, then stops at breakpoint().
# pdb's prompt must be on the command line with the cell's output drawn
# above it, each answer must show up in the output while the next prompt is
# open, and `c` must let the cell finish. Then a cell whose thread prints
# while input() waits: the ticks must appear above the open prompt (the
# command line does not redraw windows by itself). Prints "ok - ..." or
# "FAIL - ..." and "RESULT <passed> <failed>" like tests/run.lua.
#   SUBCELL_BINARY  the server (test.sh sets it)
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="input prompts (pdb, input()) on the command line with the output drawn above, also while it streams (tmux)"
if [ -n "${SUBCELL_ONLY:-}" ] && [ "${name#*"$SUBCELL_ONLY"}" = "$name" ]; then
  echo "RESULT 0 0" # not selected by SUBCELL_ONLY
  exit 0
fi
if ! command -v tmux >/dev/null 2>&1; then
  echo "skip - $name: tmux is not installed"
  echo "RESULT 0 0 1"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/subcell-input.XXXXXX")"
sock="$work/tmux.sock" # a private tmux server, its socket removed with $work
cleanup() { tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for d in config data state cache; do mkdir -p "$work/$d"; done

printf '%s\n' '# %% debug' 'x = 5' 'print("before the breakpoint")' 'breakpoint()' 'print("x is", x)' \
  '# %% ticks' 'import threading, time' 'def tick():' '    for i in range(3):' '        time.sleep(0.3)' '        print("tick", i)' \
  'threading.Thread(target=tick).start()' 'input("wait> ")' >"$work/debug.py"
cat >"$work/init.lua" <<LUA
vim.opt.rtp:prepend('$here')
vim.cmd('runtime! plugin/subcell.lua')
vim.o.number = true
vim.o.laststatus = 2
vim.o.shortmess = vim.o.shortmess .. 'I'
require('subcell').setup({ cmd = '${SUBCELL_BINARY:-subcell}' })
LUA

screen() { tmux -S "$sock" capture-pane -p -t screen; }
wait_for() { # wait_for TEXT...: poll the screen until it shows every TEXT, at most 15 s
  for _ in $(seq 150); do
    local all=1
    for text in "$@"; do screen | grep -qF -- "$text" || all=0; done
    [ "$all" = 1 ] && return 0
    sleep 0.1
  done
  return 1
}
fail() {
  echo "FAIL - $name: $1; the screen:"
  screen | sed 's/^/    /'
  echo "RESULT 0 1"
  exit 1
}

tmux -S "$sock" new-session -d -s screen -x 100 -y 30 \
  "env XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache nvim -i NONE -n -u $work/init.lua $work/debug.py"
wait_for "debug.py" || fail "Neovim did not start"
tmux -S "$sock" send-keys -t screen ":SubcellRun" Enter
wait_for "│ before the breakpoint" "waiting for input on the command line" || fail "no output above the prompt"
[ "$(screen | tail -n1 | cut -c1-5)" = "(Pdb)" ] || fail "pdb's prompt is not on the command line"
tmux -S "$sock" send-keys -t screen "p x" Enter
wait_for "│ (Pdb) p x" "│ 5" || fail "the answer and what pdb printed are not drawn while the next prompt is open"
[ "$(screen | tail -n1 | cut -c1-5)" = "(Pdb)" ] || fail "no second prompt"
tmux -S "$sock" send-keys -t screen "c" Enter
wait_for "│ x is 5" "└ [1]" || fail "the cell did not finish after c"
tmux -S "$sock" send-keys -t screen "G" ":SubcellRun" Enter
wait_for "wait>" || fail "no input() prompt"
wait_for "│ tick 2" || fail "output written while the prompt is open is not drawn"
[ "$(screen | tail -n1 | cut -c1-5)" = "wait>" ] || fail "the prompt closed before it was answered"
tmux -S "$sock" send-keys -t screen "done" Enter
wait_for "│ wait> done" "└ [2]" || fail "the cell did not finish after the answer"
echo "ok   - $name"
echo "RESULT 1 0"
