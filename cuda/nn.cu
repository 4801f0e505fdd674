// Pooling and nearest upsampling (own kernels, NCHW).
//
// Every backward is written as a gather (each input gradient element sums the outputs that
// depend on it, in a fixed order) rather than a scatter with atomics, so results are
// deterministic. Max-pool backward receives no window geometry from the interface, so it
// runs one warp per (n, c) plane over that plane's outputs in order (see max_pool_bwd).
// Batch norm: cuda/batch_norm.cu. Plain reference versions: tensor/reference/pool.cpp.
#include <math_constants.h>

#include "cuda/kernels.cuh"

namespace dcodr::cuda {

namespace {

// Same rule as the CPU: padding is -inf, the first maximum wins ties, a NaN wins over
// everything (a later NaN over an earlier one); an all -inf window points at its first cell.
// x: [planes = N*C, h, w] -> y, idx: [planes, oh, ow]; one thread per output.
template <class T>
__global__ void max_pool_fwd(const T* x, T* y, std::int64_t* idx, PoolGeom g) {
    std::int64_t total = g.planes * g.oh * g.ow;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t ow = e % g.ow, oh = (e / g.ow) % g.oh, pl = e / (g.ow * g.oh);
        const T* xp = x + pl * g.h * g.w;
        std::int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
        std::int64_t h1 = h0 + g.kh < g.h ? h0 + g.kh : g.h, w1 = w0 + g.kw < g.w ? w0 + g.kw : g.w;
        if (h0 < 0) h0 = 0;
        if (w0 < 0) w0 = 0;
        T best = -CUDART_INF_F;
        if constexpr (std::is_same_v<T, double>) best = -CUDART_INF;
        std::int64_t bi = h0 * g.w + w0;
        for (std::int64_t h = h0; h < h1; ++h) {
            for (std::int64_t w = w0; w < w1; ++w) {
                T v = xp[h * g.w + w];
                if (v > best || v != v) {
                    best = v;
                    bi = h * g.w + w;
                }
            }
        }
        y[e] = best;
        idx[e] = bi;
    }
}

// One warp per (n, c) plane. The warp takes 32 outputs at a time (in output order); lanes
// whose outputs chose the same input are grouped with __match_any_sync and the group's
// lowest lane adds their gradients into gx in lane order. Rounds run in output order, so
// each gx element receives its contributions in increasing output index: the CPU's order,
// with no atomics (deterministic, and bit-identical to the CPU's sequential loop).
// gy, idx: [planes, out_plane] -> gx: [planes, in_plane] (zero-filled, added into).
template <class T>
__global__ void max_pool_bwd(const T* gy, const std::int64_t* idx, T* gx, std::int64_t planes, std::int64_t in_plane,
                             std::int64_t out_plane) {
    std::int64_t warp = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) / 32;
    std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / 32;
    int lane = threadIdx.x % 32;
    for (std::int64_t pl = warp; pl < planes; pl += warps) {
        const T* g = gy + pl * out_plane;
        const std::int64_t* ix = idx + pl * out_plane;
        T* d = gx + pl * in_plane;
        for (std::int64_t base = 0; base < out_plane; base += 32) {
            std::int64_t o = base + lane;
            bool active = o < out_plane;
            long long t = active ? static_cast<long long>(ix[o]) : -1LL - lane;  // inactive lanes: unique keys
            T v = active ? g[o] : T(0);
            unsigned peers = __match_any_sync(0xffffffffu, t);
            bool leader = active && (__ffs(peers) - 1) == lane;
            T acc = leader ? d[t] : T(0);
            for (int l = 0; l < 32; ++l) {
                T vl = __shfl_sync(0xffffffffu, v, l);
                if (leader && ((peers >> l) & 1u)) acc += vl;
            }
            if (leader) d[t] = acc;
            __syncwarp();
        }
    }
}

template <class T>
__device__ __forceinline__ std::int64_t avg_divisor(const PoolGeom& g, std::int64_t h0, std::int64_t w0) {
    if (g.count_include_pad) {
        // The window clipped to the padded input (PyTorch's rule; without ceil_mode it is the full kernel).
        std::int64_t h1 = h0 + g.kh < g.h + g.ph ? h0 + g.kh : g.h + g.ph;
        std::int64_t w1 = w0 + g.kw < g.w + g.pw ? w0 + g.kw : g.w + g.pw;
        return (h1 - h0) * (w1 - w0);
    }
    std::int64_t hs = h0 < 0 ? 0 : h0, ws = w0 < 0 ? 0 : w0;
    std::int64_t he = h0 + g.kh < g.h ? h0 + g.kh : g.h, we = w0 + g.kw < g.w ? w0 + g.kw : g.w;
    std::int64_t c = (he - hs) * (we - ws);
    return c > 0 ? c : 1;
}

