// Elementwise (unary, binary with stride-0 broadcast views, where) and row reductions.
//
// Reductions are deterministic: a fixed assignment of elements to threads and a fixed
// shuffle tree, no atomics, so a rerun gives the same bits. Float sums accumulate in double.
// Plain reference versions: tensor/reference/{elementwise,matmul,optim}.cpp.
#include <cmath>

#include "cuda/kernels.cuh"

namespace dcodr::cuda {

namespace {

template <class T>
__device__ __forceinline__ T apply_unary(UOp op, T x, T alpha) {
    if constexpr (std::is_floating_point_v<T>) {
        switch (op) {
            case UOp::exp: return exp(x);
            case UOp::log: return log(x);
            case UOp::sqrt: return sqrt(x);
            case UOp::rsqrt: return T(1) / sqrt(x);
            case UOp::tanh: return tanh(x);
            case UOp::sigmoid: return T(1) / (T(1) + exp(-x));
            case UOp::pow_scalar: return pow(x, alpha);
            case UOp::reciprocal: return T(1) / x;
            case UOp::abs: return fabs(x);
            default: break;
        }
    } else {
        if (op == UOp::abs) return x < T(0) ? -x : x;
    }
    switch (op) {
        case UOp::neg: return -x;
        case UOp::relu: return x > T(0) ? x : T(0);
        case UOp::leaky_relu: return x > T(0) ? x : alpha * x;
        case UOp::add_scalar: return x + alpha;
        case UOp::mul_scalar: return x * alpha;
        case UOp::sign: return T((x > T(0)) - (x < T(0)));
        case UOp::square: return x * x;
        default: return x;
    }
}

template <class T>
__device__ __forceinline__ T apply_binary(BOp op, T a, T b, T alpha) {
    switch (op) {
        case BOp::add: return a + b;
        case BOp::sub: return a - b;
        case BOp::mul: return a * b;
        case BOp::div: return a / b;
        case BOp::maximum: return a > b ? a : b;
        case BOp::minimum: return a < b ? a : b;
        case BOp::eq: return T(a == b);
        case BOp::ne: return T(a != b);
        case BOp::lt: return T(a < b);
        case BOp::le: return T(a <= b);
        case BOp::gt: return T(a > b);
        case BOp::ge: return T(a >= b);
        case BOp::relu_grad: return b > T(0) ? a : T(0);
        case BOp::leaky_relu_grad: return b > T(0) ? a : alpha * a;
    }
    return a;
}

// x, out: [n] (contiguous).
template <class T>
__global__ void unary_kernel(UOp op, const T* x, T* out, std::int64_t n, T alpha) {
    DCODR_GRID_LOOP(i, n) out[i] = apply_unary(op, x[i], alpha);
}
// a, b, out: [n] (contiguous).
template <class T>
__global__ void binary_flat_kernel(BOp op, const T* a, const T* b, T* out, std::int64_t n, T alpha) {
    DCODR_GRID_LOOP(i, n) out[i] = apply_binary(op, a[i], b[i], alpha);
}
// a, b, out: views of out's shape (ix: out, a, b strides; 0 on broadcast dims).
template <class T>
__global__ void binary_strided_kernel(BOp op, const T* a, const T* b, T* out, Strided<3> ix, std::int64_t n,
                                      T alpha) {
    DCODR_GRID_LOOP(i, n) {
        std::int64_t off[3];
        ix.offsets(i, off);
        out[off[0]] = apply_binary(op, a[off[1]], b[off[2]], alpha);
    }
}
// c, a, b, out: views of out's shape (ix: out, c, a, b).
template <class T>
__global__ void where_kernel(const T* c, const T* a, const T* b, T* out, Strided<4> ix, std::int64_t n) {
    DCODR_GRID_LOOP(i, n) {
        std::int64_t off[4];
        ix.offsets(i, off);
        out[off[0]] = c[off[1]] != T(0) ? a[off[2]] : b[off[3]];
    }
}

template <class A>
__device__ __forceinline__ A warp_sum(A v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

// One warp per row (short rows).
// x: [rows, n] -> out: [rows].
template <class T>
__global__ void sum_rows_warp(const T* x, T* out, std::int64_t rows, std::int64_t n) {
    using A = acc_t<T>;
    std::int64_t warp = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / 32;
    for (std::int64_t r = warp; r < rows; r += warps) {
        const T* row = x + r * n;
        A acc = 0;
        for (std::int64_t i = lane; i < n; i += 32) acc += row[i];
        acc = warp_sum(acc);
        if (lane == 0) out[r] = static_cast<T>(acc);
    }
}
// One block per row (long rows).
// x: [rows, n] -> out: [rows].
template <class T>
__global__ void sum_rows_block(const T* x, T* out, std::int64_t rows, std::int64_t n) {
    using A = acc_t<T>;
    __shared__ A part[kThreads / 32];
    for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* row = x + r * n;
        A acc = 0;
        for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += row[i];
        acc = warp_sum(acc);
        if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = acc;
        __syncthreads();
        if (threadIdx.x < 32) {
            A v = threadIdx.x < blockDim.x / 32 ? part[threadIdx.x] : A(0);
            v = warp_sum(v);
            if (threadIdx.x == 0) out[r] = static_cast<T>(v);
        }
        __syncthreads();
    }
}

// Two-pass sum for a few very long rows: pass 1 reduces fixed chunks of each row to partials
// (blockIdx.y = row, blockIdx.x = chunk), pass 2 sums each row's partials in chunk order.
// x: [rows, n] -> partial: [rows, chunks].
template <class T>
__global__ void sum_chunks(const T* x, acc_t<T>* partial, std::int64_t n, std::int64_t chunk, int chunks) {
    using A = acc_t<T>;
    __shared__ A part[kThreads / 32];
    std::int64_t r = blockIdx.y, c = blockIdx.x;
    std::int64_t lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
    const T* row = x + r * n;
    A acc = 0;
    for (std::int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) acc += row[i];
    acc = warp_sum(acc);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = acc;
    __syncthreads();
    if (threadIdx.x < 32) {
        A v = threadIdx.x < blockDim.x / 32 ? part[threadIdx.x] : A(0);
        v = warp_sum(v);
        if (threadIdx.x == 0) partial[r * chunks + c] = v;
    }
}
// partial: [rows, chunks] -> out: [rows].
template <class T>
__global__ void sum_partials(const acc_t<T>* partial, T* out, std::int64_t rows, int chunks) {
    using A = acc_t<T>;
    std::int64_t r = blockIdx.x;
    if (r >= rows) return;
    A acc = 0;
    for (int c = threadIdx.x; c < chunks; c += 32) acc += partial[r * chunks + c];
    acc = warp_sum(acc);
    if (threadIdx.x == 0) out[r] = static_cast<T>(acc);
}

// (value, index) max with the first index on ties, as the CPU's sequential scan.
template <class T>
__device__ __forceinline__ void better(T& v, std::int64_t& i, T ov, std::int64_t oi) {
    if (oi < 0) return;
    if (i < 0 || ov > v || (ov == v && oi < i)) {
        v = ov;
        i = oi;
    }
}
template <class T>
__device__ __forceinline__ void warp_max(T& v, std::int64_t& i) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        T ov = __shfl_down_sync(0xffffffffu, v, o);
        std::int64_t oi = __shfl_down_sync(0xffffffffu, i, o);
        better(v, i, ov, oi);
    }
}
// x: [rows, n] -> out, arg: [rows].
template <class T>
__global__ void max_rows_block(const T* x, T* out, std::int64_t* arg, std::int64_t rows, std::int64_t n) {
    __shared__ T pv[kThreads / 32];
    __shared__ std::int64_t pi[kThreads / 32];
    for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* row = x + r * n;
        T v = T(0);
        std::int64_t bi = -1;
        // The CPU's scan (`row[i] > row[best]`, best starting at 0) never picks a NaN except
        // row[0]: skip NaNs elsewhere so a thread's first element cannot shadow later values.
        for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
            T xi = row[i];
            if (xi == xi || i == 0) better(v, bi, xi, i);
        }
        warp_max(v, bi);
        if (threadIdx.x % 32 == 0) {
            pv[threadIdx.x / 32] = v;
            pi[threadIdx.x / 32] = bi;
        }
        __syncthreads();
        if (threadIdx.x < 32) {
            T w = T(0);
            std::int64_t wi = -1;
            if (threadIdx.x < blockDim.x / 32) {
                w = pv[threadIdx.x];
                wi = pi[threadIdx.x];
            }
            warp_max(w, wi);
            if (threadIdx.x == 0) {
                out[r] = w;
                arg[r] = wi;
            }
        }
        __syncthreads();
    }
}
// One thread per row (short rows): a plain sequential scan, exactly the CPU's.
// x: [rows, n] -> out, arg: [rows].
template <class T>
__global__ void max_rows_thread(const T* x, T* out, std::int64_t* arg, std::int64_t rows, std::int64_t n) {
    DCODR_GRID_LOOP(r, rows) {
        const T* row = x + r * n;
        std::int64_t best = 0;
        for (std::int64_t i = 1; i < n; ++i)
            if (row[i] > row[best]) best = i;
        out[r] = row[best];
        arg[r] = best;
    }
}

