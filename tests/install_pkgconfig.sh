#!/usr/bin/env bash
# `meson install` into a temporary root, then build the C API's example the way another project
# would: only through the installed pkg-config file and header, and run it.
# Usage: install_pkgconfig.sh BUILD_DIR EXAMPLE_SOURCE MAKE_TINY_ENCODER
set -euo pipefail
build="$1" source="$2" make_tiny="$3"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
meson install -C "$build" --destdir "$work/root" --no-rebuild --quiet > "$work/install.log" 2>&1 ||
    { cat "$work/install.log"; exit 1; }
pc=$(find "$work/root" -name dcodr.pc | head -n 1)
test -n "$pc" || { echo "no dcodr.pc installed"; exit 1; }
test -n "$(find "$work/root" -path '*/include/dcodr/dcodr.h')" || { echo "dcodr.h not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$work/root"
flags=$(pkg-config --cflags --libs dcodr)
echo "pkg-config --cflags --libs dcodr: $flags"
# A copy of the example, outside the source tree: it must not see the repository's headers.
cp "$source" "$work/main.c"
cc -std=c99 -Wall -Wextra -Werror "$work/main.c" $flags -o "$work/example"
libdir=$(pkg-config --libs-only-L dcodr | sed 's/^ *-L//; s/ *$//')  # already under the sysroot
export LD_LIBRARY_PATH="$libdir"
"$make_tiny" "$work/encoder.safetensors"
{ printf 'P5\n20 20\n255\n'; head -c 400 /dev/urandom; } > "$work/img.pgm"
"$work/example" "$work/encoder.safetensors" "$work/img.pgm" > "$work/out.txt"
test "$(wc -w < "$work/out.txt")" -eq 9  # the file name and an 8-dimensional code
if "$work/example" "$work/missing.safetensors" "$work/img.pgm" 2> "$work/err.txt"; then exit 1; fi
grep -q DCODR_ERR_IO "$work/err.txt"
echo "install_pkgconfig: ok"
