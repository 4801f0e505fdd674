// Batch norm over [N, C, S] (own kernels; cuDNN's batch-norm API is deprecated in cuDNN 9,
// requires eps >= 1e-5 and fuses neither a residual add nor statistics groups).
//
// Statistics in double: mean first, then the centred sum of squares (no cancellation when
// |mean| >> std); fixed reduction trees, no atomics, so every result is a fixed function of
// the inputs. Two ways to spread the work, chosen per shape by bn_chunks():
// - one block of 1024 threads per channel, which loops over the statistics groups and does
//   the statistics and the normalising pass in one launch. Right when there are enough
//   channels to fill the GPU (ResNet-50's later layers: 512-2048 channels).
// - a channel's values split over several blocks ("chunks" of consecutive rows), when the
//   channels alone would leave most of the GPU idle (the stem and layer1 of a ResNet: 64
//   channels of 2 x 131,072 values). One block per channel there would run on 64 of the
//   H200's 132 SMs with one load in flight per thread. Two launches: per-chunk partial
//   statistics into a scratch buffer, then a pass in which every block merges its channel's
//   partials (in chunk order: deterministic) and normalises its chunk.
#include <algorithm>

#include "cuda/kernels.cuh"

namespace dcodr::cuda {

namespace {

constexpr int kBnThreads = 1024;       // one block per channel
constexpr int kBnChunkThreads = 256;   // split path
// Split path: aim for about this many blocks in all (~8 per SM on an H200), each with at
// least kBnMinChunk values (4 per thread).
constexpr std::int64_t kBnTargetBlocks = 1024;
constexpr std::int64_t kBnMinChunk = 4 * kBnChunkThreads;

// Blocks per (channel, group); 1 selects the one-block-per-channel kernels.
std::int64_t bn_chunks(const BnShape& q) {
    const std::int64_t rows = q.n / q.groups, per_slice = rows * q.sp, slices = q.c * q.groups;
    if (slices >= kBnTargetBlocks || per_slice >= (std::int64_t(1) << 31)) return 1;  // 32-bit chunk indices
    std::int64_t k = std::min(kBnTargetBlocks / slices, per_slice / kBnMinChunk);
    k = std::min(k, rows);  // at least one row per chunk
    return k > 1 ? k : 1;
}

__device__ __forceinline__ double warp_sum_d(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}
// Sum over the block, deterministic; every thread gets the result.
__device__ double block_sum(double v, double* shared) {
    v = warp_sum_d(v);
    if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        double w = threadIdx.x < blockDim.x / 32 ? shared[threadIdx.x] : 0.0;
        w = warp_sum_d(w);
        if (threadIdx.x == 0) shared[0] = w;
    }
    __syncthreads();
    double r = shared[0];
    __syncthreads();
    return r;
}

// ---------------------------------------------------------------- one block per channel

// Calls f(at) for the elements of channel ch that this thread owns: element i = n * sp + s of the
// channel (n < n_total, s < sp) lives at (n * c + ch) * sp + s, and the thread takes i = threadIdx.x,
// + blockDim.x, ... -- the same elements in the same order as a loop over i, but (n, s) advance
// incrementally: a 64-bit division per element would cost more than the memory access it indexes.
template <class F>
__device__ __forceinline__ void for_channel(std::int64_t n_total, std::int64_t c, std::int64_t sp, std::int64_t ch,
                                            F f) {
    const std::int64_t step = blockDim.x, dn = step / sp, ds = step % sp, plane = c * sp;
    std::int64_t n = threadIdx.x / sp, s = threadIdx.x % sp;
    std::int64_t at = n * plane + ch * sp + s;
    while (n < n_total) {
        f(at);
        n += dn;
        s += ds;
        at += dn * plane + ds;
        if (s >= sp) {  // ds < sp, so one wrap at most
            s -= sp;
            n += 1;
            at += plane - sp;
        }
    }
}

// The normalised value with the fused tail: rounded to T, + residual (rounded as the separate
// add would round it), then the ReLU kernel's rule, so fused == unfused.
template <class T>
__device__ __forceinline__ T bn_out(T x, double scale, double shift, const T* residual, std::int64_t at, bool relu) {
    T v = static_cast<T>(x * scale + shift);
    if (residual) v = v + residual[at];
    return relu ? (v > T(0) ? v : T(0)) : v;
}
// One update of the running statistics (PyTorch's rule: the unbiased variance).
template <class T>
__device__ __forceinline__ void update_running(T* rmean, T* rvar, std::int64_t ch, double momentum, double mean,
                                               double m2, double count) {
    if (rmean) rmean[ch] = static_cast<T>((1.0 - momentum) * rmean[ch] + momentum * mean);
    if (rvar) {
        double unbiased = count > 1 ? m2 / (count - 1) : m2 / count;
        rvar[ch] = static_cast<T>((1.0 - momentum) * rvar[ch] + momentum * unbiased);
    }
}

// __launch_bounds__: launched with 1024 threads, so at most 64 registers per thread.
// x, residual, y: [n, c, sp]; weight, bias, running stats: [c]; smean, sinvstd: [groups, c].
// Grid: one block per channel.
template <class T>
__global__ void __launch_bounds__(kBnThreads)
    bn_train(const T* x, const T* weight, const T* bias, T* rmean, T* rvar, double momentum, double eps,
             const T* residual, bool relu, T* y, T* smean, T* sinvstd, BnShape q) {
    __shared__ double sh[kBnThreads / 32];
    const std::int64_t ch = blockIdx.x, rows = q.n / q.groups, c = q.c, sp = q.sp;
    const double count = static_cast<double>(rows * sp);
    double wv = weight ? static_cast<double>(weight[ch]) : 1.0, bv = bias ? static_cast<double>(bias[ch]) : 0.0;
    // Statistics groups one after the other, as separate launches on the slices would run.
    for (std::int64_t g = 0; g < q.groups; ++g) {
        const std::int64_t base = g * rows * c * sp;
        auto for_group = [&](auto f) { for_channel(rows, c, sp, ch, [&](std::int64_t at) { f(base + at); }); };
        double s = 0;
        for_group([&](std::int64_t at) { s += x[at]; });
        double mean = block_sum(s, sh) / count;
        double m2 = 0;
        for_group([&](std::int64_t at) {
            double d = x[at] - mean;
            m2 += d * d;
        });
        m2 = block_sum(m2, sh);
        double invstd = 1.0 / sqrt(m2 / count + eps);
        double scale = wv * invstd, shift = bv - mean * scale;
        for_group([&](std::int64_t at) { y[at] = bn_out(x[at], scale, shift, residual, at, relu); });
        if (threadIdx.x == 0) {
            smean[g * c + ch] = static_cast<T>(mean);
            sinvstd[g * c + ch] = static_cast<T>(invstd);
            update_running(rmean, rvar, ch, momentum, mean, m2, count);
        }
    }
}

// gx = w·invstd·(gy − mean(gy) − x̂·mean(gy·x̂)); gweight = Σ gy·x̂; gbias = Σ gy (per statistics
// group, then summed over the groups in T, as adding separate launches' results would).
// gy, x, relu_out, gx, g_relu_in: [n, c, sp]; weight, gweight, gbias: [c];
// smean, sinvstd: [groups, c]. Grid: one block per channel.
template <class T>
__global__ void __launch_bounds__(kBnThreads)
    bn_backward(const T* gy, const T* x, const T* weight, const T* smean, const T* sinvstd, const T* relu_out,
                T* gx, T* gweight, T* gbias, T* g_relu_in, BnShape q) {
    __shared__ double sh[kBnThreads / 32];
    const std::int64_t ch = blockIdx.x, rows = q.n / q.groups, c = q.c, sp = q.sp;
    const double count = static_cast<double>(rows * sp);
    const double wv = weight ? static_cast<double>(weight[ch]) : 1.0;
    // The fused ReLU's backward: gradient only where its output was positive.
    auto grad_at = [&](std::int64_t at) { return relu_out && !(relu_out[at] > T(0)) ? 0.0 : double(gy[at]); };
    T gw_total = 0, gb_total = 0;
    for (std::int64_t g = 0; g < q.groups; ++g) {
        const std::int64_t base = g * rows * c * sp;
        auto for_group = [&](auto f) { for_channel(rows, c, sp, ch, [&](std::int64_t at) { f(base + at); }); };
        double mean = smean[g * c + ch], invstd = sinvstd[g * c + ch];
        double sg = 0, sgx = 0;
        for_group([&](std::int64_t at) {
            double gv = grad_at(at);
            sg += gv;
            sgx += gv * (x[at] - mean) * invstd;
        });
        double sum_g = block_sum(sg, sh);
        double sum_gx = block_sum(sgx, sh);
        double mg = sum_g / count, mgx = sum_gx / count;
        for_group([&](std::int64_t at) {
            double xh = (x[at] - mean) * invstd;
            double gv = grad_at(at);
            gx[at] = static_cast<T>(wv * invstd * (gv - mg - xh * mgx));
            if (g_relu_in) g_relu_in[at] = static_cast<T>(gv);  // exact: gv is gy or 0
        });
        gw_total = gw_total + static_cast<T>(sum_gx);
        gb_total = gb_total + static_cast<T>(sum_g);
    }
    if (threadIdx.x == 0) {
        if (gweight) gweight[ch] = gw_total;
        if (gbias) gbias[ch] = gb_total;
    }
}

// ---------------------------------------------------------------- a channel over several blocks

// The block's chunk: grid (chunks, C * groups); blockIdx.y = g * C + ch is the (group, channel)
// slice (also its save_mean index), blockIdx.x the chunk, rows [r0, r1) of the group.
struct Chunk {
    std::int64_t ch, g, slice, chunks;
    std::int64_t base, plane;  // value i of the chunk is at base + (i / sp) * plane + i % sp
    unsigned sp, count;

