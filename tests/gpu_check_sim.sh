#!/usr/bin/env bash
# tools/gpu-check.sh end to end on the CUDA simulator: the script only ever runs for real in a
# short, rare GPU session, so CI runs it here first, with the simulator's builds standing in
# for build-cuda's (test_cuda_parity_sim as tests/test_cuda_parity, dcodr_sim as tools/dcodr)
# and small shapes, and checks that every stage ran and summary.json / report.md came out.
# Usage: gpu_check_sim.sh SOURCE_ROOT BUILD_DIR
set -eu
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/build/tests" "$tmp/build/tools"
ln -s "$build/tests/test_cuda_parity_sim" "$tmp/build/tests/test_cuda_parity"
ln -s "$build/tools/dcodr_sim" "$tmp/build/tools/dcodr"
cd "$src"
rc=0
BUILD="$tmp/build" TOTAL_BUDGET=400 BENCH_TIMEOUT=120 \
  TEST_ARGS="~[train]" STEP_REPEATS="--warmup 1 --repeats 2" \
  PROFILE_REPEATS="--warmup 1 --repeats 1 --profile 1" \
  STEP_SHAPE="--depth 18 --width 0.125 --hidden 32 --code-dim 16 --image-size 16 --domains-per-batch 2 --images-per-domain 2 --images 64" \
  TRAIN_ARGS="--data synthetic --synthetic-count 120 --depth 18 --width 0.125 --hidden 32 --code-dim 16 --image-size 16 --images-per-domain 2 --steps 3 --log-every 1" \
  EVAL_ARGS="--data synthetic --synthetic-count 120 --probe-epochs 1" \
  REC_ARGS="--reconstruction --gen-channels 16 --domain-dim 16 --perceptual pixel --profile 1" \
  tools/gpu-check.sh "$tmp/out" > "$tmp/gpu-check.stdout" 2>&1 || rc=$?
cat "$tmp/out/gpu-check.log"
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/out/*.log "$tmp"/out/*.txt; do [ -f "$f" ] && { echo "== $f"; tail -n 15 "$f"; }; done
  exit 1
}
[ "$rc" = 0 ] || fail "gpu-check.sh exited $rc"
python3 - "$tmp/out" <<'PY' || fail "summary.json / report.md incomplete"
import json, os, sys
out = sys.argv[1]
s = json.load(open(os.path.join(out, "summary.json")))
assert s["tests"]["rc"] == 0, s["tests"]
assert "All tests passed" in s["tests"]["summary"], s["tests"]["summary"]
assert s["bench"]["rc"] == 0, s["bench"]
assert s["train_eval_cuda_rc"] == 0, s["train_eval_cuda_rc"]
step = json.load(open(os.path.join(out, "bench_step.json")))
assert step["median_ms"] > 0, step
prof = open(os.path.join(out, "bench_profile.txt")).read()
assert "conv2d_forward" in prof and "batch_norm" in prof, prof[:400]
rec = json.load(open(os.path.join(out, "bench_step_reconstruction.json")))
assert rec["median_ms"] > 0 and rec["config"]["reconstruction"], rec
assert json.load(open(os.path.join(out, "train_run", "eval.json")))
report = open(os.path.join(out, "report.md")).read()
assert "ms/step" in report or "median" in report, report[:400]
print("gpu-check.sh on the simulator: tests, bench, profile, train/eval and report all ran")
PY
