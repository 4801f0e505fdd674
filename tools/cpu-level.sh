#!/bin/sh
# Exits 0 when this machine's CPU runs the x86-64 micro-architecture level named by $1
# (x86-64-v3 or x86-64-v4), judged by the flags in /proc/cpuinfo; meson.build's
# -Dcpu_target=auto asks it. The flags are the levels' definitions (x86-64 psABI).
case "$1" in
  x86-64-v3) need="avx avx2 bmi1 bmi2 f16c fma abm movbe xsave" ;;
  x86-64-v4) need="avx avx2 bmi1 bmi2 f16c fma abm movbe xsave avx512f avx512bw avx512cd avx512dq avx512vl" ;;
  *) echo "cpu-level.sh: unknown level '$1'" >&2; exit 2 ;;
esac
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null) || exit 1
for f in $need; do
  case " ${flags#*:} " in *" $f "*) ;; *) exit 1 ;; esac
done
exit 0
