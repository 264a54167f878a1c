#!/usr/bin/env bash
# Sets subcell up and runs the built-in example, examples/tour.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/src/subcell run --allow-errors examples/tour.py
