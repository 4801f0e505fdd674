# Sourced by the test commands: `test_counts LOG` prints "N passed, N failed, N skipped" from a
# `meson test` log (timeouts count as failures), the plain line any CI reader understands.
test_counts() {
  local ok fail skip timeout
  ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$1" | tail -1)
  fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$1" | tail -1)
  skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$1" | tail -1)
  timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$1" | tail -1)
  echo "${ok:-0} passed, $(( ${fail:-0} + ${timeout:-0} )) failed, ${skip:-0} skipped"
}