    __device__ explicit Chunk(const BnShape& q) {
        const std::int64_t rows = q.n / q.groups, k = blockIdx.x;
        chunks = gridDim.x;
        slice = blockIdx.y;
        ch = slice % q.c;
        g = slice / q.c;
        const std::int64_t r0 = k * rows / chunks, r1 = (k + 1) * rows / chunks;
        plane = q.c * q.sp;
        base = ((g * rows + r0) * q.c + ch) * q.sp;
        sp = static_cast<unsigned>(q.sp);
        count = static_cast<unsigned>((r1 - r0) * q.sp);
    }
    // f(at) for values i = threadIdx.x, + blockDim.x, ...: unrolled so that several loads are
    // in flight per thread (32-bit division: chunks hold < 2^31 values).
    template <class F>
    __device__ __forceinline__ void for_each(F f) const {
#pragma unroll 4
        for (unsigned i = threadIdx.x; i < count; i += blockDim.x)
            f(base + static_cast<std::int64_t>(i / sp) * plane + i % sp);
    }
};
// Values in chunk k of a slice with `rows` rows split into `chunks` (as Chunk splits them).
__device__ __forceinline__ double chunk_count(std::int64_t k, std::int64_t chunks, std::int64_t rows, std::int64_t sp) {
    return static_cast<double>(((k + 1) * rows / chunks - k * rows / chunks) * sp);
}

// A slice's mean and centred sum of squares from its chunks' (mean, m2) pairs, merged in chunk
// order (Chan et al.'s pairwise update).
struct Moments {
    double count = 0, mean = 0, m2 = 0;
};
__device__ Moments merge_chunks(const double* part, std::int64_t slice, std::int64_t chunks, std::int64_t rows,
                                std::int64_t sp) {
    Moments m;
    for (std::int64_t k = 0; k < chunks; ++k) {
        const double nk = chunk_count(k, chunks, rows, sp), mk = part[2 * (slice * chunks + k)],
                     m2k = part[2 * (slice * chunks + k) + 1];
        const double total = m.count + nk, delta = mk - m.mean;
        m.mean += delta * nk / total;
        m.m2 += m2k + delta * delta * m.count * nk / total;
        m.count = total;
    }
    return m;
}

// Pass 1: each chunk's mean and centred sum of squares.
// x: [n, c, sp] -> part: per (group, channel, chunk) (mean, m2) pairs.
template <class T>
__global__ void __launch_bounds__(kBnChunkThreads) bn_chunk_stats(const T* __restrict__ x, double* __restrict__ part,
                                                                  BnShape q) {
    __shared__ double sh[kBnChunkThreads / 32];
    const Chunk k(q);
    double s = 0;
    k.for_each([&](std::int64_t at) { s += x[at]; });
    const double mean = block_sum(s, sh) / k.count;
    double m2 = 0;
    k.for_each([&](std::int64_t at) {
        double d = x[at] - mean;
        m2 += d * d;
    });
    m2 = block_sum(m2, sh);
    if (threadIdx.x == 0) {
        part[2 * (k.slice * k.chunks + blockIdx.x)] = mean;
        part[2 * (k.slice * k.chunks + blockIdx.x) + 1] = m2;
    }
}

// Pass 2: merge the slice's partials, normalise the chunk. The first chunk of each slice saves
// its statistics; the first chunk of group 0 updates the running statistics once per group,
// in group order (no other block touches them). At least 4 blocks per SM: without the bound
// the running-statistics branch alone would take the kernel to 74 registers (3 blocks).
// x, residual, y: [n, c, sp]; part from bn_chunk_stats.
template <class T>
__global__ void __launch_bounds__(kBnChunkThreads, 4)
    bn_chunk_apply(const T* __restrict__ x, const T* weight, const T* bias, T* rmean, T* rvar, double momentum,
                   double eps, const T* __restrict__ residual, bool relu, T* __restrict__ y, T* smean, T* sinvstd,
                   const double* part, BnShape q) {
    __shared__ double stat[2];
    const Chunk k(q);
    const std::int64_t rows = q.n / q.groups;
    if (threadIdx.x == 0) {
        Moments m = merge_chunks(part, k.slice, k.chunks, rows, q.sp);
        double invstd = 1.0 / sqrt(m.m2 / m.count + eps);
        stat[0] = m.mean;
        stat[1] = invstd;
        if (blockIdx.x == 0) {
            smean[k.slice] = static_cast<T>(m.mean);
            sinvstd[k.slice] = static_cast<T>(invstd);
            if (k.g == 0)
                for (std::int64_t g = 0; g < q.groups; ++g) {
                    Moments mg = merge_chunks(part, g * q.c + k.ch, k.chunks, rows, q.sp);
                    update_running(rmean, rvar, k.ch, momentum, mg.mean, mg.m2, mg.count);
                }
        }
    }
    __syncthreads();
    const double wv = weight ? static_cast<double>(weight[k.ch]) : 1.0;
    const double bv = bias ? static_cast<double>(bias[k.ch]) : 0.0;
    const double scale = wv * stat[1], shift = bv - stat[0] * scale;
    k.for_each([&](std::int64_t at) { y[at] = bn_out(x[at], scale, shift, residual, at, relu); });
}

// Backward pass 1: each chunk's Σ gy and Σ gy·x̂ (gy masked by the fused ReLU).
// gy, x, relu_out: [n, c, sp] -> part: per (group, channel, chunk) (sum gy, sum gy*xhat).
template <class T>
__global__ void __launch_bounds__(kBnChunkThreads)
    bn_chunk_grad_sums(const T* __restrict__ gy, const T* __restrict__ x, const T* smean, const T* sinvstd,
                       const T* __restrict__ relu_out, double* __restrict__ part, BnShape q) {
    __shared__ double sh[kBnChunkThreads / 32];
    const Chunk k(q);
    const double mean = smean[k.slice], invstd = sinvstd[k.slice];
    double sg = 0, sgx = 0;
    k.for_each([&](std::int64_t at) {
        double gv = relu_out && !(relu_out[at] > T(0)) ? 0.0 : double(gy[at]);
        sg += gv;
        sgx += gv * (x[at] - mean) * invstd;
    });
    sg = block_sum(sg, sh);
    sgx = block_sum(sgx, sh);
    if (threadIdx.x == 0) {
        part[2 * (k.slice * k.chunks + blockIdx.x)] = sg;
        part[2 * (k.slice * k.chunks + blockIdx.x) + 1] = sgx;
    }
}

// A slice's Σ gy and Σ gy·x̂: its chunks' partial sums added in chunk order.
__device__ void sum_chunks(const double* part, std::int64_t slice, std::int64_t chunks, double& sg, double& sgx) {
    sg = 0;
    sgx = 0;
    for (std::int64_t k = 0; k < chunks; ++k) {
        sg += part[2 * (slice * chunks + k)];
        sgx += part[2 * (slice * chunks + k) + 1];
    }
}

// Backward pass 2: gx for the chunk; the first chunk of group 0 writes gweight/gbias (the
// groups' sums added in T, as in bn_backward).
// gy, x, relu_out, gx, g_relu_in: [n, c, sp]; gweight, gbias: [c].
template <class T>
__global__ void __launch_bounds__(kBnChunkThreads)
    bn_chunk_grad_apply(const T* __restrict__ gy, const T* __restrict__ x, const T* weight, const T* smean,
                        const T* sinvstd, const T* __restrict__ relu_out, T* __restrict__ gx, T* gweight, T* gbias,
                        T* __restrict__ g_relu_in, const double* part, BnShape q) {
    __shared__ double sums[2];
    const Chunk k(q);
    if (threadIdx.x == 0) {
        sum_chunks(part, k.slice, k.chunks, sums[0], sums[1]);
        if (blockIdx.x == 0 && k.g == 0) {
            T gw_total = 0, gb_total = 0;
            for (std::int64_t g = 0; g < q.groups; ++g) {
                double sg, sgx;
                sum_chunks(part, g * q.c + k.ch, k.chunks, sg, sgx);
                gw_total = gw_total + static_cast<T>(sgx);
                gb_total = gb_total + static_cast<T>(sg);
            }
            if (gweight) gweight[k.ch] = gw_total;
            if (gbias) gbias[k.ch] = gb_total;
        }
    }
    __syncthreads();
    const double count = static_cast<double>((q.n / q.groups) * q.sp);
    const double mean = smean[k.slice], invstd = sinvstd[k.slice];
    const double wv = weight ? static_cast<double>(weight[k.ch]) : 1.0;
    const double mg = sums[0] / count, mgx = sums[1] / count;
    k.for_each([&](std::int64_t at) {
        double gv = relu_out && !(relu_out[at] > T(0)) ? 0.0 : double(gy[at]);
        double xh = (x[at] - mean) * invstd;
        gx[at] = static_cast<T>(wv * invstd * (gv - mg - xh * mgx));
        if (g_relu_in) g_relu_in[at] = static_cast<T>(gv);
    });
}

// x, y: [n, c, sp]; weight, bias, rmean, rvar: [c]; one thread per element.
template <class T>
__global__ void bn_eval(const T* x, const T* weight, const T* bias, const T* rmean, const T* rvar, double eps, T* y,
                        std::int64_t n, std::int64_t c, std::int64_t sp) {
    std::int64_t total = n * c * sp;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t ch = (e / sp) % c;
        double invstd = 1.0 / sqrt(static_cast<double>(rvar[ch]) + eps);
        double wv = weight ? static_cast<double>(weight[ch]) : 1.0, bv = bias ? static_cast<double>(bias[ch]) : 0.0;
        y[e] = static_cast<T>((x[e] - static_cast<double>(rmean[ch])) * invstd * wv + bv);
    }
}