constexpr std::int64_t kRowGrid = 65535;

// One element of an Adam step; both kernels below use it, so single- and multi-tensor updates
// are bit-identical.
template <class T>
__device__ __forceinline__ void adam_update(T* p, const T* g, T* m, T* v, std::int64_t i, T step, T b1, T b2, T eps,
                                            T inv_sqrt_c2) {
    T gi = g[i];
    T mi = b1 * m[i] + (T(1) - b1) * gi;
    T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step * mi / (sqrt(vi) * inv_sqrt_c2 + eps);
}

// p, g, m, v: [n] (contiguous), updated in place.
template <class T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, std::int64_t n, T step, T b1, T b2, T eps,
                            T inv_sqrt_c2) {
    DCODR_GRID_LOOP(i, n) adam_update(p, g, m, v, i, step, b1, b2, eps, inv_sqrt_c2);
}

// chunks: [num_chunks] pieces of contiguous (p, g, m, v) tensors.
template <class T>
__global__ void adam_multi_kernel(const AdamChunk* chunks, std::int64_t num_chunks, T step, T b1, T b2, T eps,
                                  T inv_sqrt_c2) {
    for (std::int64_t c = blockIdx.x; c < num_chunks; c += gridDim.x) {
        const AdamChunk ch = chunks[c];
        T* p = static_cast<T*>(ch.param) + ch.begin;
        const T* g = static_cast<const T*>(ch.grad) + ch.begin;
        T* m = static_cast<T*>(ch.m) + ch.begin;
        T* v = static_cast<T*>(ch.v) + ch.begin;
        for (std::int64_t i = threadIdx.x; i < ch.count; i += blockDim.x)
            adam_update(p, g, m, v, i, step, b1, b2, eps, inv_sqrt_c2);
    }
}

}  // namespace

