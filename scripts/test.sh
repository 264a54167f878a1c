#!/usr/bin/env bash
# Sets subcell up with everything the tests need, builds, and runs every
# test through ctest, then the sanitizer run (ASan/LSan/UBSan build of the
# unit, Python and end-to-end suites). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
SUBCELL_WITH=tests scripts/setup.sh
(cd build && ctest -j2 --output-on-failure --timeout 900 "$@")
scripts/sanitize.sh