dim3 chunk_grid(const BnShape& q, std::int64_t chunks) {
    return dim3(static_cast<unsigned>(chunks), static_cast<unsigned>(q.c * q.groups));
}

}  // namespace

std::int64_t bn_scratch_doubles(const BnShape& q) {
    const std::int64_t chunks = bn_chunks(q);
    return chunks > 1 ? 2 * q.c * q.groups * chunks : 0;
}

void launch_bn_train(int dt, const BnShape& q, const void* x, const void* weight, const void* bias,
                     void* running_mean, void* running_var, double momentum, double eps, const void* residual,
                     bool relu, void* y, void* save_mean, void* save_invstd, double* scratch, cudaStream_t s) {
    const std::int64_t chunks = bn_chunks(q);
    if (chunks == 1) {
        DCODR_FLOAT_LAUNCH_T("batch_norm", bn_train, static_cast<unsigned>(q.c), kBnThreads,
                             static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(bias),
                             static_cast<T*>(running_mean), static_cast<T*>(running_var), momentum, eps,
                             static_cast<const T*>(residual), relu, static_cast<T*>(y), static_cast<T*>(save_mean),
                             static_cast<T*>(save_invstd), q);
        return;
    }
    DCODR_FLOAT_LAUNCH_T("batch_norm", bn_chunk_stats, chunk_grid(q, chunks), kBnChunkThreads,
                         static_cast<const T*>(x), scratch, q);
    DCODR_FLOAT_LAUNCH_T("batch_norm", bn_chunk_apply, chunk_grid(q, chunks), kBnChunkThreads,
                         static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(bias),
                         static_cast<T*>(running_mean), static_cast<T*>(running_var), momentum, eps,
                         static_cast<const T*>(residual), relu, static_cast<T*>(y), static_cast<T*>(save_mean),
                         static_cast<T*>(save_invstd), static_cast<const double*>(scratch), q);
}
void launch_bn_eval(int dt, const void* x, const void* weight, const void* bias, const void* running_mean,
                    const void* running_var, double eps, void* y, std::int64_t n, std::int64_t c, std::int64_t sp,
                    cudaStream_t s) {
    DCODR_FLOAT_LAUNCH("batch_norm", bn_eval, blocks_for(n * c * sp), static_cast<const T*>(x),
                       static_cast<const T*>(weight), static_cast<const T*>(bias),
                       static_cast<const T*>(running_mean), static_cast<const T*>(running_var), eps,
                       static_cast<T*>(y), n, c, sp);
}
void launch_bn_backward(int dt, const BnShape& q, const void* gy, const void* x, const void* weight,
                        const void* save_mean, const void* save_invstd, const void* relu_out, void* gx, void* gweight,
                        void* gbias, void* g_relu_in, double* scratch, cudaStream_t s) {
    const std::int64_t chunks = bn_chunks(q);
    if (chunks == 1) {
        DCODR_FLOAT_LAUNCH_T("batch_norm_backward", bn_backward, static_cast<unsigned>(q.c), kBnThreads,
                             static_cast<const T*>(gy), static_cast<const T*>(x), static_cast<const T*>(weight),
                             static_cast<const T*>(save_mean), static_cast<const T*>(save_invstd),
                             static_cast<const T*>(relu_out), static_cast<T*>(gx), static_cast<T*>(gweight),
                             static_cast<T*>(gbias), static_cast<T*>(g_relu_in), q);
        return;
    }
    DCODR_FLOAT_LAUNCH_T("batch_norm_backward", bn_chunk_grad_sums, chunk_grid(q, chunks), kBnChunkThreads,
                         static_cast<const T*>(gy), static_cast<const T*>(x), static_cast<const T*>(save_mean),
                         static_cast<const T*>(save_invstd), static_cast<const T*>(relu_out), scratch, q);
    DCODR_FLOAT_LAUNCH_T("batch_norm_backward", bn_chunk_grad_apply, chunk_grid(q, chunks), kBnChunkThreads,
                         static_cast<const T*>(gy), static_cast<const T*>(x), static_cast<const T*>(weight),
                         static_cast<const T*>(save_mean), static_cast<const T*>(save_invstd),
                         static_cast<const T*>(relu_out), static_cast<T*>(gx), static_cast<T*>(gweight),
                         static_cast<T*>(gbias), static_cast<T*>(g_relu_in), static_cast<const double*>(scratch), q);
}

}  // namespace dcodr::cuda