void launch_unary(UOp op, int dt, const void* x, void* out, std::int64_t n, double alpha, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(n), kThreads, s, unary_kernel<T>)(op, static_cast<const T*>(x), static_cast<T*>(out), n,
                                                           static_cast<T>(alpha));
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_binary(BOp op, int dt, const void* a, const void* b, void* out, const Strided<3>* ix, std::int64_t n,
                   double alpha, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        auto pa = static_cast<const T*>(a);
        auto pb = static_cast<const T*>(b);
        auto po = static_cast<T*>(out);
        if (ix)
            DCODR_LAUNCH(blocks_for(n), kThreads, s, binary_strided_kernel<T>)(op, pa, pb, po, *ix, n, static_cast<T>(alpha));
        else
            DCODR_LAUNCH(blocks_for(n), kThreads, s, binary_flat_kernel<T>)(op, pa, pb, po, n, static_cast<T>(alpha));
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_where(int dt, const void* cond, const void* a, const void* b, void* out, const Strided<4>& ix,
                  std::int64_t n, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(n), kThreads, s, where_kernel<T>)(static_cast<const T*>(cond), static_cast<const T*>(a),
                                                           static_cast<const T*>(b), static_cast<T*>(out), ix, n);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_sum_rows(int dt, const void* x, void* out, std::int64_t rows, std::int64_t n, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        auto px = static_cast<const T*>(x);
        auto po = static_cast<T*>(out);
        if (n <= 1024) {
            DCODR_LAUNCH(blocks_for(rows * 32), kThreads, s, sum_rows_warp<T>)(px, po, rows, n);
        } else {
            unsigned grid = static_cast<unsigned>(rows < kRowGrid ? rows : kRowGrid);
            DCODR_LAUNCH(grid, kThreads, s, sum_rows_block<T>)(px, po, rows, n);
        }
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_adam_step(int dt, void* param, const void* grad, void* m, void* v, std::int64_t n, double lr,
                      double beta1, double beta2, double eps, double c1, double c2, cudaStream_t s) {
    dispatch_float(dt, "adam_step", [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(n), kThreads, s, adam_kernel<T>)(
            static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(m), static_cast<T*>(v), n,
            static_cast<T>(lr / c1), static_cast<T>(beta1), static_cast<T>(beta2), static_cast<T>(eps),
            static_cast<T>(1.0 / std::sqrt(c2)));
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_adam_multi(int dt, const AdamChunk* chunks, std::int64_t num_chunks, double lr, double beta1,
                       double beta2, double eps, double c1, double c2, cudaStream_t s) {
    dispatch_float(dt, "adam_step", [&](auto tag) {
        using T = decltype(tag);
        unsigned grid = static_cast<unsigned>(num_chunks < kRowGrid ? num_chunks : kRowGrid);
        DCODR_LAUNCH(grid, kThreads, s, adam_multi_kernel<T>)(chunks, num_chunks, static_cast<T>(lr / c1),
                                                       static_cast<T>(beta1), static_cast<T>(beta2),
                                                       static_cast<T>(eps), static_cast<T>(1.0 / std::sqrt(c2)));
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

namespace {
// Split plan for launch_sum_rows_split: ~4 blocks per SM of an H200 in all, chunks >= 4096.
void split_plan(std::int64_t rows, std::int64_t n, int& chunks, std::int64_t& chunk) {
    std::int64_t want = (528 + rows - 1) / rows;
    std::int64_t most = (n + 4095) / 4096;
    if (want > most) want = most;
    if (want > 1024) want = 1024;
    if (want < 1) want = 1;
    chunks = static_cast<int>(want);
    chunk = (n + chunks - 1) / chunks;
}
}  // namespace

bool sum_rows_wants_split(std::int64_t rows, std::int64_t n) { return rows < 256 && n >= 32768; }

std::size_t sum_rows_split_scratch_bytes(std::int64_t rows, std::int64_t n) {
    int chunks;
    std::int64_t chunk;
    split_plan(rows, n, chunks, chunk);
    return static_cast<std::size_t>(rows) * static_cast<std::size_t>(chunks) * 8;  // double or int64 partials
}

void launch_sum_rows_split(int dt, const void* x, void* out, std::int64_t rows, std::int64_t n, void* scratch,
                           cudaStream_t s) {
    int chunks;
    std::int64_t chunk;
    split_plan(rows, n, chunks, chunk);
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        auto* partial = static_cast<acc_t<T>*>(scratch);
        dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(rows));
        DCODR_LAUNCH(grid, kThreads, s, sum_chunks<T>)(static_cast<const T*>(x), partial, n, chunk, chunks);
        DCODR_CUDA_LAUNCH_CHECK();
        DCODR_LAUNCH(static_cast<unsigned>(rows), 32, s, sum_partials<T>)(partial, static_cast<T*>(out), rows, chunks);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_max_rows(int dt, const void* x, void* out, std::int64_t* argmax, std::int64_t rows, std::int64_t n,
                     cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        auto px = static_cast<const T*>(x);
        auto po = static_cast<T*>(out);
        if (n <= 64) {
            DCODR_LAUNCH(blocks_for(rows), kThreads, s, max_rows_thread<T>)(px, po, argmax, rows, n);
        } else {
            unsigned grid = static_cast<unsigned>(rows < kRowGrid ? rows : kRowGrid);
            DCODR_LAUNCH(grid, kThreads, s, max_rows_block<T>)(px, po, argmax, rows, n);
        }
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

}  // namespace dcodr::cuda
