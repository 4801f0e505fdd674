#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser with libFuzzer under AddressSanitizer + UBSan (clang;
# on Debian 12: apt-get install clang libclang-rt-14-dev, which has libclang_rt.fuzzer).
# The harnesses of tests/fuzz (LLVMFuzzerTestOneInput) and the parsers' own sources (below) are
# compiled with clang, instrumented for coverage and the sanitizers; the rest of the library
# (tensors, kernels: what the parsers call but do not parse with) is linked uninstrumented from
# a normal build, so the build takes minutes, not the hour an instrumented whole library takes.
# Each parser starts from its seed corpus (tests/fuzz/corpus/<parser>) and grows a working
# corpus in build-libfuzzer/corpus/<parser>; a finding stops that parser with the report and
# leaves the input as build-libfuzzer/crash-<parser>-*. DCODR_FUZZ_JOBS parsers at a time
# (default 2), niced.
#   bash tools/fuzz-libfuzzer.sh [seconds per parser, default 600] [parser...]
# Parsers: npy npz safetensors json image csv torch. Last long run: docs/reliability.md.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy npz safetensors json image csv torch)
base="${DCODR_BUILD_DIR:-build}"  # a normal build: its libdcodr.a provides the rest
out="${DCODR_LIBFUZZER_BUILD_DIR:-build-libfuzzer}"
command -v clang++ > /dev/null || { echo "fuzz-libfuzzer: needs clang++ (apt-get install clang libclang-rt-14-dev)"; exit 1; }
[ -f "$base/build.ninja" ] || { echo "fuzz-libfuzzer: no build in $base (run tools/setup.sh, or set DCODR_BUILD_DIR)"; exit 1; }
ninja -C "$base" libdcodr.a || exit 1

# Everything that reads bytes from a file: the parsers and the data set loaders on top of them.
parser_sources=(data/stb_impl.c data/file_io.cpp data/file_checks.cpp data/image_limits.cpp data/jpeg_checks.cpp data/png_checks.cpp data/image.cpp
                data/zip.cpp data/inflate.cpp data/npy.cpp data/csv.cpp data/dataset.cpp data/dataset_npz.cpp
                data/dataset_csv.cpp nn/json.cpp nn/safetensors.cpp nn/pickle.cpp nn/torch_checkpoint.cpp
                method/trainer.cpp)
# -fopenmp=libgomp: the normal build's objects use GCC's OpenMP runtime; one runtime per process.
flags=(-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined -fsanitize=fuzzer-no-link
       -march=x86-64-v3 -fopenmp=libgomp -I. -isystem /usr/include/eigen3 -isystem /usr/include/stb)
mkdir -p "$out/obj"
# Recompiles a source newer than its object; after changing a header: rm -r build-libfuzzer/obj.
compile() {  # compile SRC -> prints the object's path
  local src="$1" obj="$out/obj/$(echo "$1" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
    case "$src" in
      *.c) nice clang -std=c11 "${flags[@]}" -c "$src" -o "$obj" ;;
      *) nice clang++ -std=c++20 "${flags[@]}" -c "$src" -o "$obj" ;;
    esac || return 1
  fi
  echo "$obj"
}
objs=()
for s in "${parser_sources[@]}"; do objs+=("$out/obj/$(echo "$s" | tr / _).o"); done
# Two compilers at a time.
printf '%s\n' "${parser_sources[@]}" | xargs -P 2 -I{} bash -c "$(declare -p flags out); $(declare -f compile); compile {} > /dev/null" || exit 1
for t in "${targets[@]}"; do
  h=$(compile "tests/fuzz/fuzz_$t.cpp") || exit 1
  # The parser objects come first, so the library's uninstrumented copies of them are not used.
  nice clang++ -fsanitize=fuzzer,address,undefined -fopenmp=libgomp "$h" "${objs[@]}" "$base/libdcodr.a" \
    -lfmt -lpthread -o "$out/fuzz_$t" || exit 1
done

# halt_on_error: clang's UBSan reports and goes on by default; a report must stop the run.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:suppressions=$PWD/tools/ubsan.supp"
logs="$out/logs"
mkdir -p "$logs"
status=0
jobs="${DCODR_FUZZ_JOBS:-2}"
run_one() {
  local t="$1" corpus="$out/corpus/$1"
  mkdir -p "$corpus"
  # -rss_limit_mb: the parsers refuse what does not fit; a 2 GB input-driven allocation is a finding.
  nice -n 10 "$out/fuzz_$t" "$corpus" "tests/fuzz/corpus/$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=30 -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/crash-$t-" > "$logs/$t.log" 2>&1
}
i=0
while [ $i -lt ${#targets[@]} ]; do
  pids=()
  for t in "${targets[@]:$i:$jobs}"; do
    run_one "$t" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  i=$((i + jobs))
done
# One line per parser: runs, rate, and libFuzzer's last status line (cov = coverage edges,
# ft = features, corp = corpus entries/bytes); then any finding.
for t in "${targets[@]}"; do
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log")
  last=$(grep -E '^#[0-9]+' "$logs/$t.log" | tail -n 1)
  echo "fuzz_$t: ${runs:-?} runs, ${rate:-?} exec/s | $last"
  grep -E "ERROR: (AddressSanitizer|libFuzzer)|runtime error|SUMMARY" "$logs/$t.log" | head -n 5
done
exit "$status"
