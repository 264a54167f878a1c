#!/usr/bin/env bash
# Installs what subcell needs from Debian's packages (only what is missing),
# then configures and builds it in ./build.
#
#   scripts/setup.sh            build dependencies + build
#   SUBCELL_WITH=tests ...      also what the tests need
#
# CPython >= 3.12 with a shared libpython is found by CMake (pyenv's newest,
# else python3.N-config); point it elsewhere with
#   SUBCELL_CMAKE_ARGS=-DPython3_ROOT_DIR=/path/to/prefix scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

packages=(build-essential cmake pkg-config libuv1-dev nlohmann-json3-dev)
tests=AUTO
case "${SUBCELL_WITH:-}" in
  *tests*)
    tests=ON
    # catch2 and valijson: the C++ tests; neovim: the plugin's tests;
    # ipykernel and jupyter_client: the peer the benchmark's short mode
    # runs against; node and npm (Debian's, when none is installed): the
    # VS Code extension, built with npm ci from its lock file.
    packages+=(catch2 libvalijson-dev neovim python3-ipykernel python3-jupyter-client)
    # Python environments: Debian's own CPython 3.11 with the scientific
    # stack, for process sessions on another Python (its headers and
    # libpython build subcell's worker for 3.11); nbformat validates the
    # notebooks `subcell run` writes.
    packages+=(python3-dev python3-numpy python3-pandas python3-matplotlib python3-nbformat)
    command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
    ;;
esac
install_missing "${packages[@]}"

# shellcheck disable=SC2086
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSUBCELL_TESTS=$tests ${SUBCELL_CMAKE_ARGS:-} >/dev/null
cmake --build build -j2
