#!/usr/bin/env bash
# The second test command: the whole test suite built with AddressSanitizer + UndefinedBehavior
# Sanitizer (CUDA simulator included, no real CUDA), in its own folder (build-asan), so memory
# errors, leaks and undefined behaviour fail the tests instead of passing silently. CI runs it
# after tools/run-tests.sh (.ci/run). Times on a 2-core machine: docs/reliability.md.
# Arguments are passed to `meson test` (e.g. a test name).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir="${DCODR_ASAN_BUILD_DIR:-build-asan}"
start=$(date +%s)
if [ ! -f "$build_dir/build.ninja" ]; then
  # debugoptimized: -O2 keeps the training tests' run time reasonable under the sanitizers.
  meson setup "$build_dir" -Dcuda=disabled -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Dfuzz_test_seconds=5 || exit 1
fi
ninja -C "$build_dir" || exit 1
built=$(date +%s)
# Any report fails the test that triggered it: UBSan stops at the first finding, ASan checks
# leaks at exit and string/initialisation-order bugs too.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1:detect_odr_violation=2"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:suppressions=$PWD/tools/ubsan.supp"
log=$(mktemp)
DCODR_THREADS="${DCODR_THREADS:-2}" meson test -C "$build_dir" --print-errorlogs --num-processes 1 \
  --timeout-multiplier 4 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
end=$(date +%s)
source tools/test-summary.sh
echo "sanitized tests: $(test_counts "$log") (build $((built - start)) s, tests $((end - built)) s)"
rm -f "$log"
exit "$status"
