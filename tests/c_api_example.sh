#!/usr/bin/env bash
# The C API's example program (tools/examples/encode_example.c) against `dcodr encode`: the same
# images through both must give the same codes; a missing encoder file must give DCODR_ERR_IO.
# Usage: c_api_example.sh DCODR ENCODE_EXAMPLE MAKE_TINY_ENCODER train|tiny
#   train: the encoder is trained by `dcodr train` (a few steps) and also converted to F16;
#   tiny:  inference-only build, the encoder comes from make_tiny_encoder.
set -euo pipefail
dcodr="$1" example="$2" make_tiny="$3" mode="$4"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$mode" = train ]; then
    "$dcodr" generate-data --out "$work/shapes.npz" --count 64 --seed 5 2> /dev/null
    "$dcodr" train --data "$work/shapes.npz" --depth 18 --width 0.125 --hidden 32 --code-dim 16 --image-size 32 \
        --images-per-domain 4 --steps 2 --out "$work/run" 2> /dev/null
    encoder="$work/run/encoder.safetensors"
else
    "$make_tiny" "$work/encoder.safetensors"
    encoder="$work/encoder.safetensors"
fi

# Five random 40x36 colour images as binary PPM (decoded by both: stb reads PNM), listed in a CSV.
echo "path,domain" > "$work/images.csv"
images=()
for i in 0 1 2 3 4; do
    f="$work/img$i.ppm"
    { printf 'P6\n36 40\n255\n'; head -c $((36 * 40 * 3)) /dev/urandom; } > "$f"
    echo "img$i.ppm,0" >> "$work/images.csv"
    images+=("$f")
done

# .npy float32 -> one value per line (header: 6-byte magic, 2 version bytes, 2-byte header length).
npy_values() {
    local hlen
    hlen=$(od -An -tu2 -j8 -N2 "$1" | tr -d ' ')
    od -An -v -tf4 -w4 -j$((10 + hlen)) "$1" | tr -d ' '
}

compare() {  # compare ENCODER: example's codes vs dcodr encode's, max |difference| <= 1e-5
    "$dcodr" encode --weights "$1" --data "$work/images.csv" --out "$work/codes.npy" 2> /dev/null
    "$example" "$1" "${images[@]}" > "$work/example.txt" 2> /dev/null
    test "$(wc -l < "$work/example.txt")" -eq 5
    cut -d' ' -f2- "$work/example.txt" | tr ' ' '\n' > "$work/example_values.txt"
    npy_values "$work/codes.npy" > "$work/encode_values.txt"
    test "$(wc -l < "$work/example_values.txt")" -eq "$(wc -l < "$work/encode_values.txt")"
    paste "$work/example_values.txt" "$work/encode_values.txt" |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; n2 += $1 * $1 }
             END { printf "max |example - dcodr encode| = %g over %d values\n", m, NR;
                   if (m > 1e-5 || NR == 0 || n2 < 4.9 || n2 > 5.1) exit 1 }'
}
compare "$encoder"

if [ "$mode" = train ]; then
    # dcodr convert --dtype f16 keeps the encoder's metadata: the example and dcodr encode open it.
    "$dcodr" convert "$encoder" --out "$work/encoder_f16.safetensors" --dtype f16 2> /dev/null
    "$dcodr" inspect "$work/encoder_f16.safetensors" | grep -E "^proj.weight +F16 " > /dev/null
    compare "$work/encoder_f16.safetensors"
    # A checkpoint is not converted to 16 bits (a resume would continue from rounded state).
    if "$dcodr" convert "$work/run/checkpoint.safetensors" --out "$work/c16.safetensors" --dtype bf16 \
        2> "$work/convert_err.txt"; then
        echo "converting a checkpoint to bf16 should fail"; exit 1
    fi
    grep -q "checkpoint" "$work/convert_err.txt"
fi

# A missing encoder file: exit 1, DCODR_ERR_IO and the path in the message.
if "$example" "$work/nope.safetensors" "${images[0]}" > /dev/null 2> "$work/err.txt"; then
    echo "example should fail on a missing file"; exit 1
else
    test $? -eq 1
fi
grep -q "DCODR_ERR_IO" "$work/err.txt"
grep -q "nope.safetensors" "$work/err.txt"
# Not an encoder: DCODR_ERR_FORMAT.
if "$example" "${images[0]}" "${images[1]}" > /dev/null 2> "$work/err2.txt"; then
    echo "example should fail on a non-encoder file"; exit 1
fi
grep -q "DCODR_ERR_FORMAT" "$work/err2.txt"
echo "c_api_example: ok"
