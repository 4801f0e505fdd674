#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser with libFuzzer (clang, Debian's clang-14 and
# libclang-rt-14-dev), under AddressSanitizer + UBSan: the harnesses of tests/fuzz built with
# -Dlibfuzzer=true in build-libfuzzer (the whole library instrumented for coverage). Each parser
# starts from its seed corpus (tests/fuzz/corpus/<parser>) and grows a working corpus in
# build-libfuzzer/corpus/<parser>; a finding stops that parser with the sanitizer's report and
# leaves the input as build-libfuzzer/crash-<parser>-*. Two parsers at a time, niced.
#   bash tools/fuzz-libfuzzer.sh [seconds per parser, default 600] [parser...]
# Parsers: npy npz safetensors json image csv torch. The in-tree driver (tools/fuzz.sh) needs no
# clang but has no coverage feedback. Results of the last long run: docs/reliability.md.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy npz safetensors json image csv torch)
build_dir="${DCODR_LIBFUZZER_BUILD_DIR:-build-libfuzzer}"
command -v clang++ > /dev/null || { echo "fuzz-libfuzzer: needs clang++ (apt-get install clang libclang-rt-14-dev)"; exit 1; }
if [ ! -f "$build_dir/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build_dir" -Dcuda=disabled -Dgpu_simulator=false -Dlibfuzzer=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized || exit 1
fi
ninja -C "$build_dir" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") || exit 1
# halt_on_error: clang's UBSan only reports and goes on by default; a report must stop the run.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:suppressions=$PWD/tools/ubsan.supp"
logs="$build_dir/fuzz-logs"
mkdir -p "$logs"
status=0
run_one() {
  local t="$1" corpus="$build_dir/corpus/$1"
  mkdir -p "$corpus"
  # -rss_limit_mb: the parsers refuse what does not fit; a 2 GB input-driven allocation is a finding.
  nice -n 10 "$build_dir/tests/fuzz/fuzz_$t" "$corpus" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout=20 -max_len=65536 -print_final_stats=1 -artifact_prefix="$build_dir/crash-$t-" \
    > "$logs/$t.log" 2>&1
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
# One line per parser: runs, time, rate, coverage (edges), features, corpus size; then findings.
for t in "${targets[@]}"; do
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log")
  secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log")
  last=$(grep -E '^#[0-9]+' "$logs/$t.log" | tail -n 1)
  echo "fuzz_$t: ${runs:-?} runs, ${secs:-?} exec/s | $last"
  grep -E "ERROR: (AddressSanitizer|libFuzzer)|runtime error|SUMMARY" "$logs/$t.log" | head -n 5
done
exit "$status"
