#!/usr/bin/env bash
# GPU check: run ON the GPU machine, from the repository root, with a build folder made on
# the build machines (meson setup build-cuda -Dcuda=enabled -Dcpu_target=x86-64-v3 && ninja -C
# build-cuda; v3 because the GPU host's CPU may lack the build machine's AVX-512) carried along.
# Builds nothing. Runs the CUDA tests, then the step benchmark (plain, with PyTorch's cuDNN rules,
# and profiled per op), the host augmentation benchmark, and PyTorch's timing of the same step,
# and a short `dcodr train` + `eval --device cuda`; writes logs, the JSON results,
# comparison.json and summary.json into the folder given as the only argument.
# Sized to finish in under 5 minutes: tests 120 s, diagnosis reruns (only after a failure)
# 2 x 45 s, then the benchmark, training and PyTorch runs of typically 10-30 s each (each
# capped at BENCH_TIMEOUT, 75 s), all within TOTAL_BUDGET (480 s); override any of these.
#
#   tools/gpu-check.sh "$OUT"          # e.g. inside the device tool's run command
#   BUILD=build-other tools/gpu-check.sh out/   # another build folder
# Smaller runs (tests/gpu_check_sim.sh runs the whole script on the CUDA simulator this way):
# TEST_ARGS (Catch2 filter for the parity tests), STEP_SHAPE (flags added to every `bench
# step`), STEP_REPEATS and PROFILE_REPEATS (their --warmup/--repeats/--profile counts),
# TRAIN_ARGS and EVAL_ARGS (the train / eval flags besides --device and the paths), REC_ARGS
# (flags of the step benchmark with the decoder).
set -u
OUT=${1:?usage: tools/gpu-check.sh OUTPUT_DIR}
BUILD=${BUILD:-build-cuda}
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-75}
DEBUG_TIMEOUT=${DEBUG_TIMEOUT:-45}   # each of the two diagnosis reruns, only after a failure
TEST_ARGS=${TEST_ARGS:-}
STEP_SHAPE=${STEP_SHAPE:-}           # empty: the paper's step (ResNet-50, 4 x 32 images, 64x64)
STEP_REPEATS=${STEP_REPEATS:---warmup 5 --repeats 20}
PROFILE_REPEATS=${PROFILE_REPEATS:---warmup 3 --repeats 3 --profile 5}
TRAIN_ARGS=${TRAIN_ARGS:---data synthetic --synthetic-count 6000 --depth 18 --steps 300 --log-every 50}
EVAL_ARGS=${EVAL_ARGS:---data synthetic --synthetic-count 6000 --probe-epochs 10}
mkdir -p "$OUT"
start=$(date +%s)
export DCODR_FIXTURES=${DCODR_FIXTURES:-$PWD/tests/fixtures}

log() { echo "[gpu-check $(date +%H:%M:%S)] $*" | tee -a "$OUT/gpu-check.log"; }
# Every stage runs under `bounded SECONDS cmd...`: its own limit, cut to what is left of
# TOTAL_BUDGET (default 480 s) so the whole script ends, summary written, inside one device
# call's limit even if every stage hangs; a stage with under 5 s left is skipped (exit 124).
TOTAL_BUDGET=${TOTAL_BUDGET:-480}
# Flags of the DCoDR-with-decoder step benchmark (REC_ARGS overrides, e.g. a narrow one).
REC_ARGS=${REC_ARGS:---reconstruction --perceptual vgg16 --profile 2}
deadline=$(( $(date +%s) + TOTAL_BUDGET ))
bounded() {
  local want=$1; shift
  local left=$(( deadline - $(date +%s) - 10 ))
  (( left < want )) && want=$left
  if (( want < 5 )); then
    echo "[gpu-check $(date +%H:%M:%S)] skipped (time budget spent): $*" >> "$OUT/gpu-check.log"
    return 124
  fi
  timeout "$want" "$@"
}
json_str() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))' 2>/dev/null || echo '""'; }

log "build folder: $BUILD; output: $OUT"
{
  echo "== host"; uname -a; date -u
  echo "== git"; git rev-parse HEAD 2>/dev/null || echo "(no git)"
  echo "== nvidia-smi"; nvidia-smi 2>&1 || echo "(nvidia-smi unavailable)"
} > "$OUT/environment.log" 2>&1
gpu_name=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)

