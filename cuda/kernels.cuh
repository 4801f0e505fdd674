// Device-side helpers shared by cuda/*.cu.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>

#include "cuda/launch.h"

namespace dcodr::cuda {

template <class F>
void dispatch_all(int t, F&& f) {
    switch (t) {
        case kF32: f(float{}); break;
        case kF64: f(double{}); break;
        default: f(std::int64_t{}); break;
    }
}
template <class F>
void dispatch_float(int t, const char* op, F&& f) {
    if (t == kF32) return f(float{});
    if (t == kF64) return f(double{});
    cuda_fail(std::string(op) + " on CUDA: expected a float32 or float64 tensor, got int64");
}

// Accumulation type of reductions: double for float (as the CPU backend does).
template <class T>
using acc_t = std::conditional_t<std::is_same_v<T, float>, double, T>;

#define DCODR_GRID_LOOP(i, n)                                                                        \
    for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < (n); \
         i += static_cast<std::int64_t>(blockDim.x) * gridDim.x)

}  // namespace dcodr::cuda
