// Kernel launchers of the CUDA backend: plain functions over raw device pointers, defined in
// cuda/*.cu and called by the CudaBackend methods (cuda/ops.cpp). Free of fmt and of the
// tensor headers so nvcc can compile the .cu files (see cuda_backend.h). Every launcher
// queues work on `stream` and returns without waiting.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "cuda/check.h"

namespace dcodr::cuda {

// Element type codes: the values of dcodr::DType (static_asserts in cuda/ops.cpp).
enum Dt : int { kF32 = 0, kF64 = 1, kI64 = 2 };
// The order of dcodr::UnaryOp / dcodr::BinaryOp.
enum class UOp : int { neg, exp, log, sqrt, rsqrt, abs, tanh, sigmoid, relu, leaky_relu, pow_scalar, add_scalar,
                       mul_scalar, sign, square, reciprocal };
enum class BOp : int { add, sub, mul, div, maximum, minimum, eq, ne, lt, le, gt, ge, relu_grad, leaky_relu_grad };

constexpr int kMaxDims = 10;
constexpr int kThreads = 256;

// Up to N operands of one shape (dims merged where possible), passed to kernels by value.
template <int N>
struct Strided {
    int ndim = 0;
    std::int64_t size[kMaxDims];
    std::int64_t stride[N][kMaxDims];
#if defined(__CUDACC__) || defined(DCODR_CUDA_SIM)
    // Element offsets of linear (row-major) index i in each operand.
    __device__ __forceinline__ void offsets(std::int64_t i, std::int64_t (&off)[N]) const {
#pragma unroll
        for (int k = 0; k < N; ++k) off[k] = 0;
        for (int d = ndim - 1; d >= 0; --d) {
            std::int64_t s = size[d];
            std::int64_t idx = i % s;
            i /= s;
#pragma unroll
            for (int k = 0; k < N; ++k) off[k] += idx * stride[k][d];
        }
    }
#endif
};

// Kernel launch: `DCODR_LAUNCH(grid, block, stream, kernel<T>)(args...)` is
// `kernel<T><<<grid, block, 0, stream>>>(args...)` under nvcc, and a launch on the CUDA
// simulator (cuda/sim, docs/cuda-simulator.md) when the .cu files are compiled as C++.
#if defined(DCODR_CUDA_SIM)
#define DCODR_LAUNCH(grid, block, stream, ...) \
    ::dcodr::cuda::sim::launcher(dim3(grid), dim3(block), (stream), __VA_ARGS__, #__VA_ARGS__)
#else
#define DCODR_LAUNCH(grid, block, stream, ...) __VA_ARGS__<<<(grid), (block), 0, (stream)>>>
#endif

inline unsigned blocks_for(std::int64_t n, int threads = kThreads) {
    std::int64_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > 65535LL * 32) b = 65535LL * 32;  // grid-stride loops cover the rest
    return static_cast<unsigned>(b);
}

// ---- memory.cu ----
void launch_fill(void* p, int dt, double value, std::int64_t n, cudaStream_t s);
void launch_arange(void* p, int dt, std::int64_t n, cudaStream_t s);
// ix == nullptr: both contiguous (then dtypes differ, or the caller would memcpy).
void launch_copy(void* dst, int ddt, const void* src, int sdt, const Strided<2>* ix, std::int64_t n,
                 cudaStream_t s);
void launch_uniform(void* p, int dt, std::int64_t n, std::uint64_t seed, std::uint64_t offset, double lo, double hi,
                    cudaStream_t s);
void launch_normal(void* p, int dt, std::int64_t n, std::uint64_t seed, std::uint64_t offset, double mean,
                   double std, cudaStream_t s);

// ---- elementwise.cu ----
void launch_unary(UOp op, int dt, const void* x, void* out, std::int64_t n, double alpha, cudaStream_t s);
// ix == nullptr: all three contiguous with n elements. Operand order in ix: out, a, b.
void launch_binary(BOp op, int dt, const void* a, const void* b, void* out, const Strided<3>* ix, std::int64_t n,
                   double alpha, cudaStream_t s);
// Operand order in ix: out, cond, a, b.
void launch_where(int dt, const void* cond, const void* a, const void* b, void* out, const Strided<4>& ix,
                  std::int64_t n, cudaStream_t s);
void launch_sum_rows(int dt, const void* x, void* out, std::int64_t rows, std::int64_t n, cudaStream_t s);
// Few long rows: a two-pass (chunk partials, then per-row sum) deterministic reduction that
// spreads one row over many SMs. `scratch` holds sum_rows_split_scratch_bytes(rows, n).
bool sum_rows_wants_split(std::int64_t rows, std::int64_t n);
std::size_t sum_rows_split_scratch_bytes(std::int64_t rows, std::int64_t n);
void launch_sum_rows_split(int dt, const void* x, void* out, std::int64_t rows, std::int64_t n, void* scratch,
                           cudaStream_t s);
void launch_max_rows(int dt, const void* x, void* out, std::int64_t* argmax, std::int64_t rows, std::int64_t n,
                     cudaStream_t s);

// Fused Adam step over n contiguous elements (the CPU's formula, see Backend::adam_step).
void launch_adam_step(int dt, void* param, const void* grad, void* m, void* v, std::int64_t n, double lr,
                      double beta1, double beta2, double eps, double c1, double c2, cudaStream_t s);
// Multi-tensor Adam: `chunks` (device memory) lists pieces of contiguous tensors of one dtype;
// one block per chunk, each element updated exactly as launch_adam_step would.
struct AdamChunk {
    void* param;
    const void* grad;
    void* m;
    void* v;
    std::int64_t begin, count;  // elements [begin, begin + count) of this tensor
};
constexpr std::int64_t kAdamChunkElements = 32768;
void launch_adam_multi(int dt, const AdamChunk* chunks, std::int64_t num_chunks, double lr, double beta1,
                       double beta2, double eps, double c1, double c2, cudaStream_t s);

// ---- nn.cu (NCHW; planes = N*C) ----
struct PoolGeom {
    std::int64_t planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
    bool count_include_pad;
};
void launch_max_pool_fwd(int dt, const void* x, void* y, std::int64_t* idx, const PoolGeom& g, cudaStream_t s);
void launch_max_pool_bwd(int dt, const void* gy, const std::int64_t* idx, void* gx, std::int64_t planes,
                         std::int64_t in_plane, std::int64_t out_plane, cudaStream_t s);
void launch_avg_pool_fwd(int dt, const void* x, void* y, const PoolGeom& g, cudaStream_t s);
void launch_avg_pool_bwd(int dt, const void* gy, void* gx, const PoolGeom& g, cudaStream_t s);
void launch_adaptive_avg_fwd(int dt, const void* x, void* y, const PoolGeom& g, cudaStream_t s);
void launch_adaptive_avg_bwd(int dt, const void* gy, void* gx, const PoolGeom& g, cudaStream_t s);
void launch_upsample_fwd(int dt, const void* x, void* y, const PoolGeom& g, cudaStream_t s);
void launch_upsample_bwd(int dt, const void* gy, void* gx, const PoolGeom& g, cudaStream_t s);

// ---- batch_norm.cu: batch norm over x [N, C, S] ----
// Null weight = 1, null bias = 0, null running stats = none. residual (or null) is added to
// the normalised value, then relu: y = max(., 0) (BatchNormTail); relu_out (backward): gy
// counts only where relu_out > 0, and g_relu_in (or null) receives that masked gradient.
struct BnShape {
    std::int64_t n, c, sp;
    std::int64_t groups;  // statistics per consecutive N/groups slice (Backend::batch_norm_forward_train)
};
// Doubles of device scratch the training launchers need for this shape (0: none; they split a
// channel's values over several blocks only when the channels alone cannot fill the GPU).
std::int64_t bn_scratch_doubles(const BnShape& shape);
void launch_bn_train(int dt, const BnShape& shape, const void* x, const void* weight, const void* bias,
                     void* running_mean, void* running_var, double momentum, double eps, const void* residual,
                     bool relu, void* y, void* save_mean, void* save_invstd, double* scratch, cudaStream_t s);
void launch_bn_eval(int dt, const void* x, const void* weight, const void* bias, const void* running_mean,
                    const void* running_var, double eps, void* y, std::int64_t n, std::int64_t c, std::int64_t sp,
                    cudaStream_t s);
void launch_bn_backward(int dt, const BnShape& shape, const void* gy, const void* x, const void* weight,
                        const void* save_mean, const void* save_invstd, const void* relu_out, void* gx, void* gweight,
                        void* gbias, void* g_relu_in, double* scratch, cudaStream_t s);

// ---- index.cu ([outer, n, inner] views) ----
void launch_index_select(int dt, const void* x, const std::int64_t* idx, void* out, std::int64_t outer,
                         std::int64_t n, std::int64_t k, std::int64_t inner, cudaStream_t s);
// Scratch bytes launch_index_add needs for k indices.
std::size_t index_add_scratch_bytes(std::int64_t k, std::int64_t n);
void launch_index_add(int dt, const void* src, const std::int64_t* idx, void* out, std::int64_t outer,
                      std::int64_t n, std::int64_t k, std::int64_t inner, void* scratch, std::size_t scratch_bytes,
                      cudaStream_t s);
void launch_gather(int dt, const void* x, const std::int64_t* idx, void* out, std::int64_t outer, std::int64_t n,
                   std::int64_t k, std::int64_t inner, cudaStream_t s);
void launch_scatter_add(int dt, const void* src, const std::int64_t* idx, void* out, std::int64_t outer,
                        std::int64_t n, std::int64_t k, std::int64_t inner, cudaStream_t s);

}  // namespace dcodr::cuda
