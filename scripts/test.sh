#!/usr/bin/env bash
# Sets subcell up with everything the tests need, builds, and runs every
# test through ctest. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
SUBCELL_WITH=tests scripts/setup.sh
cd build
ctest -j2 --output-on-failure --timeout 600 "$@"
