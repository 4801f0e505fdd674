#!/usr/bin/env bash
# A build for x86-64-v3 or v4 (-Dcpu_target, meson.build) started on a CPU without those
# instructions must stop with a message that names the level and how to rebuild (exit 70),
# not die of SIGILL inside a kernel. The older CPU is QEMU's user-mode emulator with its
# 'qemu64' model (SSE2 only; QEMU's emulator has no AVX-512 at all). SKIP (77) without
# qemu-x86_64 (Debian: qemu-user) or on a baseline or non-x86 build.
set -uo pipefail
dcodr="$1"
[ "$(uname -m)" = x86_64 ] || { echo "SKIP: not an x86-64 machine"; exit 77; }
command -v qemu-x86_64 > /dev/null || { echo "SKIP: no qemu-x86_64 (apt-get install qemu-user)"; exit 77; }
level=$("$dcodr" --version | sed -n 's/^simd: .*(\(x86-64[^)]*\))$/\1/p')
echo "build level: ${level:-unknown}"
case "$level" in
  x86-64-v3|x86-64-v4) ;;
  *) echo "SKIP: a baseline build runs on any x86-64 CPU"; exit 77 ;;
esac
out=$(qemu-x86_64 -cpu qemu64 "$dcodr" --version 2>&1)
rc=$?
echo "under qemu64: exit $rc: $out"
[ "$rc" -eq 70 ] || { echo "FAIL: expected exit 70"; exit 1; }
case "$out" in
  *"compiled for $level"*"-Dcpu_target="*) ;;
  *) echo "FAIL: the message must name $level and -Dcpu_target"; exit 1 ;;
esac
# The same binary on this CPU runs (the guard does not refuse a CPU that has the level).
"$dcodr" --version > /dev/null || { echo "FAIL: refused on this CPU"; exit 1; }
echo "OK"
