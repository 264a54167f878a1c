#!/usr/bin/env bash
# Builds subcell with clang's AddressSanitizer, LeakSanitizer and UBSan in
# ./build-sanitize and runs the unit, in-process Python and end-to-end
# tests with it. Any sanitizer report from the tests or from any server
# process they start (leaks in subcell's own code included; CPython's own
# leaks are suppressed, see tests/sanitize/lsan.supp) fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

. scripts/lib.sh
install_missing clang libclang-rt-14-dev

# Workers for other Pythons are left out (the tests that need them are
# tagged [nosan]), so the sanitized engine is built once.
CC=clang CXX=clang++ cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DSUBCELL_SANITIZE=ON -DSUBCELL_FUZZ=ON \
  -DSUBCELL_WORKER_PYTHONS=none \
  ${SUBCELL_CMAKE_ARGS:-} >/dev/null
cmake --build build-sanitize -j2 --target subcell unit_tests python_tests e2e_tests fuzz_frames

reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
export LSAN_OPTIONS="suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0"
# allocator_may_return_null: a cell asking for 2**62 bytes must get a
# MemoryError, as without the sanitizer.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:log_path=$reports/report"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$reports/report"

status=0
for t in unit_tests python_tests "e2e_tests ~[nosan]"; do
  echo "sanitize: $t"
  # shellcheck disable=SC2086
  build-sanitize/tests/$t || status=1
done
# The frame decoder and envelope parser against random bytes, for a while.
echo "sanitize: fuzz_frames (${SUBCELL_FUZZ_SECONDS:-30} s)"
if build-sanitize/tests/fuzz_frames -max_total_time="${SUBCELL_FUZZ_SECONDS:-30}" -rss_limit_mb=1024 \
    -print_final_stats=1 >"$reports/fuzz.log" 2>&1; then
  grep -E "^(Done|stat::number_of_executed_units)" "$reports/fuzz.log" || true
else
  echo "sanitize: the fuzzer found a failure:"
  tail -60 "$reports/fuzz.log"
  status=1
fi

# A warning for the deliberately huge allocation is expected; anything
# else is a finding.
findings=$(grep -L "WARNING: AddressSanitizer failed to allocate" "$reports"/report.* 2>/dev/null || true)
if [ -n "$findings" ]; then
  echo "sanitize: reports found:"
  for f in $findings; do cat "$f"; done
  status=1
fi
if [ "$status" = 0 ]; then echo "sanitize: 3 suites and the fuzzer passed, no sanitizer reports"; fi
exit $status
