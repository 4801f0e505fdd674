#!/usr/bin/env bash
# End-to-end smoke test of the dcodr tool: generate data, train a few steps, resume, eval,
# encode, and check that bad input fails with a message naming the culprit.
set -euo pipefail
dcodr="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
small=(--depth 18 --width 0.125 --hidden 32 --code-dim 16 --image-size 16 --images-per-domain 4 --lr 1e-3)

"$dcodr" generate-data --out "$work/shapes.npz" --count 240 --seed 3
"$dcodr" train --data "$work/shapes.npz" "${small[@]}" --steps 3 --out "$work/run" --log-every 1
test -s "$work/run/encoder.safetensors"
test -s "$work/run/checkpoint.safetensors"
test "$(wc -l < "$work/run/train_log.jsonl")" -eq 3
# Resume takes the model/optimiser configuration from the checkpoint; only --steps is new.
"$dcodr" train --data "$work/shapes.npz" --steps 5 --out "$work/run" --resume 2> "$work/resume.txt"
grep -q "resumed from .* at step 3" "$work/resume.txt"
test "$(wc -l < "$work/run/train_log.jsonl")" -eq 5
"$dcodr" eval --weights "$work/run/encoder.safetensors" --data "$work/shapes.npz" --probe-epochs 1 \
    --json "$work/eval.json" > "$work/eval.txt"
grep -q "domain (invariance" "$work/eval.txt"
grep -q '"retrieval_top1"' "$work/eval.json"
grep -q '"max_steps": 5' "$work/eval.json"  # the configuration the weights were trained with
"$dcodr" encode --weights "$work/run/checkpoint.safetensors" --data "$work/shapes.npz" --out "$work/codes.npy"
head -c 6 "$work/codes.npy" | grep -q "NUMPY"

# DCoDR with its decoder: both loss terms logged, the decoder saved, resumable, pictures drawn.
rec=(--reconstruction --gen-channels 16 --domain-dim 16)
"$dcodr" train --data "$work/shapes.npz" "${small[@]}" "${rec[@]}" --steps 2 --out "$work/rec" 2> "$work/rec.txt"
grep -q "pixel L1 only" "$work/rec.txt"   # no ImageNet VGG16 weights given: says what it uses instead
test -s "$work/rec/decoder.safetensors"
grep -q '"loss_reconstruction"' "$work/rec/train_log.jsonl"
"$dcodr" train --data "$work/shapes.npz" --steps 3 --out "$work/rec" --resume 2> "$work/rec_resume.txt"
grep -q "resumed from .* at step 2" "$work/rec_resume.txt"
"$dcodr" translate --weights "$work/rec/checkpoint.safetensors" --data "$work/shapes.npz" --rows 3 \
    --out "$work/grid.png" > "$work/translate.txt"
test -s "$work/grid.png"
test -s "$work/grid_reconstructions.png"
grep -q "reconstruction error" "$work/translate.txt"
if "$dcodr" translate --weights "$work/run/checkpoint.safetensors" --data "$work/shapes.npz" \
    --out "$work/x.png" 2> "$work/err.txt"; then exit 1; fi
grep -q "without --reconstruction" "$work/err.txt"
if "$dcodr" train --data "$work/shapes.npz" "${small[@]}" "${rec[@]}" --image-size 32 --steps 1 --out "$work/x" \
    --perceptual-weights "$work/run/encoder.safetensors" 2> "$work/err.txt"; then exit 1; fi
grep -q "encoder.safetensors" "$work/err.txt"
grep -q "features" "$work/err.txt"
if "$dcodr" train --data "$work/shapes.npz" "${small[@]}" "${rec[@]}" --perceptual vgg16 --steps 1 \
    --out "$work/x" 2> "$work/err.txt"; then exit 1; fi
grep -q -- "--image-size of at least 32" "$work/err.txt"

# The main job's code path, tiny: all trainings and evaluations, the table, the pictures.
"$dcodr" demo --synthetic-count 240 "${small[@]}" --gen-channels 16 --steps 2 --probe-epochs 1 --out "$work/demo" \
    > "$work/demo.txt"
grep -q "DCoDR-norec" "$work/demo.txt"
grep -q "DCoDR reconstruction error" "$work/demo.txt"
grep -q '"DCoDR"' "$work/demo/results.json"
test -s "$work/demo/dcodr/translate.png"
grep -q "baseline" "$work/demo.txt"
grep -q "baseline: *shuffled batches of 64 from all domains" "$work/demo.txt"  # the table says which batches ran
grep -q '"DCoDR-norec"' "$work/demo/results.json"
test -s "$work/demo/domain_wise/retrieval_other_domains.png"
test -s "$work/demo/standard/encoder.safetensors"