// x: [planes, h, w] -> y: [planes, oh, ow]; one thread per output.
template <class T>
__global__ void avg_pool_fwd(const T* x, T* y, PoolGeom g) {
    using A = acc_t<T>;
    std::int64_t total = g.planes * g.oh * g.ow;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t ow = e % g.ow, oh = (e / g.ow) % g.oh, pl = e / (g.ow * g.oh);
        const T* xp = x + pl * g.h * g.w;
        std::int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
        A acc = 0;
        for (std::int64_t i = 0; i < g.kh; ++i) {
            std::int64_t h = h0 + i;
            if (h < 0 || h >= g.h) continue;
            for (std::int64_t j = 0; j < g.kw; ++j) {
                std::int64_t w = w0 + j;
                if (w >= 0 && w < g.w) acc += xp[h * g.w + w];
            }
        }
        y[e] = static_cast<T>(acc / static_cast<A>(avg_divisor<T>(g, h0, w0)));
    }
}

// gy: [planes, oh, ow] -> gx: [planes, h, w]; one thread per input pixel.
template <class T>
__global__ void avg_pool_bwd(const T* gy, T* gx, PoolGeom g) {
    using A = acc_t<T>;
    std::int64_t total = g.planes * g.h * g.w;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t w = e % g.w, h = (e / g.w) % g.h, pl = e / (g.w * g.h);
        const T* gp = gy + pl * g.oh * g.ow;
        // Outputs whose window [o*s - p, o*s - p + k) contains h.
        std::int64_t hp = h + g.ph, wp = w + g.pw;
        std::int64_t oh_lo = hp >= g.kh ? (hp - g.kh) / g.sh + 1 : 0, oh_hi = hp / g.sh;
        std::int64_t ow_lo = wp >= g.kw ? (wp - g.kw) / g.sw + 1 : 0, ow_hi = wp / g.sw;
        if (oh_hi >= g.oh) oh_hi = g.oh - 1;
        if (ow_hi >= g.ow) ow_hi = g.ow - 1;
        A acc = 0;
        for (std::int64_t oh = oh_lo; oh <= oh_hi; ++oh)
            for (std::int64_t ow = ow_lo; ow <= ow_hi; ++ow)
                acc += static_cast<A>(gp[oh * g.ow + ow]) /
                       static_cast<A>(avg_divisor<T>(g, oh * g.sh - g.ph, ow * g.sw - g.pw));
        gx[e] += static_cast<T>(acc);
    }
}

// Adaptive pooling window of output i: [floor(i*in/out), ceil((i+1)*in/out)).
__device__ __forceinline__ std::int64_t ad_start(std::int64_t i, std::int64_t in, std::int64_t out) {
    return (i * in) / out;
}
__device__ __forceinline__ std::int64_t ad_end(std::int64_t i, std::int64_t in, std::int64_t out) {
    return ((i + 1) * in + out - 1) / out;
}

// x: [planes, h, w] -> y: [planes, oh, ow] over adaptive bins; one thread per output.
template <class T>
__global__ void adaptive_fwd(const T* x, T* y, PoolGeom g) {
    using A = acc_t<T>;
    std::int64_t total = g.planes * g.oh * g.ow;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t ow = e % g.ow, oh = (e / g.ow) % g.oh, pl = e / (g.ow * g.oh);
        const T* xp = x + pl * g.h * g.w;
        std::int64_t hs = ad_start(oh, g.h, g.oh), he = ad_end(oh, g.h, g.oh);
        std::int64_t ws = ad_start(ow, g.w, g.ow), we = ad_end(ow, g.w, g.ow);
        A acc = 0;
        for (std::int64_t h = hs; h < he; ++h)
            for (std::int64_t w = ws; w < we; ++w) acc += xp[h * g.w + w];
        y[e] = static_cast<T>(acc / static_cast<A>((he - hs) * (we - ws)));
    }
}

// gy: [planes, oh, ow] -> gx: [planes, h, w]; one thread per input pixel.
template <class T>
__global__ void adaptive_bwd(const T* gy, T* gx, PoolGeom g) {
    using A = acc_t<T>;
    std::int64_t total = g.planes * g.h * g.w;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t w = e % g.w, h = (e / g.w) % g.h, pl = e / (g.w * g.h);
        const T* gp = gy + pl * g.oh * g.ow;
        // Candidate outputs: those whose window can contain h (windows overlap by at most one cell).
        std::int64_t oh_lo = (h * g.oh) / g.h, ow_lo = (w * g.ow) / g.w;
        if (oh_lo > 0) --oh_lo;
        if (ow_lo > 0) --ow_lo;
        A acc = 0;
        for (std::int64_t oh = oh_lo; oh < g.oh; ++oh) {
            std::int64_t hs = ad_start(oh, g.h, g.oh), he = ad_end(oh, g.h, g.oh);
            if (hs > h) break;
            if (h >= he) continue;
            for (std::int64_t ow = ow_lo; ow < g.ow; ++ow) {
                std::int64_t ws = ad_start(ow, g.w, g.ow), we = ad_end(ow, g.w, g.ow);
                if (ws > w) break;
                if (w >= we) continue;
                acc += static_cast<A>(gp[oh * g.ow + ow]) / static_cast<A>((he - hs) * (we - ws));
            }
        }
        gx[e] += static_cast<T>(acc);
    }
}

