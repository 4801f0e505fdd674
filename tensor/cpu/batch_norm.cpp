// Batch norm over [N, C, S] (S = spatial size, 1 for BatchNorm1d), PyTorch's semantics.
// Channels are independent, so they are the unit of threading; within a channel the data is
// N runs of S contiguous values. With statistics groups, a channel's rows [n0, n1) of each
// group are handled exactly as a separate call on that slice would handle them. Sums of float data are taken in double: a channel of a
// ResNet batch holds ~10^5-10^6 values, enough for float sums to lose digits.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/cpu/cpu_backend.h"

namespace dcodr {

namespace {

template <class T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

struct Ncs {
    std::int64_t N, C, S;
};
Ncs ncs(const Tensor& x) { return {x.size(0), x.size(1), x.size(2)}; }

// Per-element value of an optional per-channel tensor (weight 1 / bias 0 when absent).
template <class T>
inline Acc<T> param(const T* p, std::int64_t c, double absent) {
    return p ? static_cast<Acc<T>>(p[c]) : static_cast<Acc<T>>(absent);
}
template <class T>
const T* ptr(const Tensor* t) {
    return t ? t->data<T>() : nullptr;
}

// y = x·scale + shift over one channel, then + r (residual, or null) and relu (the ReLU's rule:
// v > 0 ? v : 0). Each step rounds to T as the separate add and relu ops would: fused == unfused.
template <class T>
void affine_channel(const T* x, const T* r, T* y, const Ncs& d, std::int64_t c, std::int64_t n0, std::int64_t n1,
                    Acc<T> scale, Acc<T> shift, bool relu) {
    T a = static_cast<T>(scale), b = static_cast<T>(shift);
    for (std::int64_t n = n0; n < n1; ++n) {
        std::int64_t off = (n * d.C + c) * d.S;
        const T* xs = x + off;
        T* ys = y + off;
        if (r) {
            const T* rs = r + off;
#pragma omp simd
            for (std::int64_t s = 0; s < d.S; ++s) {
                T v = static_cast<T>(xs[s] * a + b) + rs[s];
                ys[s] = !relu || v > T(0) ? v : T(0);
            }
        } else if (relu) {
#pragma omp simd
            for (std::int64_t s = 0; s < d.S; ++s) {
                T v = xs[s] * a + b;
                ys[s] = v > T(0) ? v : T(0);
            }
        } else {
#pragma omp simd
            for (std::int64_t s = 0; s < d.S; ++s) ys[s] = xs[s] * a + b;
        }
    }
}

// Calls body(offset, g_row) for each of the channel's rows n0..n1-1 with that row's incoming
// gradient: gy itself, or (fused ReLU) gy where relu_out > 0 and 0 elsewhere, masked into
// `scratch` (S values) so the loops that follow stay plain vector loops.
template <class T, class F>
void for_rows(const T* pg, const T* pr, T* scratch, const Ncs& d, std::int64_t c, std::int64_t n0, std::int64_t n1,
              F body) {
    for (std::int64_t n = n0; n < n1; ++n) {
        std::int64_t off = (n * d.C + c) * d.S;
        const T* gs = pg + off;
        if (pr) {
            const T* rs = pr + off;
#pragma omp simd
            for (std::int64_t s = 0; s < d.S; ++s) scratch[s] = rs[s] > T(0) ? gs[s] : T(0);
            gs = scratch;
        }
        body(off, gs);
    }
}

}  // namespace

// x, residual, y: [N, C, S]; weight, bias, running stats: [C]; save_mean, save_invstd:
// [groups, C]. Reference: reference::batch_norm_forward_train.
void CpuBackend::batch_norm_forward_train(const Tensor& x, const Tensor* weight, const Tensor* bias,
                                          Tensor* running_mean, Tensor* running_var, double momentum, double eps,
                                          std::int64_t groups, const BatchNormTail& tail, Tensor& y,
                                          Tensor& save_mean, Tensor& save_invstd) {
    dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
        using T = decltype(tag);
        using A = Acc<T>;
        Ncs d = ncs(x);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        const T *pw = ptr<T>(weight), *pb = ptr<T>(bias), *pres = ptr<T>(tail.residual);
        T* prm = running_mean ? running_mean->data<T>() : nullptr;
        T* prv = running_var ? running_var->data<T>() : nullptr;
        T* pm = save_mean.data<T>();
        T* pis = save_invstd.data<T>();
        const std::int64_t rows = d.N / groups, count = rows * d.S;
#pragma omp parallel for if (x.numel() > kParallelGrain && d.C > 1)
        for (std::int64_t c = 0; c < d.C; ++c) {
            for (std::int64_t g = 0; g < groups; ++g) {
                const std::int64_t n0 = g * rows, n1 = n0 + rows;
                // Two passes (mean, then squared deviations): no cancellation when |mean| >> std.
                A sum = 0;
                for (std::int64_t n = n0; n < n1; ++n) {
                    const T* xs = px + (n * d.C + c) * d.S;
#pragma omp simd reduction(+ : sum)
                    for (std::int64_t s = 0; s < d.S; ++s) sum += xs[s];
                }
                A mean = sum / count;
                A sq = 0;
                for (std::int64_t n = n0; n < n1; ++n) {
                    const T* xs = px + (n * d.C + c) * d.S;
#pragma omp simd reduction(+ : sq)
                    for (std::int64_t s = 0; s < d.S; ++s) {
                        A dv = xs[s] - mean;
                        sq += dv * dv;
                    }
                }
                A var = sq / count;  // biased: what normalises this batch
                A invstd = 1 / std::sqrt(var + eps);
                pm[g * d.C + c] = static_cast<T>(mean);
                pis[g * d.C + c] = static_cast<T>(invstd);
                // Once per group, in group order: as consecutive calls on the slices would.
                if (prm) prm[c] = static_cast<T>((1 - momentum) * prm[c] + momentum * mean);
                // The running variance estimates the population: unbiased, n/(n-1).
                if (prv) prv[c] = static_cast<T>((1 - momentum) * prv[c] + momentum * var * count / (count - 1));
                A scale = invstd * param(pw, c, 1.0);
                affine_channel(px, pres, py, d, c, n0, n1, scale, param(pb, c, 0.0) - mean * scale, tail.relu);
            }
        }
    });
}

