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
source tools/test-summary.sh
echo "tests: $(test_counts "$log")"
rm -f "$log"
exit "$status"