# ---- tests
test_rc=-1; test_summary="not run"; skipped=0; missing_libs=""; gpu_unusable=false
TEST_BIN="$BUILD/tests/test_cuda_parity"
if [ -x "$TEST_BIN" ]; then
  missing_libs=$(ldd "$TEST_BIN" 2>/dev/null | grep "not found" | tr '\n' ' ')
  if [ -n "$missing_libs" ]; then
    # The build links libcudart/libcublas/libcudnn shared: try the usual toolkit folders.
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13.0/lib64 \
             /usr/lib/x86_64-linux-gnu; do
      [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    done
    missing_libs=$(ldd "$TEST_BIN" 2>/dev/null | grep "not found" | tr '\n' ' ')
    log "LD_LIBRARY_PATH=$LD_LIBRARY_PATH; still missing: ${missing_libs:-none}"
  fi
  log "running $TEST_BIN (timeout ${TEST_TIMEOUT}s)"
  bounded "$TEST_TIMEOUT" "$TEST_BIN" --durations yes $TEST_ARGS > "$OUT/test_cuda_parity.log" 2>&1
  test_rc=$?
  test_summary=$(grep -E "All tests passed|test cases:|assertions:" "$OUT/test_cuda_parity.log" | tr '\n' ' ')
  skipped=$(grep -c "SKIPPED" "$OUT/test_cuda_parity.log" || true)
  log "tests rc=$test_rc: $test_summary (SKIPPED lines: $skipped)"
  # On the GPU machine a "no CUDA device" skip means the GPU was not usable: a failure.
  if [ -n "$gpu_name" ] && grep -q "SKIPPED: no CUDA device" "$OUT/test_cuda_parity.log"; then
    gpu_unusable=true
    log "ERROR: nvidia-smi sees '$gpu_name' but the tests could not open it (see test_cuda_parity.log)"
  fi
  grep -E "^SKIPPED [^:]*:" "$OUT/test_cuda_parity.log" | sort -u > "$OUT/skipped_ops.txt" || true
  # Exit 77 is the test's "no usable GPU: GPU cases skipped" (meson's SKIP).
  if [ "$test_rc" = 77 ] && [ -n "$gpu_name" ]; then gpu_unusable=true; fi
  if [ "$test_rc" != 0 ] && [ "$test_rc" != 77 ]; then
    # Diagnosis for a one-shot GPU session: kernels run synchronously so a fault is reported
    # at the launch that caused it, then compute-sanitizer's memcheck (out-of-bounds etc.).
    log "tests failed: rerunning with CUDA_LAUNCH_BLOCKING=1 (timeout ${DEBUG_TIMEOUT}s)"
    CUDA_LAUNCH_BLOCKING=1 bounded "$DEBUG_TIMEOUT" "$TEST_BIN" > "$OUT/test_cuda_parity.blocking.log" 2>&1
    SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
    if [ -n "$SAN" ]; then
      log "running compute-sanitizer memcheck (timeout ${DEBUG_TIMEOUT}s)"
      bounded "$DEBUG_TIMEOUT" "$SAN" --tool memcheck --print-limit 20 "$TEST_BIN" \
        > "$OUT/test_cuda_parity.memcheck.log" 2>&1
      log "memcheck: $(grep -E "ERROR SUMMARY" "$OUT/test_cuda_parity.memcheck.log" | tail -1)"
    fi
  fi
else
  log "no test binary at $TEST_BIN: build with -Dcuda=enabled first"
fi
# Any other test executables that exist (quick CPU+GPU sanity), each bounded.
other_rc=0
for t in "$BUILD"/tests/test_tensor; do
  [ -x "$t" ] || continue
  bounded 30 "$t" > "$OUT/$(basename "$t").log" 2>&1 || other_rc=$?
done

# ---- benchmarks: ours, the per-op breakdown, the host data side, then PyTorch on the same
# step (tools/torch_step_reference.py), all in this one run so the ratios are side by side.
bench_rc=-1; bench_status="skipped: $BUILD/tools/dcodr not built"
DCODR="$BUILD/tools/dcodr"
STEP_ARGS="--device cuda --tf32 $STEP_REPEATS $STEP_SHAPE"
if [ -x "$DCODR" ]; then
  if "$DCODR" bench step --help > /dev/null 2>&1; then
    log "running $DCODR bench step $STEP_ARGS (timeout ${BENCH_TIMEOUT}s)"
    bounded "$BENCH_TIMEOUT" "$DCODR" bench step $STEP_ARGS > "$OUT/bench_step.json" 2> "$OUT/bench_step.log"
    bench_rc=$?
    bench_status="ran (rc=$bench_rc)"
    log "bench step: rc=$bench_rc $(grep -E '"median_ms"|peak_allocated' "$OUT/bench_step.json" 2>/dev/null | tr -d '\n ')"
    log "bench step, PyTorch's cuDNN rules (non-deterministic algorithms allowed)"
    bounded "$BENCH_TIMEOUT" "$DCODR" bench step $STEP_ARGS --nondeterministic \
      > "$OUT/bench_step_nondet.json" 2> "$OUT/bench_step_nondet.log"
    log "bench step $PROFILE_REPEATS (per-op breakdown in bench_profile.txt)"
    bounded "$BENCH_TIMEOUT" "$DCODR" bench step --device cuda --tf32 $PROFILE_REPEATS --profile-top 40 \
      $STEP_SHAPE > "$OUT/bench_profile.json" 2> "$OUT/bench_profile.txt"
    # DCoDR's step with its decoder: the paper's generator (256 wide) and VGG16 perceptual loss
    # (random weights cost the same as ImageNet ones), against PyTorch's 67.8 ms on the H200.
    log "bench step $REC_ARGS (DCoDR with its decoder; timeout ${BENCH_TIMEOUT}s)"
    bounded "$BENCH_TIMEOUT" "$DCODR" bench step $STEP_ARGS $REC_ARGS --profile-top 30 \
      > "$OUT/bench_step_reconstruction.json" 2> "$OUT/bench_step_reconstruction.log"
    log "bench step, decoder: rc=$? $(grep -E '"median_ms"|peak_allocated' "$OUT/bench_step_reconstruction.json" \
      2>/dev/null | tr -d '\n ')"
    log "bench augment (host threads: $(nproc))"
    bounded 60 "$DCODR" bench augment > "$OUT/bench_augment.json" 2> "$OUT/bench_augment.log"
  else
    bench_status="skipped: '$DCODR bench step' not available in this build"
  fi
fi
log "benchmark: $bench_status"
# The user's path on the GPU: dcodr train --device cuda on built-in data, then eval there.
train_rc=-1
if [ -x "$DCODR" ]; then
  log "dcodr train + eval --device cuda ($TRAIN_ARGS; timeout ${BENCH_TIMEOUT}s each)"
  bounded "$BENCH_TIMEOUT" "$DCODR" train --device cuda $TRAIN_ARGS --out "$OUT/train_run" \
    > "$OUT/train_run.log" 2>&1
  train_rc=$?
  bounded "$BENCH_TIMEOUT" "$DCODR" eval --device cuda --weights "$OUT/train_run/encoder.safetensors" \
    $EVAL_ARGS --json "$OUT/train_run/eval.json" \
    >> "$OUT/train_run.log" 2>&1 || train_rc=$((train_rc == 0 ? 1 : train_rc))
  rm -f "$OUT"/train_run/*.safetensors  # large; the logs and eval.json are what matter here
  log "train/eval on cuda: rc=$train_rc ($(grep -c '"loss"' "$OUT/train_run/train_log.jsonl" 2>/dev/null) steps logged)"
fi
torch_rc=-1
if [ -f tools/torch_step_reference.py ]; then
  # Like for like with ours: TF32 in cuDNN and cuBLAS, deterministic cuDNN; then PyTorch's defaults.
  log "PyTorch reference step (timeout ${BENCH_TIMEOUT}s each)"
  bounded "$BENCH_TIMEOUT" python3 tools/torch_step_reference.py --tf32-matmul --deterministic --warmup 5 \
    --repeats 20 --out "$OUT/torch_step.json" > /dev/null 2> "$OUT/torch_step.log"
  torch_rc=$?
  bounded "$BENCH_TIMEOUT" python3 tools/torch_step_reference.py --warmup 5 --repeats 20 --profile 5 \
    --out "$OUT/torch_step_defaults.json" > /dev/null 2> "$OUT/torch_step_defaults.log"
  log "PyTorch reference: rc=$torch_rc"
fi
# Medians side by side (comparison.json) and report.md, the table for docs/performance.md.
python3 tools/gpu_report.py "$OUT" > /dev/null 2> "$OUT/report.log" || log "gpu_report.py failed (see report.log)"
log "comparison: $(tr -d '\n ' < "$OUT/comparison.json" 2>/dev/null)"

end=$(date +%s)
cat > "$OUT/summary.json" <<JSON
{
  "commit": "$commit",
  "gpu": $(printf '%s' "$gpu_name" | json_str),
  "build": "$BUILD",
  "tests": {"binary": "$TEST_BIN", "rc": $test_rc, "summary": $(printf '%s' "$test_summary" | json_str),
            "skipped_lines": ${skipped:-0}, "gpu_unusable": $gpu_unusable,
            "skipped_ops": $(cat "$OUT/skipped_ops.txt" 2>/dev/null | json_str), "missing_libs": $(printf '%s' "$missing_libs" | json_str),
            "other_tests_rc": $other_rc},
  "bench": {"rc": $bench_rc, "status": $(printf '%s' "$bench_status" | json_str),
            "log_tail": $(tail -n 20 "$OUT/bench_step.log" 2>/dev/null | json_str)},
  "torch_reference_rc": $torch_rc,
  "train_eval_cuda_rc": $train_rc,
  "comparison": $(cat "$OUT/comparison.json" 2>/dev/null || echo null),
  "seconds": $((end - start))
}
JSON
log "summary written to $OUT/summary.json ($((end - start)) s)"
[ "$gpu_unusable" = false ] || exit 1
[ "$test_rc" = 77 ] && exit 77  # no GPU on this machine: nothing was tested
[ "$test_rc" = 0 ] || exit 1
