#!/usr/bin/env bash
# A third client library against the real server: Emacs's built-in
# jsonrpc.el (Eglot's transport) in batch mode. Installs Debian's emacs-nox
# when emacs is missing (as root, or through sudo), then runs
# subcell-jsonrpc-test.el, which ends with a "N passed, N failed" line.
#   SUBCELL_BINARY  the server (default: this repository's build/src/subcell)
# Exit status: 0 passed, 1 failed, 2 emacs or the binary missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
export SUBCELL_BINARY="${SUBCELL_BINARY:-$repo/build/src/subcell}"

if [ ! -x "$SUBCELL_BINARY" ]; then
  echo "test.sh: subcell binary not found or not executable: $SUBCELL_BINARY (set SUBCELL_BINARY)" >&2
  exit 2
fi

if ! command -v emacs >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "test.sh: emacs is missing; install emacs-nox (needs root)" >&2; exit 2; }
    sudo="sudo"
  fi
  echo "test.sh: installing emacs-nox" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends emacs-nox >/dev/null
fi

# -Q: no init files, site files or packages: only what Emacs ships.
exec timeout 300 emacs --batch -Q -l "$here/subcell-jsonrpc-test.el" -f subcell-test-main