# Benchmarks, tiny: the step with its per-op breakdown, and the host data side.
"$dcodr" bench step "${small[@]}" --images 64 --warmup 1 --repeats 1 --profile 1 > "$work/step.json" \
    2> "$work/profile.txt"
grep -q '"median_ms"' "$work/step.json"
grep -q '"peak_allocated_bytes"' "$work/step.json"
grep -q '"op": "conv2d_backward_filter"' "$work/step.json"
grep -q "conv2d_forward 3x3/1" "$work/profile.txt"
# The packed GEMM against Eigen's, steps interleaved in one process: both medians and their ratio.
"$dcodr" bench step "${small[@]}" --images 64 --warmup 0 --repeats 1 --compare-eigen-gemm > "$work/step_gemm.json"
grep -q '"packed_gemm_median_ms"' "$work/step_gemm.json"
grep -q '"eigen_gemm_median_ms"' "$work/step_gemm.json"
grep -q '"eigen_over_packed"' "$work/step_gemm.json"
grep -q '"pairs": 1' "$work/step_gemm.json"
"$dcodr" bench step "${small[@]}" "${rec[@]}" --images 64 --warmup 1 --repeats 1 --profile 1 > "$work/step_rec.json" \
    2> "$work/profile_rec.txt"
grep -q '"reconstruction": true' "$work/step_rec.json"
grep -q "upsample_nearest2d_forward" "$work/profile_rec.txt"
# The kernels against the GEMM, in alternated rounds: valid JSON, a ratio for each of the 11
# ResNet-18 shapes' three passes, and --cold recorded.
"$dcodr" bench ops --quick --repeats 2 > "$work/ops.json"
python3 -m json.tool "$work/ops.json" > /dev/null
test "$(grep -o '"ratio"' "$work/ops.json" | wc -l)" -eq 33
grep -q '"repeats": 2, "cold": false' "$work/ops.json"
grep -q '"worst_pass_ratio"' "$work/ops.json"
"$dcodr" bench ops --quick --cold > "$work/ops_cold.json"
grep -q '"cold": true' "$work/ops_cold.json"
"$dcodr" bench augment --batch 8 --image-size 16 --repeats 1 > "$work/augment.json"
grep -q '"per_image_ms_1_thread"' "$work/augment.json"
grep -q '"crop"' "$work/augment.json"

# PyTorch checkpoints (tests/make_torch_fixtures.py): inspect, convert, train --init.
torch="$DCODR_FIXTURES/torch"
tiny=(--depth 18 --width 0.03125 --hidden 16 --code-dim 8 --image-size 16 --images-per-domain 4 --lr 1e-3)
"$dcodr" inspect "$torch/moco_w32_legacy.pth" > "$work/inspect.txt"
grep -q "pytorch legacy, 128 tensors" "$work/inspect.txt"
grep -Eq "^state_dict.module.encoder_q.conv1.weight +F32 +\[2, 3, 7, 7\] +1176$" "$work/inspect.txt"
grep -q "other: epoch = 800" "$work/inspect.txt"
"$dcodr" inspect "$torch/resnet18_w32_fp16.pth" | grep -E "^conv1.weight +F16 +\[2, 3, 7, 7\] +588$" > /dev/null
"$dcodr" inspect "$work/shapes.npz" | grep -E "^imgs +\|u1 +\[240, 64, 64, 3\] +2949120$" > /dev/null
"$dcodr" convert "$torch/moco_w32_legacy.pth" --out "$work/moco.safetensors" --names dcodr 2> "$work/convert.txt"
grep -q "wrote 120 tensors" "$work/convert.txt"
grep -q "not converted: module.encoder_q.fc.0.weight (classifier / projection head (fc))" "$work/convert.txt"
"$dcodr" inspect "$work/moco.safetensors" | grep -E "^resnet.layer4.1.bn2.running_var +F32 +\[16\] +64$" > /dev/null
# --init from the .pth and from its conversion: the same start, so the same training and codes.
"$dcodr" train --data "$work/shapes.npz" "${tiny[@]}" --steps 2 --out "$work/init_pth" \
    --init "$torch/moco_w32_legacy.pth" 2> "$work/init.txt"
