#!/usr/bin/env bash
# The test suite built with AddressSanitizer + UndefinedBehaviorSanitizer (no real CUDA), so
# memory errors, leaks and undefined behaviour fail the tests instead of passing silently.
#   bash tools/run-sanitized-tests.sh [meson test args]           the whole suite, CUDA simulator
#       included, in build-asan (slow: over an hour of build on 2 cores; run it by hand)
#   bash tools/run-sanitized-tests.sh --subset [meson test args]  suite 'sanitize' only (parsers,
#       bad-input corpus, fuzz harnesses, CLI refusals, tensor/autograd, a tiny train + resume),
#       no simulator, in build-sanitize: the stage tools/run-tests.sh runs after the main suite
# Times on a 2-core machine: docs/reliability.md.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
subset=0
if [ "${1:-}" = "--subset" ]; then subset=1; shift; fi
start=$(date +%s)
# debugoptimized: -O2 keeps the training tests' run time reasonable under the sanitizers.
common=(-Dcuda=disabled -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
        -Dfuzz_test_seconds=5)
if [ $subset = 1 ]; then
  build_dir="${DCODR_SANITIZE_BUILD_DIR:-build-sanitize}"
  setup=("${common[@]}" -Dgpu_simulator=false)
  targets=(sanitize-tests)
  suite=(--suite sanitize)
  name="sanitized stage"
else
  build_dir="${DCODR_ASAN_BUILD_DIR:-build-asan}"
  setup=("${common[@]}")
  targets=()
  suite=()
  name="sanitized tests"
fi
if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" "${setup[@]}" || exit 1
fi
ninja -C "$build_dir" "${targets[@]}" || exit 1
built=$(date +%s)
# Any report fails the test that triggered it: UBSan stops at the first finding, ASan checks
# leaks at exit and string/initialisation-order bugs too.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1:detect_odr_violation=2"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:suppressions=$PWD/tools/ubsan.supp"
log=$(mktemp)
# --no-rebuild: `meson test` would otherwise build every target, not just the subset's.
DCODR_THREADS="${DCODR_THREADS:-2}" meson test -C "$build_dir" --no-rebuild --print-errorlogs --num-processes 1 \
  --timeout-multiplier 4 "${suite[@]}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
end=$(date +%s)
source tools/test-summary.sh
echo "$name: $(test_counts "$log") (build $((built - start)) s, tests $((end - built)) s)"
rm -f "$log"
exit "$status"
