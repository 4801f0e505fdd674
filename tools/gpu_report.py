#!/usr/bin/env python3
"""Summarise a tools/gpu-check.sh output folder: comparison.json (machine-readable) and
report.md (the table to paste into docs/performance.md, "GPU"), so a short GPU session ends
with its numbers written down, not just measured.

    python3 tools/gpu_report.py OUT_DIR

Reads what exists of: bench_step.json, bench_step_nondet.json, bench_profile.json,
bench_augment.json, torch_step.json, torch_step_defaults.json, train_run/eval.json,
train_run/train_log.jsonl, summary.json (written after this script, so only on a rerun),
gpu-check.log. Missing files give "n/a", never an error.
"""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "."


def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def num(v, fmt="{:.2f}"):
    return fmt.format(v) if isinstance(v, (int, float)) else "n/a"


def gib(v):
    return num(v / 2**30 if isinstance(v, (int, float)) else None)


runs = {n: load(n + ".json") for n in ["bench_step", "bench_step_nondet", "torch_step", "torch_step_defaults"]}
median = {n: (r or {}).get("median_ms") for n, r in runs.items()}
peak = {n: (r or {}).get("peak_allocated_bytes") for n, r in runs.items()}


def ratio(a, b):
    return median[a] / median[b] if median[a] and median[b] else None


comparison = {
    "median_ms": median,
    "peak_allocated_bytes": peak,
    "dcodr_over_torch_like_for_like": ratio("bench_step", "torch_step"),
    "dcodr_nondet_over_torch_defaults": ratio("bench_step_nondet", "torch_step_defaults"),
    "reference_in_gpu_md_ms": 17.6,
}
with open(os.path.join(out, "comparison.json"), "w") as f:
    json.dump(comparison, f, indent=2)

commit = "unknown"
try:
    with open(os.path.join(out, "environment.log")) as f:
        lines = f.read().splitlines()
    commit = lines[lines.index("== git") + 1].strip()
except (OSError, ValueError, IndexError):
    pass
gpu = (runs["bench_step"] or {}).get("gpu") or (runs["torch_step"] or {}).get("gpu") or "n/a"

md = [f"GPU check on commit `{commit}`, {gpu}.", ""]
md += ["| run | ms/step (median) | images/s | peak allocated GiB | peak reserved GiB |", "|---|---|---|---|---|"]
labels = {
    "bench_step": "dcodr, TF32, deterministic cuDNN (`bench step --tf32`)",
    "bench_step_nondet": "dcodr, TF32, non-deterministic cuDNN allowed",
    "torch_step": "PyTorch eager, like for like (TF32 conv+matmul, deterministic)",
    "torch_step_defaults": "PyTorch eager, its defaults",
}
for n, label in labels.items():
    r = runs[n] or {}
    md.append(f"| {label} | {num(r.get('median_ms'))} | {num(r.get('images_per_second'), '{:.0f}')} | "
              f"{gib(r.get('peak_allocated_bytes'))} | {gib(r.get('peak_reserved_bytes'))} |")
md += ["", f"Ratio dcodr / PyTorch: like for like {num(comparison['dcodr_over_torch_like_for_like'], '{:.3f}')}, "
           f"non-deterministic vs PyTorch defaults {num(comparison['dcodr_nondet_over_torch_defaults'], '{:.3f}')} "
           "(below 1 = dcodr faster). Reference in ../shared/docs/gpu.md: 17.6 ms/step, 8.8 GiB.", ""]

prof = (load("bench_profile.json") or {}).get("profile")
if prof:
    md += [f"Per-op breakdown (`bench step --profile {prof.get('steps')}`, CUDA events; profiled step "
           f"{num(prof.get('profiled_median_ms'))} ms, kernel ops sum {num(prof.get('ops_ms_per_step'))} ms):", "",
           "By phase (ms/step): " + ", ".join(f"{k} {num(v)}" for k, v in prof.get("ms_per_step_by_phase", {}).items()),
           "", "| op | ms/step | share | calls/step |", "|---|---|---|---|"]
    for r in prof.get("by_op", [])[:12]:
        md.append(f"| {r['op']} | {num(r['ms_per_step'], '{:.3f}')} | {num(r['percent'], '{:.1f}')} % | "
                  f"{num(r['calls_per_step'], '{:.0f}')} |")
    md += ["", "Slowest shapes:", "", "| op and shapes | ms/step | calls/step |", "|---|---|---|"]
    for r in prof.get("top", [])[:10]:
        md.append(f"| {r['op']} {r.get('detail', '')} | {num(r['ms_per_step'], '{:.3f}')} | "
                  f"{num(r['calls_per_step'], '{:.0f}')} |")
    md.append("")

aug = load("bench_augment.json")
if aug:
    runs_txt = ", ".join(f"{r['threads']} threads {num(r['batch_ms'])} ms" for r in aug.get("runs", []))
    md += [f"Host data side (`bench augment`, batch {aug.get('batch')}): {runs_txt} per batch; "
           f"{num(aug.get('cores_needed_at_step_ms'))} cores needed at {aug.get('step_ms')} ms/step.", ""]

ev = load("train_run/eval.json")
losses = []
try:
    with open(os.path.join(out, "train_run", "train_log.jsonl")) as f:
        losses = [json.loads(line)["loss"] for line in f if line.strip()]
except (OSError, ValueError, KeyError):
    pass
if losses:
    k = min(20, len(losses))
    md.append(f"`dcodr train --device cuda` (ResNet-18, {len(losses)} steps): mean loss of the first {k} steps "
              f"{sum(losses[:k]) / k:.3f}, of the last {k} {sum(losses[-k:]) / k:.3f}.")
if ev:
    try:
        parts = [f"domain {ev['domain']['test_accuracy']:.3f} (chance {ev['domain']['chance']:.3f})"]
        parts += [f"{k} {v['test_accuracy']:.3f}" for k, v in ev.get("attributes", {}).items()]
        md.append("`dcodr eval --device cuda`, probe test accuracy: " + ", ".join(parts) + ".")
    except (KeyError, TypeError):
        md.append(f"`dcodr eval --device cuda`: `{json.dumps(ev)[:300]}`")
md.append("")

with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(md))
print(json.dumps(comparison, indent=2))
