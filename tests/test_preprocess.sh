#!/usr/bin/env bash
# tools/preprocess on tiny stand-ins in the originals' formats (tests/preprocess_standins.py makes
# them and checks what the scripts wrote), then dcodr trains a step on every result and
# evaluates two of them with the authors' per-data-set protocol options.
# Usage: test_preprocess.sh DCODR_EXE. Needs a Python 3 with numpy and PIL (DCODR_PYTHON, else
# python3, else /usr/bin/python3); without one the test reports SKIP (exit 77). A data set whose
# reader needs scipy (Cars3D, Zappos) or h5py (Shapes3D) is skipped, saying so, when it is missing.
set -euo pipefail
dcodr=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
pre="$here/../tools/preprocess"

py=""
for candidate in "${DCODR_PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c "import numpy, PIL" 2>/dev/null; then py=$candidate; break; fi
done
if [ -z "$py" ]; then
    echo "SKIP: no Python 3 with numpy and PIL (set DCODR_PYTHON); tools/preprocess untested"
    exit 77
fi
has() { "$py" -c "import $1" 2>/dev/null; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
orig="$work/orig"
out="$work/out"
mkdir -p "$orig" "$out"
ran=0
skipped=()

# A one-step training run on a preprocessed pair: the files load, the sampler and the encoder
# accept them. Extra arguments are passed on (evaluation options).
train_step() {
    local name=$1 train=$2 test=$3
    shift 3
    "$dcodr" train --data "$train" --test-data "$test" --steps 1 --depth 18 --width 0.25 --hidden 32 --code-dim 8 \
        --image-size 32 --images-per-domain 2 --threads 2 --out "$work/run-$name" "$@" >"$work/$name.log" 2>&1 ||
        { cat "$work/$name.log"; echo "FAIL $name: dcodr train on the preprocessed files"; exit 1; }
    echo "ok $name: dcodr trained a step on it"
}

run() {  # run NAME NEEDS... -- SCRIPT ARGS...
    local name=$1
    shift
    while [ "$1" != "--" ]; do
        if ! has "$1"; then
            echo "SKIP $name: the Python module '$1' is missing"
            skipped+=("$name")
            return 1
        fi
        shift
    done
    shift
    # (called in an `if`, where set -e does not act: every step checks its own status)
    "$py" "$here/preprocess_standins.py" make "$name" "$orig" || { echo "FAIL $name: making the stand-ins"; exit 1; }
    "$py" "$pre/$1" "${@:2}" --out "$out" || { echo "FAIL $name: tools/preprocess/$1"; exit 1; }
    "$py" "$here/preprocess_standins.py" check "$name" "$out" || { echo "FAIL $name: the files written"; exit 1; }
    ran=$((ran + 1))
}

if run cars3d scipy -- cars3d.py --src "$orig/cars"; then
    train_step cars3d "$out/cars3d_train.npz" "$out/cars3d_test.npz"
fi

if run smallnorb -- smallnorb.py --src "$orig/norb"; then
    # the authors' SmallNORB retrieval: azimuth within 2 steps, around the circle
    train_step smallnorb "$out/smallnorb_train.npz" "$out/smallnorb_test.npz" --eval --probe-epochs 2 \
        --retrieval-tolerance azimuth=2 --circular azimuth
    grep -q '"azimuth": "+-2 circular of 18"' "$work/run-smallnorb/eval.json" ||
        { cat "$work/run-smallnorb/eval.json"; echo "FAIL smallnorb: eval.json lacks the azimuth match rule"; exit 1; }
    echo "ok smallnorb: evaluated with azimuth +-2 circular"
fi

if run shapes3d h5py -- shapes3d.py --src "$orig/3dshapes.h5" --reduced 100; then
    train_step shapes3d "$out/shapes3d__class_shape__train__reduced_100.npz" "$out/shapes3d__class_shape__test.npz"
fi

if run celeba -- celeba.py --src "$orig/celeba" --test-identities 0.5; then
    # the authors' CelebA protocol: train on identities with enough images, evaluate on the test
    # identities split 75/25, landmarks regressed (here 5 images per identity: threshold 5)
    train_step celeba "$out/celeba_x64_train.npz" "$out/celeba_x64_test.npz" --min-domain-images 5 --eval \
        --probe-epochs 2 --probe-on-test 0.25
    "$py" - "$work/run-celeba/eval.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lm = r["regression"]["landmarks"]
assert lm["dims"] == 10 and lm["test_mae"] > 0 and lm["baseline_mae"] > 0, lm
assert r["protocol"].startswith("test set split by domain, 75/25"), r["protocol"]
PY
    echo "ok celeba: evaluated on the test identities, landmarks regressed"
fi

if run edges2shoes scipy -- edges2shoes.py --src "$orig/e2s/edges2shoes.tar.gz" --zappos "$orig/e2s/ut-zap50k" \
        --rare 0 --compress; then
    # --compress: np.savez_compressed, which dcodr reads too
    train_step edges2shoes "$out/edges2shoes_x64_train.npz" "$out/edges2shoes_x64_test.npz"
fi

if [ "$ran" -eq 0 ]; then
    echo "SKIP: every data set needed a missing module (${skipped[*]})"
    exit 77
fi
[ "${#skipped[@]}" -eq 0 ] || echo "NOTE: skipped ${skipped[*]} (missing Python modules, see above)"
echo "preprocess: $ran data sets converted, checked and loaded by dcodr"
