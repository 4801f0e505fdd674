#!/usr/bin/env bash
# The dcodr tool refuses absurd options and unsafe output folders with a message naming the
# flag or the file, before doing any work (issue 12; docs/reliability.md). Each case failed,
# hung or silently succeeded before the fix.
set -euo pipefail
dcodr="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tiny=(--depth 18 --width 0.0625 --hidden 8 --code-dim 4 --image-size 16 --images-per-domain 2
      --synthetic-count 64 --lr 1e-3)

# expect_error <exit code> <text the message must contain> <dcodr args...>: that exit code (2 for a
# wrong command line, 1 for other failures; README, "Exit codes"), the message once after the
# one "dcodr <command>: error: " prefix, no hang.
expect_error() {
    local code="$1" want="$2" rc=0
    shift 2
    timeout 60 "$dcodr" "$@" > "$work/out.txt" 2> "$work/err.txt" || rc=$?
    if [ "$rc" -ne "$code" ]; then
        echo "FAIL: dcodr $*: exit code $rc, expected $code (error containing: $want); stderr:"
        cat "$work/err.txt"
        exit 1
    fi
    if ! grep -qF -- "$want" "$work/err.txt"; then
        echo "FAIL: dcodr $*: expected an error containing: $want; got:"
        cat "$work/err.txt"
        exit 1
    fi
    if ! grep -q "^dcodr $1: error: " "$work/err.txt" || [ "$(grep -o "dcodr $1:" "$work/err.txt" | wc -l)" -ne 1 ]; then
        echo "FAIL: dcodr $*: expected one 'dcodr $1: error: ' prefix; got:"
        cat "$work/err.txt"
        exit 1
    fi
}

# Numeric options: one validation pass, messages name the flag.
expect_error 2 "--threads must be in [0, 1024]" train --threads 100000 --out "$work/t"
expect_error 2 "--steps must be in" train --steps -5 --out "$work/t"
expect_error 2 "--epochs must be in" train --epochs 0 --out "$work/t"
# DCoDR's decoder options.
expect_error 2 "--gen-channels must be a multiple of 8" train --reconstruction --gen-channels 12 --out "$work/t"
expect_error 2 "--reconstruction-weight must be" train --reconstruction --reconstruction-weight nan --out "$work/t"
expect_error 2 "--gen-lr must be" train --reconstruction --gen-lr -1 --out "$work/t"
expect_error 2 "--embedding-lr must be" train --reconstruction --embedding-lr 0 --out "$work/t"
expect_error 2 "--perceptual must be auto, vgg16 or pixel" train --reconstruction --perceptual vgg19 --out "$work/t"
expect_error 2 "multiple of 16" train --reconstruction --image-size 40 --out "$work/t"
expect_error 2 "--epochs must be in" train --epochs -1 --out "$work/t"
expect_error 2 "--tau must be" train --tau inf --out "$work/t"
expect_error 2 "--tau must be" train --tau 1e-30 --out "$work/t"
expect_error 2 "--lr must be" train --lr -1 --out "$work/t"
expect_error 2 "--beta1 must be" train --beta1 2 --out "$work/t"
expect_error 2 "--lr-gamma must be" train --lr-gamma nan --out "$work/t"
expect_error 2 "--images-per-domain must be" train --images-per-domain 1000000 --out "$work/t"
expect_error 2 "--image-size must be" train --image-size 100000 --out "$work/t"
expect_error 2 "--probe-batch must be" train --probe-batch 1 --eval --out "$work/t"
expect_error 2 "--synthetic-count must be in" train --synthetic-count 4 --out "$work/t"
expect_error 2 "--clip-grad-norm must be" train --clip-grad-norm -1 --out "$work/t"
expect_error 2 "--out must name an output folder" train "${tiny[@]}" --steps 1 --out ""
test ! -e "$work/t"  # nothing was created for a refused command line
expect_error 2 "--probe-batch must be" eval --weights "$work/none.safetensors" --probe-batch 1
expect_error 2 "--probe-epochs must be" eval --weights "$work/none.safetensors" --probe-epochs 0
expect_error 2 "--probe-patience must be" eval --weights "$work/none.safetensors" --probe-patience 0
expect_error 2 "--probe-lr must be" eval --weights "$work/none.safetensors" --probe-lr nan

