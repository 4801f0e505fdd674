// `dcodr bench ops`: times the CPU kernels that dominate training (GEMM and the three
// convolution passes at ResNet-18's layer shapes) and prints the results as JSON.
#pragma once

namespace dcodr::tools {

// Options: --repeats N (default 5), --threads N, --quick (tiny sizes, one repeat: a smoke
// test for CI). Returns a process exit code.
int bench_ops_main(int argc, char** argv);

}  // namespace dcodr::tools
