#!/usr/bin/env bash
# A newcomer's plain `cmake -S . -B build` on a machine without Catch2 (and
# valijson) must configure: the tests are skipped, not a configure error.
# Catch2 is hidden with CMAKE_DISABLE_FIND_PACKAGE_*, as if not installed.
set -euo pipefail
src="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
log="$dir/configure.log"
if ! cmake -S "$src" -B "$dir/build" -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON >"$log" 2>&1; then
  cat "$log"
  echo "FAIL: configuring without Catch2 failed"
  exit 1
fi
grep -q "subcell: tests not built" "$log" || { cat "$log"; echo "FAIL: no note that the tests were skipped"; exit 1; }
[ ! -f "$dir/build/CTestTestfile.cmake" ] || { echo "FAIL: tests were configured without Catch2"; exit 1; }
# Asked for explicitly, missing Catch2 is an error that says so.
if cmake -S "$src" -B "$dir/build2" -DSUBCELL_TESTS=ON -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON >"$log" 2>&1; then
  echo "FAIL: -DSUBCELL_TESTS=ON configured without Catch2"
  exit 1
fi
grep -q "Catch2" "$log" || { cat "$log"; echo "FAIL: the error does not name Catch2"; exit 1; }
echo "ok: without Catch2 the plain configure succeeds and skips the tests; SUBCELL_TESTS=ON fails naming Catch2"