# A FIFO as the data set is refused at once (fopen on it blocked forever).
mkfifo "$work/pipe.npz"
expect_error 1 "is a FIFO" train --data "$work/pipe.npz" "${tiny[@]}" --steps 1 --out "$work/t"

# The output folder: a file where the folder should be.
touch "$work/afile"
expect_error 1 "cannot create the output folder" train "${tiny[@]}" --steps 1 --out "$work/afile/run"

# A run, then: stale temp files are cleaned, a fresh run starts a fresh log, the checkpoint
# keeps --checkpoint-every, and resuming with other data is refused.
run="$work/run"
"$dcodr" train "${tiny[@]}" --steps 2 --checkpoint-every 1 --out "$run" 2> /dev/null
test "$(wc -l < "$run/train_log.jsonl")" -eq 2
grep -aq '\\"checkpoint_every\\":1' "$run/checkpoint.safetensors" || grep -aq '"checkpoint_every":1' "$run/checkpoint.safetensors"
"$dcodr" train "${tiny[@]}" --resume --steps 3 --out "$run" 2> /dev/null  # no --checkpoint-every: the saved one
grep -aq '\\"checkpoint_every\\":1' "$run/checkpoint.safetensors" || grep -aq '"checkpoint_every":1' "$run/checkpoint.safetensors"
sh -c 'exit 0' & dead=$!
wait "$dead"
echo partial > "$run/checkpoint.safetensors.tmp.$dead"
"$dcodr" train "${tiny[@]}" --steps 3 --out "$run" 2> "$work/fresh.txt"
test ! -e "$run/checkpoint.safetensors.tmp.$dead"
grep -q "removed 1 temporary file" "$work/fresh.txt"
grep -q "fresh run in" "$work/fresh.txt"
test "$(wc -l < "$run/train_log.jsonl")" -eq 3  # not 2 + 3 lines of two different runs
expect_error 1 "trained on different data" train --resume --steps 4 --data-seed 8 --synthetic-count 64 --out "$run"

# Two runs into one folder: the second is refused while the first holds the lock (held here
# by this shell, on fd 9, the way a running dcodr holds it).
exec 9>> "$run/.lock"
flock -n 9
expect_error 1 "is in use by another dcodr run" train "${tiny[@]}" --steps 1 --out "$run"
exec 9>&-
"$dcodr" train "${tiny[@]}" --steps 1 --out "$run" 2> /dev/null  # released: runs again

# The demo takes the same lock, on its folder and on each method's subfolder, before any work.
demo=(demo "${tiny[@]}" --steps 1 --probe-epochs 1)
mkdir -p "$work/demo/domain_wise"
exec 9>> "$work/demo/.lock"
flock -n 9
expect_error 1 "is in use by another dcodr run" "${demo[@]}" --out "$work/demo"
test ! -e "$work/demo/dcodr"  # refused before any work
exec 9>&-
exec 9>> "$work/demo/domain_wise/.lock"
flock -n 9
expect_error 1 "'$work/demo/domain_wise' is in use by another dcodr run" "${demo[@]}" --out "$work/demo"
test ! -e "$work/demo/dcodr/train_log.jsonl"  # refused before training the first method
exec 9>&-
expect_error 2 "--out must name an output folder" "${demo[@]}" --out ""
expect_error 2 "--lr must be" "${demo[@]}" --lr -1 --out "$work/demo-bad"
expect_error 2 "--synthetic-count must be in" demo --synthetic-count 4 --out "$work/demo-bad"
test ! -e "$work/demo-bad"  # refused before the folder was made
# A CSV of images of different sizes: eval, encode and translate refuse it naming --image-size,
# and with --image-size resize it as train does (64 rendered images, the first one swapped for
# a small PNG of another size).
"$dcodr" generate-data --out "$work/pngs" --count 64 --seed 3 2> /dev/null
cp "$(dirname "$0")/bad_inputs/small_a.png" "$work/pngs/small_a.png"
sed '2s|^[^,]*|small_a.png|' "$work/pngs/labels.csv" > "$work/pngs/mixed.csv"
mixed="$work/pngs/mixed.csv"
expect_error 1 "need a target size (--image-size)" encode --weights "$run/encoder.safetensors" --data "$mixed" \
    --out "$work/codes.npy"
