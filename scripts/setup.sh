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

packages=(build-essential cmake pkg-config libuv1-dev nlohmann-json3-dev)
case "${SUBCELL_WITH:-}" in
  # neovim: the plugin's tests; ipykernel and jupyter_client: the peer the
  # benchmark's short mode runs against.
  *tests*) packages+=(catch2 libvalijson-dev neovim python3-ipykernel python3-jupyter-client) ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The editor tests need node and npm (the VS Code extension is built with
# npm ci from its lock file); Debian's own are used when none is installed.
case "${SUBCELL_WITH:-}" in
  *tests*)
    if ! command -v npm >/dev/null 2>&1; then
      sudo=""
      [ "$(id -u)" = 0 ] || sudo="sudo"
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    ;;
esac

tests=OFF
case "${SUBCELL_WITH:-}" in *tests*) tests=ON ;; esac
# shellcheck disable=SC2086
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSUBCELL_TESTS=$tests ${SUBCELL_CMAKE_ARGS:-} >/dev/null
cmake --build build -j2
