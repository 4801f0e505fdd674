// The `dcodr bench` subcommands. Each prints its results as JSON on stdout and returns a
// process exit code.
#pragma once

namespace dcodr::tools {

// `bench ops`: the CPU kernels that dominate training (GEMM and the three convolution passes
// at ResNet-18's layer shapes). Options: --repeats N, --threads N, --quick (tiny sizes, one
// repeat: a smoke test for CI).
int bench_ops_main(int argc, char** argv);

// `bench step`: the DCoDR-norec training step (tools/bench_step.cpp); --profile N adds a
// per-op time breakdown.
int bench_step_main(int argc, char** argv);

// `bench augment`: batch loading and positive augmentation on the host (tools/bench_augment.cpp):
// can the data side keep up with a given step time?
int bench_augment_main(int argc, char** argv);

}  // namespace dcodr::tools
