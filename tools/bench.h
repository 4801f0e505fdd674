// The `dcodr bench` subcommands. Each prints its results as JSON on stdout and returns a
// process exit code.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace dcodr::tools {

// Upper middle of the values (the median for odd counts).
inline double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct Timing {
    double median, best;  // milliseconds
};

// Wall time of f(i), i = 0, 1, ..., over `repeats` timed calls after `warmup` untimed ones
// (i counts all calls, so a benchmark can vary its input per call).
template <class F>
Timing time_ms(std::int64_t repeats, F&& f, std::int64_t warmup = 0) {
    std::int64_t i = 0;
    for (; i < warmup; ++i) f(i);
    std::vector<double> ms;
    for (std::int64_t r = 0; r < repeats; ++r, ++i) {
        auto t0 = std::chrono::steady_clock::now();
        f(i);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return {median_of(ms), *std::min_element(ms.begin(), ms.end())};
}

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
