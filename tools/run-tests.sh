#!/usr/bin/env bash
# The one test command: set up (packages, configure, build), then run every test; then the
# sanitized stage: the tests of everything that reads untrusted input (parsers, bad-input corpus,
# fuzz harnesses, the CLI's refusals), the tensor/autograd core and a tiny train + resume, built
# with AddressSanitizer + UBSan in ./build-sanitize (tools/run-sanitized-tests.sh --subset;
# docs/reliability.md has its times: 781 s build + 74 s tests on an idle 2-core machine).
# DCODR_SKIP_SANITIZED=1 skips that stage (quick local runs).
# CUDA tests report SKIP where no GPU is present. Arguments are passed to the main suite's
# `meson test` (e.g. a test name); the sanitized stage always runs its whole suite.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh || exit 1
build_dir="${DCODR_BUILD_DIR:-build}"
log=$(mktemp)
DCODR_THREADS="${DCODR_THREADS:-2}" meson test -C "$build_dir" --print-errorlogs --num-processes 1 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
source tools/test-summary.sh
summary="tests: $(test_counts "$log")"
rm -f "$log"
if [ "${DCODR_SKIP_SANITIZED:-0}" = 1 ]; then
  summary="$summary; sanitized stage skipped (DCODR_SKIP_SANITIZED=1)"
else
  stage_log=$(mktemp)
  bash tools/run-sanitized-tests.sh --subset 2>&1 | tee "$stage_log"
  stage_status=${PIPESTATUS[0]}
  summary="$summary; $(grep '^sanitized stage:' "$stage_log" | tail -n 1 || echo 'sanitized stage: did not build')"
  rm -f "$stage_log"
  [ "$stage_status" -eq 0 ] || status=1
fi
echo "$summary"
exit "$status"
