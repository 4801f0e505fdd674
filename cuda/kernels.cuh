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

// Launches kernel<T> for the float type named by `dt` (a launcher's argument) on stream `s`,
// then checks the launch; `name` is the op named in the error for an int64 tensor.
#define DCODR_FLOAT_LAUNCH_T(name, kernel, grid, threads, ...)  \
    dispatch_float(dt, name, [&](auto tag) {                    \
        using T = decltype(tag);                                \
        DCODR_LAUNCH(grid, threads, s, kernel<T>)(__VA_ARGS__); \
        DCODR_CUDA_LAUNCH_CHECK();                              \
    })
#define DCODR_FLOAT_LAUNCH(name, kernel, grid, ...) DCODR_FLOAT_LAUNCH_T(name, kernel, grid, kThreads, __VA_ARGS__)

#define DCODR_GRID_LOOP(i, n)                                                                        \
    for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < (n); \
         i += static_cast<std::int64_t>(blockDim.x) * gridDim.x)

}  // namespace dcodr::cuda