grep -q "init: loaded 120 tensors from .*moco_w32_legacy.pth' (pytorch legacy, key 'state_dict')" "$work/init.txt"
grep -q "missing (4), kept as initialised: resnet.fc.weight, resnet.fc.bias, proj.weight, proj.bias" "$work/init.txt"
"$dcodr" train --data "$work/shapes.npz" "${tiny[@]}" --steps 2 --out "$work/init_st" \
    --init "$work/moco.safetensors" 2> /dev/null
"$dcodr" train --data "$work/shapes.npz" "${tiny[@]}" --steps 2 --out "$work/no_init" 2> /dev/null
for run in init_pth init_st no_init; do
    "$dcodr" encode --weights "$work/$run/encoder.safetensors" --data "$work/shapes.npz" --out "$work/$run.npy" 2> /dev/null
done
cmp "$work/init_pth.npy" "$work/init_st.npy"
if cmp -s "$work/init_pth.npy" "$work/no_init.npy"; then exit 1; fi
# The checkpoint remembers the start; --resume does not apply --init again.
grep -aq 'init\\":\\"[^"]*moco_w32_legacy.pth' "$work/init_pth/checkpoint.safetensors"
"$dcodr" train --data "$work/shapes.npz" --steps 3 --out "$work/init_pth" --resume \
    --init "$torch/resnet18_w32_zip.pth" 2> "$work/resume_init.txt"
grep -q "note: --init is ignored with --resume" "$work/resume_init.txt"
if grep -q "init: loaded" "$work/resume_init.txt"; then exit 1; fi
grep -aq 'init\\":\\"[^"]*moco_w32_legacy.pth' "$work/init_pth/checkpoint.safetensors"
if "$dcodr" train --data "$work/shapes.npz" "${tiny[@]}" --steps 1 --out "$work/x" \
    --init "$torch/moco_w32_legacy.pth" --init-strict 2> "$work/err.txt"; then exit 1; fi
grep -q "init-strict: .* lacks 4 of the model's tensors" "$work/err.txt"
if "$dcodr" inspect "$torch/evil_system.pth" 2> "$work/err.txt"; then exit 1; fi
grep -q "refused: the pickle refers to the Python global 'posix.system'" "$work/err.txt"

# The run report (issue 13): train, eval and demo folders get report.html, its charts as .svg
# beside it, and the pictures (eval: retrieval with its legend; a decoder: the domain swap).
# tests/test_report.cpp checks the report's structure and numbers; here, that every command writes it.
grep -q '<section id="training">' "$work/run/report.html"
test -s "$work/run/chart_loss_domain_wise.svg"
grep -q 'data-metric="probe:domain"' "$work/run/eval/report.html"   # eval's default --out: <weights folder>/eval
test -s "$work/run/eval/retrieval_other_domains.png"
grep -q '"retrieval_top1"' "$work/run/eval/eval.json"
test -s "$work/rec/translate.png"   # train with a decoder draws the swap grid even without --eval
"$dcodr" eval --weights "$work/rec/encoder.safetensors" --data "$work/shapes.npz" --probe-epochs 1 \
    --out "$work/rec_eval" > /dev/null 2>&1
test -s "$work/rec_eval/translate_reconstructions.png"   # found decoder.safetensors beside the encoder
test "$(grep -o 'data:image/png;base64' "$work/rec_eval/report.html" | wc -l)" -eq 3
test "$(grep -o 'data:image/png;base64' "$work/demo/report.html" | wc -l)" -eq 5
grep -q 'data-run="DCoDR-norec"' "$work/demo/report.html"
test -s "$work/demo/chart_probe_domain.svg"
if "$dcodr" eval --weights "$work/run/encoder.safetensors" --data "$work/shapes.npz" --out "$work/shapes.npz" \
    2> "$work/err.txt"; then exit 1; fi
grep -q -- "--out .*shapes.npz" "$work/err.txt"

# Bad input: non-zero exit and a message that names the file or the flag.
if "$dcodr" train --data "$work/missing.npz" --steps 1 --out "$work/x" 2> "$work/err.txt"; then exit 1; fi
grep -q "missing.npz" "$work/err.txt"
rc=0
"$dcodr" train --stpes 1 2> "$work/err.txt" || rc=$?
test "$rc" -eq 2  # a wrong command line
grep -q "^dcodr train: error: unknown option --stpes" "$work/err.txt"
if "$dcodr" eval --weights "$work/shapes.npz" --data "$work/shapes.npz" 2> "$work/err.txt"; then exit 1; fi
grep -q "shapes.npz" "$work/err.txt"
test ! -e "$work/eval"   # refused weights: no output folder made
echo "cli smoke test passed"