// x, y: [N, C, S]; weight, bias, running stats: [C]. Reference: reference::batch_norm_forward_eval.
void CpuBackend::batch_norm_forward_eval(const Tensor& x, const Tensor* weight, const Tensor* bias,
                                         const Tensor& running_mean, const Tensor& running_var, double eps,
                                         Tensor& y) {
    dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
        using T = decltype(tag);
        using A = Acc<T>;
        Ncs d = ncs(x);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        const T *pw = ptr<T>(weight), *pb = ptr<T>(bias);
        const T* prm = running_mean.data<T>();
        const T* prv = running_var.data<T>();
#pragma omp parallel for if (x.numel() > kParallelGrain && d.C > 1)
        for (std::int64_t c = 0; c < d.C; ++c) {
            A scale = param(pw, c, 1.0) / std::sqrt(static_cast<A>(prv[c]) + eps);
            affine_channel(px, static_cast<const T*>(nullptr), py, d, c, 0, d.N, scale,
                           param(pb, c, 0.0) - static_cast<A>(prm[c]) * scale, false);
        }
    });
}

// gy, x, relu_out, gx, g_relu_in: [N, C, S]; weight, gweight, gbias: [C]; save_*: [groups, C].
// Reference: reference::batch_norm_backward.
void CpuBackend::batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor* weight,
                                     const Tensor& save_mean, const Tensor& save_invstd, std::int64_t groups,
                                     const Tensor* relu_out, Tensor& gx, Tensor* gweight, Tensor* gbias,
                                     Tensor* g_relu_in) {
    dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto tag) {
        using T = decltype(tag);
        using A = Acc<T>;
        Ncs d = ncs(x);
        const T* px = x.data<T>();
        const T* pg = gy.data<T>();
        const T* pr = relu_out ? relu_out->data<T>() : nullptr;
        T* pgx = gx.data<T>();
        T* pgm = g_relu_in ? g_relu_in->data<T>() : nullptr;
        const T* pw = ptr<T>(weight);
        const T* pm = save_mean.data<T>();
        const T* pis = save_invstd.data<T>();
        T* pgw = gweight ? gweight->data<T>() : nullptr;
        T* pgb = gbias ? gbias->data<T>() : nullptr;
        const std::int64_t rows = d.N / groups, count = rows * d.S;
#pragma omp parallel for if (x.numel() > kParallelGrain && d.C > 1)
        for (std::int64_t c = 0; c < d.C; ++c) {
            std::vector<T> scratch(pr ? static_cast<std::size_t>(d.S) : 0);
            // Per-group parameter gradients summed in T, as adding separate calls' results would.
            T gw_total = 0, gb_total = 0;
            for (std::int64_t g = 0; g < groups; ++g) {
                const std::int64_t n0 = g * rows, n1 = n0 + rows;
                A mean = pm[g * d.C + c], invstd = pis[g * d.C + c];
                // sum(gy) and sum(gy·xhat), with xhat = (x - mean)·invstd.
                A sg = 0, sgx = 0;
                for_rows(pg, pr, scratch.data(), d, c, n0, n1, [&](std::int64_t off, const T* gs) {
                    const T* xs = px + off;
#pragma omp simd reduction(+ : sg, sgx)
                    for (std::int64_t s = 0; s < d.S; ++s) {
                        sg += gs[s];
                        sgx += gs[s] * (xs[s] - mean);
                    }
                });
                sgx *= invstd;
                gw_total = gw_total + static_cast<T>(sgx);
                gb_total = gb_total + static_cast<T>(sg);
                // gx = invstd·w·(gy - mean(gy) - xhat·mean(gy·xhat)), expanded to gy·k + x·a + b.
                A k = invstd * param(pw, c, 1.0);
                A a = -k * invstd * sgx / count;
                A b = -k * sg / count - a * mean;
                T tk = static_cast<T>(k), ta = static_cast<T>(a), tb = static_cast<T>(b);
                for_rows(pg, pr, scratch.data(), d, c, n0, n1, [&](std::int64_t off, const T* gs) {
                    const T* xs = px + off;
                    T* gxs = pgx + off;
#pragma omp simd
                    for (std::int64_t s = 0; s < d.S; ++s) gxs[s] = gs[s] * tk + xs[s] * ta + tb;
                    if (pgm) std::copy(gs, gs + d.S, pgm + off);  // the masked gradient, already in cache
                });
            }
            if (pgw) pgw[c] = gw_total;
            if (pgb) pgb[c] = gb_total;
        }
    });
}

}  // namespace dcodr
