#!/usr/bin/env bash
# `subcell run` end to end: the real binary on the fixtures of this folder
# (a `# %%` file, notebooks), notebooks it writes validated against the
# nbformat 4 schema. Installs Debian's python3-nbformat when it is missing
# (as root, or through sudo).
#   SUBCELL_BINARY  the binary (default: this repository's build/src/subcell)
# Exit status: 0 passed (some tests may be skipped, each saying why), 1 failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export SUBCELL_BINARY="${SUBCELL_BINARY:-$repo/build/src/subcell}"
python=/usr/bin/python3

if [ ! -x "$SUBCELL_BINARY" ]; then
  echo "test.sh: subcell binary not found or not executable: $SUBCELL_BINARY (set SUBCELL_BINARY)" >&2
  exit 2
fi

if ! "$python" -c 'import nbformat' >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "test.sh: python3-nbformat is missing (needs root to install)" >&2; exit 2; }
    sudo="sudo"
  fi
  echo "test.sh: installing python3-nbformat" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-nbformat >/dev/null
fi

exec "$python" "$here/test_run.py" -v
