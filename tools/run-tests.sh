#!/usr/bin/env bash
# The one test command: set up (packages, configure, build), then run every test.
# CUDA tests report SKIP where no GPU is present.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh || exit 1
build_dir="${DCODR_BUILD_DIR:-build}"
log=$(mktemp)
DCODR_THREADS="${DCODR_THREADS:-2}" meson test -C "$build_dir" --print-errorlogs --num-processes 1 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# A plain summary line that any CI reader understands.
ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -1)
fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -1)
skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -1)
timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -1)
rm -f "$log"
echo "tests: ${ok:-0} passed, $(( ${fail:-0} + ${timeout:-0} )) failed, ${skip:-0} skipped"
exit "$status"