expect_error 2 "--image-size must be in [16, 1024]" encode --weights "$run/encoder.safetensors" --data "$mixed" \
    --image-size 5 --out "$work/codes.npy"
"$dcodr" encode --weights "$run/encoder.safetensors" --data "$mixed" --image-size 16 --out "$work/codes.npy" 2> /dev/null
test "$(od -An -c -j 8 -N 120 "$work/codes.npy" | tr -d ' \n' | grep -o "'shape':([0-9]*,[0-9]*" )" = "'shape':(64,4"
probe=(--probe-epochs 1 --probe-batch 8)
expect_error 1 "need a target size (--image-size)" eval --weights "$run/encoder.safetensors" --data "$mixed" "${probe[@]}"
"$dcodr" eval --weights "$run/encoder.safetensors" --data "$mixed" --test-fraction 0.5 --image-size 16 "${probe[@]}" \
    --json "$work/eval.json" > /dev/null 2>&1
grep -q '"domain' "$work/eval.json"
"$dcodr" train "${tiny[@]}" --reconstruction --gen-channels 8 --domain-dim 8 --steps 1 --out "$work/rec" 2> /dev/null
expect_error 1 "need a target size (--image-size)" translate --weights "$work/rec/checkpoint.safetensors" \
    --data "$mixed" --out "$work/swap.png"
"$dcodr" translate --weights "$work/rec/checkpoint.safetensors" --data "$mixed" --image-size 16 --rows 2 \
    --columns 2 --out "$work/swap.png" > /dev/null 2>&1
test -s "$work/swap.png"
# Exit codes and the one error prefix (issue 13): 2 for every wrong command line, 1 otherwise.
expect_error 2 "unknown option --stpes" train --stpes 1
expect_error 2 "--steps expects an integer, got 'many'" train --steps many
expect_error 2 "option --lr needs a value" train --lr
expect_error 2 "unexpected argument 'x.npz'" train x.npz
expect_error 2 "which benchmark" bench
expect_error 2 "unknown benchmark 'nope'" bench nope
expect_error 2 "--repeats must be in" bench ops --repeats 0
expect_error 2 "unknown option --bogus" eval --bogus
expect_error 2 "--weights and --data are required" encode
expect_error 2 "takes no arguments" version extra
echo '{"lr": 0.01, "learning_rate": 0.1}' > "$work/typo.json"
expect_error 2 "unknown key 'learning_rate'" train --config "$work/typo.json"
grep -q "typo.json" "$work/err.txt"
expect_error 1 "none.safetensors" eval --weights "$work/none.safetensors"
rc=0
"$dcodr" nope > /dev/null 2> "$work/err.txt" || rc=$?
test "$rc" -eq 2
grep -q "^dcodr: error: unknown command 'nope'" "$work/err.txt"
rc=0
"$dcodr" > /dev/null 2>&1 || rc=$?
test "$rc" -eq 2
"$dcodr" bench --help | grep -q "usage: dcodr bench ops"  # asked for: exit 0
"$dcodr" --version > "$work/version.txt"
grep -Eq "^dcodr [0-9]+\.[0-9]+\.[0-9]+$" "$work/version.txt"
grep -Eq "^backends: cpu" "$work/version.txt"
grep -Eq "^build: (release|debug|debugoptimized|plain|minsize|custom), " "$work/version.txt"
"$dcodr" version | cmp - "$work/version.txt"

# --print-config: the effective configuration as JSON, usable as --config; nothing is written.
"$dcodr" train --print-config --out "$work/never" > "$work/defaults.json"
test ! -e "$work/never"
grep -q '"depth": 50' "$work/defaults.json"
grep -q '"lr": 0.0001' "$work/defaults.json"
"$dcodr" train --config "$work/defaults.json" --print-config | cmp - "$work/defaults.json"
"$dcodr" train --config "$work/defaults.json" --depth 18 --print-config > "$work/d18.json"
grep -q '"depth": 18' "$work/d18.json"
"$dcodr" train --resume --out "$run" --steps 9 --print-config > "$work/resumed.json"
grep -q '"max_steps": 9' "$work/resumed.json"
grep -q '"code_dim": 4' "$work/resumed.json"  # the checkpoint's, not the default 128
echo "cli hardening test passed"
