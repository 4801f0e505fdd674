#!/usr/bin/env bash
# Long fuzz runs of every parser, under AddressSanitizer + UBSan (the build-asan folder of
# tools/run-sanitized-tests.sh): the in-tree mutating driver (tests/fuzz/fuzz_driver.cpp) on
# each seed corpus, two parsers at a time, niced. A finding stops that parser's run with the
# sanitizer's report and leaves the input in build-asan/tests/fuzz/fuzz-crash-<parser>.bin.
#   bash tools/fuzz.sh [seconds per parser, default 600] [parser...]
# Parsers: npy npz safetensors json image csv torch. Summary lines: inputs run and time per parser.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy npz safetensors json image csv torch)
build_dir="${DCODR_ASAN_BUILD_DIR:-build-asan}"
if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" -Dcuda=disabled -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Dfuzz_test_seconds=5 || exit 1
fi
ninja -C "$build_dir" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") || exit 1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1"
logs=$(mktemp -d)
status=0
run_one() {
  local t="$1"
  (cd "$build_dir/tests/fuzz" && nice -n 10 "./fuzz_$t" --seconds "$seconds" --seed "$(date +%s)" \
      "$OLDPWD/tests/fuzz/corpus/$t") > "$logs/$t.log" 2>&1
}
i=0
while [ $i -lt ${#targets[@]} ]; do
  pids=()
  for t in "${targets[@]:$i:2}"; do
    run_one "$t" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  i=$((i + 2))
done
for t in "${targets[@]}"; do tail -n 3 "$logs/$t.log"; done
rm -rf "$logs"
exit "$status"