// x: [planes, h, w] -> y: [planes, oh = s*h, ow = s*w]; one thread per output.
template <class T>
__global__ void upsample_fwd(const T* x, T* y, PoolGeom g) {
    std::int64_t total = g.planes * g.oh * g.ow;
    std::int64_t sh = g.oh / g.h, sw = g.ow / g.w;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t ow = e % g.ow, oh = (e / g.ow) % g.oh, pl = e / (g.ow * g.oh);
        y[e] = x[pl * g.h * g.w + (oh / sh) * g.w + ow / sw];
    }
}

// gy: [planes, s*h, s*w] -> gx: [planes, h, w]; one thread per input pixel.
template <class T>
__global__ void upsample_bwd(const T* gy, T* gx, PoolGeom g) {
    using A = acc_t<T>;
    std::int64_t total = g.planes * g.h * g.w;
    std::int64_t sh = g.oh / g.h, sw = g.ow / g.w;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t w = e % g.w, h = (e / g.w) % g.h, pl = e / (g.w * g.h);
        const T* gp = gy + pl * g.oh * g.ow;
        A acc = 0;
        for (std::int64_t i = 0; i < sh; ++i)
            for (std::int64_t j = 0; j < sw; ++j) acc += gp[(h * sh + i) * g.ow + w * sw + j];
        gx[e] += static_cast<T>(acc);
    }
}

}  // namespace

void launch_max_pool_fwd(int dt, const void* x, void* y, std::int64_t* idx, const PoolGeom& g, cudaStream_t s) {
    DCODR_FLOAT_LAUNCH("max_pool2d", max_pool_fwd, blocks_for(g.planes * g.oh * g.ow), static_cast<const T*>(x),
                       static_cast<T*>(y), idx, g);
}
void launch_max_pool_bwd(int dt, const void* gy, const std::int64_t* idx, void* gx, std::int64_t planes,
                         std::int64_t in_plane, std::int64_t out_plane, cudaStream_t s) {
    DCODR_FLOAT_LAUNCH("max_pool2d_backward", max_pool_bwd, blocks_for(planes * 32), static_cast<const T*>(gy), idx,
                       static_cast<T*>(gx), planes, in_plane, out_plane);
}
void launch_avg_pool_fwd(int dt, const void* x, void* y, const PoolGeom& g, cudaStream_t s) {
    DCODR_FLOAT_LAUNCH("avg_pool2d", avg_pool_fwd, blocks_for(g.planes * g.oh * g.ow), static_cast<const T*>(x),
                       static_cast<T*>(y), g);
}
void launch_avg_pool_bwd(int dt, const void* gy, void* gx, const PoolGeom& g, cudaStream_t s) {
    DCODR_FLOAT_LAUNCH("avg_pool2d_backward", avg_pool_bwd, blocks_for(g.planes * g.h * g.w),
                       static_cast<const T*>(gy), static_cast<T*>(gx), g);
}
void launch_adaptive_avg_fwd(int dt, const void* x, void* y, const PoolGeom& g, cudaStream_t s) {
    DCODR_FLOAT_LAUNCH("adaptive_avg_pool2d", adaptive_fwd, blocks_for(g.planes * g.oh * g.ow),
                       static_cast<const T*>(x), static_cast<T*>(y), g);
}
void launch_adaptive_avg_bwd(int dt, const void* gy, void* gx, const PoolGeom& g, cudaStream_t s) {
    DCODR_FLOAT_LAUNCH("adaptive_avg_pool2d_backward", adaptive_bwd, blocks_for(g.planes * g.h * g.w),
                       static_cast<const T*>(gy), static_cast<T*>(gx), g);
}
void launch_upsample_fwd(int dt, const void* x, void* y, const PoolGeom& g, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(g.planes * g.oh * g.ow), kThreads, s, upsample_fwd<T>)(static_cast<const T*>(x),
                                                                                 static_cast<T*>(y), g);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}
void launch_upsample_bwd(int dt, const void* gy, void* gx, const PoolGeom& g, cudaStream_t s) {
    DCODR_FLOAT_LAUNCH("upsample_nearest2d_backward", upsample_bwd, blocks_for(g.planes * g.h * g.w),
                       static_cast<const T*>(gy), static_cast<T*>(gx), g);
}

}  // namespace dcodr::cuda
