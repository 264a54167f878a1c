#!/usr/bin/env bash
# The benchmark against Jupyter kernels: installs what is missing (Debian's
# ipykernel and jupyter_client, the build dependencies), builds subcell and
# the benchmark client, and prints the side-by-side table.
#
#   scripts/bench.sh               the full benchmark (a few minutes)
#   scripts/bench.sh --quick       few repetitions, small N (what CI runs, < 1 min)
#   scripts/bench.sh --out FILE    where the JSON goes (default: <build>/bench-results.json)
#
# Other options go to tests/bench/bench.py (--only SECTIONS, --no-kernel, ...).
# The build directory is ./build (SUBCELL_BUILD_DIR=... for another); a new
# one is configured as Release, an existing one keeps its configuration.
# Run it on an otherwise idle machine: the figures share the CPUs with
# whatever else runs (the output says how much other work there was).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build="${SUBCELL_BUILD_DIR:-build}"

# The build needs what scripts/setup.sh installs with SUBCELL_WITH=tests
# (the benchmark client lives under tests/); the kernel side needs Debian's
# ipykernel and jupyter_client (no PyPI), which run on Debian's python3.
packages=(build-essential cmake pkg-config libuv1-dev nlohmann-json3-dev catch2 libvalijson-dev
          python3-ipykernel python3-jupyter-client)
install_missing "${packages[@]}"

if [ ! -f "$build/CMakeCache.txt" ]; then
  # shellcheck disable=SC2086
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSUBCELL_TESTS=ON ${SUBCELL_CMAKE_ARGS:-} >/dev/null
else
  cmake -S . -B "$build" -DSUBCELL_TESTS=ON >/dev/null
fi
cmake --build "$build" -j2 --target subcell subcell_bench

args=("$@")
has_out=0
for a in "${args[@]}"; do [ "$a" = "--out" ] && has_out=1; done
((has_out)) || args+=(--out "$build/bench-results.json")

exec /usr/bin/python3 tests/bench/bench.py \
  --subcell "$build/src/subcell" \
  --client "$build/tests/bench/subcell_bench" \
  "${args[@]}"
