#!/usr/bin/env bash
# The CPU side-by-side: our training step (`dcodr bench step --device cpu`) against the same
# step in PyTorch eager (tools/torch_step_reference.py --device cpu), alternated round by round
# so that drift in the machine's speed (other tenants, clocks) hits both alike. Prints one JSON
# object: each round's medians, the median over rounds, the ratio PyTorch / ours, and our
# fraction of the cores' FMA peak (threads x nominal MHz x FLOP/cycle: two FMA units of 16 floats
# = 64 on a CPU with AVX-512, of 8 floats = 32 with AVX2 only; the step's FLOP count comes from
# the reference's hooks, ~3x forward per view). The peak is the CPU's, whatever the build uses.
#
#   tools/cpu-compare.sh                                   # the paper's step, 2 threads, 3 rounds
#   ROUNDS=5 SHAPE="--depth 18 --images-per-domain 8" tools/cpu-compare.sh out.json
#
# Run it on an idle machine: anything else running (a build) makes both numbers meaningless.
# Needs a build (./build or $BUILD) and Debian's python3-torch + python3-torchvision.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
SHAPE=${SHAPE:-}                       # flags both sides understand: --depth, --images-per-domain, --image-size, --head
REPEATS=${REPEATS:---warmup 2 --repeats 5}
PYTHON=${PYTHON:-/usr/bin/python3}     # Debian's torch lives in the system interpreter
out=${1:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Ours names the domains-per-batch flag differently; the reference defaults to 4 like ours.
for r in $(seq 1 "$ROUNDS"); do
  echo "[cpu-compare] round $r/$ROUNDS: dcodr" >&2
  "$BUILD/tools/dcodr" bench step --device cpu --threads "$THREADS" $SHAPE $REPEATS > "$work/ours.$r.json"
  echo "[cpu-compare] round $r/$ROUNDS: pytorch" >&2
  "$PYTHON" tools/torch_step_reference.py --device cpu --threads "$THREADS" $SHAPE $REPEATS \
    --out "$work/torch.$r.json" > /dev/null
done

mhz=$(awk -F: '/^cpu MHz/ {print $2; exit}' /proc/cpuinfo | tr -d ' ')
flop_per_cycle=32
grep -m1 '^flags' /proc/cpuinfo | grep -qw avx512f && flop_per_cycle=64
"$PYTHON" - "$work" "$ROUNDS" "$THREADS" "${mhz:-0}" "$out" "$flop_per_cycle" "$BUILD/tools/dcodr" <<'EOF'
import json, statistics, subprocess, sys
work, rounds, threads, mhz, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
flop_per_cycle, dcodr = int(sys.argv[6]), sys.argv[7]
simd = [l for l in subprocess.run([dcodr, "--version"], capture_output=True, text=True).stdout.splitlines()
        if l.startswith("simd:")]
ours = [json.load(open(f"{work}/ours.{r}.json")) for r in range(1, rounds + 1)]
torch = [json.load(open(f"{work}/torch.{r}.json")) for r in range(1, rounds + 1)]
o = [x["median_ms"] for x in ours]
t = [x["median_ms"] for x in torch]
gflop = torch[0]["step_gflop"]
peak = threads * mhz * 1e-3 * flop_per_cycle   # GFLOP/s
om, tm = statistics.median(o), statistics.median(t)
r = {
    "comparison": "cpu_train_step",
    "config": ours[0]["config"], "threads": threads, "batch_anchors": ours[0]["batch_anchors"],
    "rounds": rounds,
    "ours_median_ms_per_round": o, "torch_median_ms_per_round": t,
    "ours_median_ms": om, "torch_median_ms": tm,
    "speedup_vs_torch": tm / om,
    "step_gflop": gflop,
    "ours_gflop_per_second": gflop / (om / 1e3),
    "torch_gflop_per_second": gflop / (tm / 1e3),
    "fma_peak_gflop_per_second": peak,
    "ours_fraction_of_peak": (gflop / (om / 1e3)) / peak if peak > 0 else None,
    "peak_note": f"{threads} threads x {mhz:.0f} MHz (nominal, /proc/cpuinfo) x {flop_per_cycle} FLOP/cycle "
                 f"(2 FMA units x {flop_per_cycle // 4} floats x 2)",
    "ours_build": simd[0] if simd else None,
    "ours_peak_allocated_bytes": ours[0].get("peak_allocated_bytes"),
    "torch_peak_rss_bytes": torch[0].get("peak_rss_bytes"),
    "torch_version": torch[0]["versions"]["torch"],
}
text = json.dumps(r, indent=2)
print(text)
if out:
    open(out, "w").write(text + "\n")
EOF
