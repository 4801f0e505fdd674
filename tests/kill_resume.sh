#!/usr/bin/env bash
# kill -9 never costs more than the steps since the last checkpoint (docs/reliability.md):
# `dcodr train` with a checkpoint every step is killed with SIGKILL again and again — at random
# moments, right after a step was logged (just before or during its checkpoint write) and while a
# checkpoint's temporary file is being written — and resumed each time. After every kill the
# checkpoint must be a complete file, the next run must resume from it (or start afresh when
# none was written yet), and the run that finally completes must leave a checkpoint and an
# encoder that are byte for byte those of an uninterrupted run of the same steps (bitwise resume).
# At least one kill must have hit a checkpoint write (its temporary file left behind), or the test
# did not test what it says; the next run must remove that file.
set -euo pipefail
dcodr="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
steps=16
# Small but not trivial: an 8.5 MB checkpoint (weights + Adam moments) takes a few ms to write.
args=(train --depth 18 --width 0.25 --hidden 64 --code-dim 8 --image-size 16 --images-per-domain 2
      --synthetic-count 64 --lr 1e-3 --threads 2 --steps "$steps" --checkpoint-every 1)
fail() { echo "FAIL: $*"; exit 1; }

t0=$(date +%s%N)
"$dcodr" "${args[@]}" --out "$work/ref" 2> "$work/ref.txt" || { cat "$work/ref.txt"; fail "the uninterrupted run failed"; }
# Random kills come within a quarter of an uninterrupted run's time, so that they fall on the
# start, steps and writes alike on a fast machine or a slow one.
random_ms=$(( ($(date +%s%N) - t0) / 4000000 + 1 ))

run="$work/run"
last_logged_step() {  # the step of the last line of train_log.jsonl, 0 when none
    local line=""
    [ -s "$run/train_log.jsonl" ] && line=$(tail -n 1 "$run/train_log.jsonl")
    [[ "$line" =~ \"step\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 0
}

kills=0
mid_write=0
# How each round picks its moment: random (within random_ms of the start), step (once two more
# steps are logged than at the start of the round) or write (as soon as a checkpoint temp file
# exists).
for how in write random step write random step write random write; do
    resume=()
    [ -e "$run/checkpoint.safetensors" ] && resume=(--resume)
    start_step=$(last_logged_step)
    "$dcodr" "${args[@]}" "${resume[@]}" --out "$run" > /dev/null 2> "$work/round.txt" &
    pid=$!
    deadline=$((SECONDS + 60))
    case "$how" in
        random) ms=$((RANDOM % random_ms)); sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))" ;;
        step) while kill -0 "$pid" 2> /dev/null && [ "$(last_logged_step)" -lt $((start_step + 2)) ] &&
                    [ $SECONDS -lt $deadline ]; do sleep 0.005; done ;;
        write) # a busy loop of shell builtins, to kill within microseconds of the file appearing
               while kill -0 "$pid" 2> /dev/null && ! compgen -G "$run/checkpoint.safetensors.tmp.$pid" > /dev/null &&
                     [ $SECONDS -lt $deadline ]; do :; done ;;
    esac
    if kill -9 "$pid" 2> /dev/null; then
        wait "$pid" 2> /dev/null && fail "a killed run exited 0" || true
        kills=$((kills + 1))
        [ -e "$run/checkpoint.safetensors.tmp.$pid" ] && mid_write=$((mid_write + 1))
    else
        wait "$pid" || { cat "$work/round.txt"; fail "round '$how': the run failed by itself"; }
    fi
    # The checkpoint left behind is complete: it parses, and its size matches its header.
    if [ -e "$run/checkpoint.safetensors" ]; then
        "$dcodr" inspect "$run/checkpoint.safetensors" > /dev/null 2> "$work/inspect.txt" ||
            { cat "$work/inspect.txt"; fail "after kill $kills ($how) the checkpoint does not load"; }
    fi
done

# The last run completes; it resumes from whatever the kills left.
resume=()
[ -e "$run/checkpoint.safetensors" ] && resume=(--resume)
"$dcodr" "${args[@]}" "${resume[@]}" --out "$run" 2> "$work/final.txt" ||
    { cat "$work/final.txt"; fail "the final resumed run failed"; }
grep -q "resumed from .* at step [1-9]" "$work/final.txt" ||
    { cat "$work/final.txt"; fail "the final run did not resume from a checkpoint written before a kill"; }
[ "$mid_write" -ge 1 ] || fail "no kill hit a checkpoint write ($kills kills): the test did not test kill-during-write"
if compgen -G "$run/*.tmp.*" > /dev/null; then
    ls -la "$run"
    fail "temporary files of killed writes were left"
fi
cmp "$work/ref/checkpoint.safetensors" "$run/checkpoint.safetensors" ||
    fail "the checkpoint after $kills kills and resumes differs from the uninterrupted run's"
cmp "$work/ref/encoder.safetensors" "$run/encoder.safetensors" ||
    fail "the encoder after $kills kills and resumes differs from the uninterrupted run's"
echo "kill -9 test passed: $kills kills ($mid_write during a checkpoint write), $(grep -o 'at step [0-9]*' "$work/final.txt") resumed, bitwise equal to the uninterrupted run"
