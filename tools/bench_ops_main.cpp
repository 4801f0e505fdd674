// Temporary standalone runner for the ops benchmark (until `dcodr bench ops` is wired).
#include "tools/bench_ops.h"

int main(int c, char** v) { return dcodr::tools::bench_ops_main(c, v); }
