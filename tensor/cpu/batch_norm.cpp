// Batch norm over [N, C, S] (S = spatial size, 1 for BatchNorm1d), PyTorch's semantics.
// Channels are independent, so they are the unit of threading: each thread owns a block of
// channels. Within its block a thread walks the memory in order, row n by row n (a row is the
// block's channels, each S contiguous values), keeping one accumulator per channel: walking one
// channel at a time instead jumps C·S values between its N runs, and with ResNet's small late
// maps (S = 16 or 4) every run is a cache line of its own that the prefetcher never sees coming
// (measured 3-4x slower; docs/performance.md). The arithmetic per channel is the same either
// way: rows in order, each row's S values reduced by one vector loop. With statistics groups, a
// channel's rows [n0, n1) of each group are handled exactly as a separate call on that slice
// would handle them. Sums of float data are taken in double: a channel of a ResNet batch holds
// ~10^5-10^6 values, enough for float sums to lose digits.
//
// Small planes (S < kSmallPlane: ResNet's last stage at 2x2, BatchNorm1d's S = 1) would make
// every row a loop of a few values with its own reduction; there a row n of the block is taken
// as one span of (c1 - c0)·S contiguous values instead, with sums kept per position of the
// span (vectorised across channels, summed over n) and folded into their channel at the end,
// and the per-channel coefficients spread out to one per position.
#include <omp.h>

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

// A coefficient of a row: one per channel (a scalar) or one per position of a span (small planes).
template <class T>
inline T at(T v, std::int64_t) {
    return v;
}
template <class T>
inline T at(const T* v, std::int64_t s) {
    return v[s];
}

// y = x·scale + shift over one row of S values, then + r (residual, or null) and relu (the
// ReLU's rule: v > 0 ? v : 0). Each step rounds to T as the separate add and relu ops would:
// fused == unfused.
template <class T, class Coef>
void affine_row(const T* xs, const T* rs, T* ys, std::int64_t S, Coef a, Coef b, bool relu) {
    if (rs) {
#pragma omp simd
        for (std::int64_t s = 0; s < S; ++s) {
            T v = static_cast<T>(xs[s] * at(a, s) + at(b, s)) + rs[s];
            ys[s] = !relu || v > T(0) ? v : T(0);
        }
    } else if (relu) {
#pragma omp simd
        for (std::int64_t s = 0; s < S; ++s) {
            T v = xs[s] * at(a, s) + at(b, s);
            ys[s] = v > T(0) ? v : T(0);
        }
    } else {
#pragma omp simd
        for (std::int64_t s = 0; s < S; ++s) ys[s] = xs[s] * at(a, s) + at(b, s);
    }
}

// Planes of fewer values than this take the span layout (header comment). Side by side, 2
// threads, fused residual + ReLU, forward / backward: [256, 2048, 4] 4.2-4.8x / 4.8-5.4x,
// [256, 512, 4] 6.4x / 6.4-6.5x, [256, 2048, 1] 15x / 11-12x, [256, 256, 8] 3.7-3.9x / 2.4-2.5x.
// At S = 16 backward was level (0.90-1.11x) and from S = 64 on the span lost (0.6-0.9x): the
// per-position sums are a load and a store per value where a row's sums stay in registers.
constexpr std::int64_t kSmallPlane = 16;
bool small_planes(const Ncs& d) { return d.S > 0 && d.S < kSmallPlane; }

// One value per channel of [c0, c1), spread to each of its S positions of a span.
template <class V>
std::vector<V> per_position(const V* per_channel, std::int64_t channels, std::int64_t S) {
    std::vector<V> out(static_cast<std::size_t>(channels * S));
    for (std::int64_t c = 0; c < channels; ++c) std::fill_n(out.begin() + c * S, S, per_channel[c]);
    return out;
}

// out[c] = the sum of per-position values c·S .. c·S + S - 1, in order.
template <class A>
void fold_positions(const std::vector<A>& positions, std::int64_t channels, std::int64_t S, A* out) {
    for (std::int64_t c = 0; c < channels; ++c) {
        A sum = 0;
        for (std::int64_t s = 0; s < S; ++s) sum += positions[static_cast<std::size_t>(c * S + s)];
        out[c] = sum;
    }
}

// Calls body(c0, c1) for each thread's block of channels (all of them in one call when the
// tensor is too small to be worth threads).
template <class F>
void for_channel_blocks(const Tensor& x, const Ncs& d, F body) {
    if (x.numel() <= kParallelGrain || d.C <= 1) return body(std::int64_t{0}, d.C);
#pragma omp parallel
    {
        const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        const std::int64_t c0 = d.C * t / nt, c1 = d.C * (t + 1) / nt;
        if (c0 < c1) body(c0, c1);
    }
}

// One row of the incoming gradient with the fused ReLU applied: gy where relu_out > 0, else 0,
// written to dst (S values), which is returned.
template <class T>
const T* mask_row(const T* gs, const T* relu_out_row, T* dst, std::int64_t S) {
#pragma omp simd
    for (std::int64_t s = 0; s < S; ++s) dst[s] = relu_out_row[s] > T(0) ? gs[s] : T(0);
    return dst;
}

// gx = gy·k + x·a + b over one row (batch norm backward's second pass; see its comment).
template <class T, class Coef>
void gradient_row(const T* gs, const T* xs, T* gxs, std::int64_t S, Coef k, Coef a, Coef b) {
#pragma omp simd
    for (std::int64_t s = 0; s < S; ++s) gxs[s] = gs[s] * at(k, s) + xs[s] * at(a, s) + at(b, s);
}

// channel_moments (below) on small planes, summed per position of the span, about a centre per
// channel that lies within the data (float32: its first value, as there; float64: the mean of a
// first pass, which makes the second one the exact sum of squared deviations).
template <class T>
void span_moments(const T* px, const Ncs& d, std::int64_t c0, std::int64_t c1, std::int64_t n0, std::int64_t n1,
                  Acc<T>* mean, Acc<T>* sq) {
    using A = Acc<T>;
    const std::int64_t channels = c1 - c0, span = channels * d.S;
    const A count = static_cast<A>((n1 - n0) * d.S);
    std::vector<A> centre(static_cast<std::size_t>(channels)), s1(static_cast<std::size_t>(span), A(0));
    if constexpr (std::is_same_v<T, float>) {
        for (std::int64_t c = 0; c < channels; ++c) centre[c] = px[(n0 * d.C + c0 + c) * d.S];
    } else {
        for (std::int64_t n = n0; n < n1; ++n) {
            const T* xs = px + (n * d.C + c0) * d.S;
#pragma omp simd
            for (std::int64_t j = 0; j < span; ++j) s1[j] += xs[j];
        }
        fold_positions(s1, channels, d.S, centre.data());
        for (A& m : centre) m /= count;
        std::fill(s1.begin(), s1.end(), A(0));
    }
    const std::vector<A> at_position = per_position(centre.data(), channels, d.S);
    std::vector<A> s2(s1.size(), A(0)), sum1(centre.size());
    for (std::int64_t n = n0; n < n1; ++n) {
        const T* xs = px + (n * d.C + c0) * d.S;
#pragma omp simd
        for (std::int64_t j = 0; j < span; ++j) {
            const A dv = static_cast<A>(xs[j]) - at_position[j];
            s1[j] += dv;
            s2[j] += dv * dv;
        }
    }
    fold_positions(s1, channels, d.S, sum1.data());
    fold_positions(s2, channels, d.S, sq);
    for (std::int64_t c = 0; c < channels; ++c) {
        const A shift = sum1[c] / count;  // mean - centre
        mean[c] = centre[c] + shift;
        sq[c] = std::max(A(0), sq[c] - shift * sum1[c]);
    }
}

// Per channel c in [c0, c1) over rows [n0, n1): the mean and the sum of squared deviations.
// float32 data takes one pass, summing x - p and (x - p)² in double about a pivot p (the
// channel's first value) so that the variance never cancels: p lies within the data, so
// |mean - p| is a few standard deviations at most, and double keeps 15 digits of the rest.
// The statistics pass is one of three reads of the activation (then the normalising read and
// write), so this saves a fifth of batch norm forward's memory traffic. float64 keeps two
// exact passes (mean, then squared deviations), which the tests hold to the reference at 1e-12.
template <class T>
void channel_moments(const T* px, const Ncs& d, std::int64_t c0, std::int64_t c1, std::int64_t n0, std::int64_t n1,
                     Acc<T>* mean, Acc<T>* sq) {
    using A = Acc<T>;
    if (small_planes(d)) return span_moments(px, d, c0, c1, n0, n1, mean, sq);
    const A count = static_cast<A>((n1 - n0) * d.S);
    if constexpr (std::is_same_v<T, float>) {
        std::vector<A> pivot(static_cast<std::size_t>(c1 - c0)), s1(pivot.size(), 0.0);
        for (std::int64_t c = c0; c < c1; ++c) pivot[c - c0] = d.S > 0 ? px[(n0 * d.C + c) * d.S] : 0.0;
        std::fill(sq, sq + (c1 - c0), A(0));
        for (std::int64_t n = n0; n < n1; ++n)
            for (std::int64_t c = c0; c < c1; ++c) {
                const T* xs = px + (n * d.C + c) * d.S;
                const A p = pivot[c - c0];
                A r1 = 0, r2 = 0;
#pragma omp simd reduction(+ : r1, r2)
                for (std::int64_t s = 0; s < d.S; ++s) {
                    const A dv = static_cast<A>(xs[s]) - p;
                    r1 += dv;
                    r2 += dv * dv;
                }
                s1[c - c0] += r1;
                sq[c - c0] += r2;
            }
        for (std::int64_t c = c0; c < c1; ++c) {
            const A shift = s1[c - c0] / count;  // mean - pivot
            mean[c - c0] = pivot[c - c0] + shift;
            sq[c - c0] = std::max(A(0), sq[c - c0] - shift * s1[c - c0]);
        }
    } else {
        std::fill(mean, mean + (c1 - c0), A(0));
        std::fill(sq, sq + (c1 - c0), A(0));
        for (std::int64_t n = n0; n < n1; ++n)
            for (std::int64_t c = c0; c < c1; ++c) {
                const T* xs = px + (n * d.C + c) * d.S;
                A row = 0;
#pragma omp simd reduction(+ : row)
                for (std::int64_t s = 0; s < d.S; ++s) row += xs[s];
                mean[c - c0] += row;
            }
        for (std::int64_t c = c0; c < c1; ++c) mean[c - c0] /= count;
        for (std::int64_t n = n0; n < n1; ++n)
            for (std::int64_t c = c0; c < c1; ++c) {
                const T* xs = px + (n * d.C + c) * d.S;
                const A m = mean[c - c0];
                A row = 0;
#pragma omp simd reduction(+ : row)
                for (std::int64_t s = 0; s < d.S; ++s) {
                    A dv = xs[s] - m;
                    row += dv * dv;
                }
                sq[c - c0] += row;
            }
    }
}

// affine_row over channels [c0, c1) of rows [n0, n1), with per-channel coefficients a, b
// (indexed from c0); residual may be null.
template <class T>
void affine_rows(const T* x, const T* residual, T* y, const Ncs& d, std::int64_t c0, std::int64_t c1, std::int64_t n0,
                 std::int64_t n1, const T* a, const T* b, bool relu) {
    if (small_planes(d)) {  // each row n of the block as one span
        const std::int64_t span = (c1 - c0) * d.S;
        const std::vector<T> as = per_position(a, c1 - c0, d.S), bs = per_position(b, c1 - c0, d.S);
        for (std::int64_t n = n0; n < n1; ++n) {
            const std::int64_t off = (n * d.C + c0) * d.S;
            affine_row(x + off, residual ? residual + off : nullptr, y + off, span, as.data(), bs.data(), relu);
        }
        return;
    }
    for (std::int64_t n = n0; n < n1; ++n)
        for (std::int64_t c = c0; c < c1; ++c) {
            const std::int64_t off = (n * d.C + c) * d.S;
            affine_row(x + off, residual ? residual + off : nullptr, y + off, d.S, a[c - c0], b[c - c0], relu);
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
        for_channel_blocks(x, d, [&](std::int64_t c0, std::int64_t c1) {
            std::vector<A> sq(static_cast<std::size_t>(c1 - c0)), mean(sq.size());
            std::vector<T> a(sq.size()), b(sq.size());
            for (std::int64_t g = 0; g < groups; ++g) {
                const std::int64_t n0 = g * rows, n1 = n0 + rows;
                channel_moments(px, d, c0, c1, n0, n1, mean.data(), sq.data());
                for (std::int64_t c = c0; c < c1; ++c) {
                    const A m = mean[c - c0];
                    A var = sq[c - c0] / count;  // biased: what normalises this batch
                    A invstd = 1 / std::sqrt(var + eps);
                    pm[g * d.C + c] = static_cast<T>(m);
                    pis[g * d.C + c] = static_cast<T>(invstd);
                    // Once per group, in group order: as consecutive calls on the slices would.
                    if (prm) prm[c] = static_cast<T>((1 - momentum) * prm[c] + momentum * m);
                    // The running variance estimates the population: unbiased, n/(n-1).
                    if (prv) prv[c] = static_cast<T>((1 - momentum) * prv[c] + momentum * var * count / (count - 1));
                    A scale = invstd * param(pw, c, 1.0);
                    a[c - c0] = static_cast<T>(scale);
                    b[c - c0] = static_cast<T>(param(pb, c, 0.0) - m * scale);
                }
                affine_rows(px, pres, py, d, c0, c1, n0, n1, a.data(), b.data(), tail.relu);
            }
        });
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
        for_channel_blocks(x, d, [&](std::int64_t c0, std::int64_t c1) {
            std::vector<T> a(static_cast<std::size_t>(c1 - c0)), b(a.size());
            for (std::int64_t c = c0; c < c1; ++c) {
                A scale = param(pw, c, 1.0) / std::sqrt(static_cast<A>(prv[c]) + eps);
                a[c - c0] = static_cast<T>(scale);
                b[c - c0] = static_cast<T>(param(pb, c, 0.0) - static_cast<A>(prm[c]) * scale);
            }
            affine_rows(px, static_cast<const T*>(nullptr), py, d, c0, c1, std::int64_t{0}, d.N, a.data(), b.data(), false);
        });
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
        for_channel_blocks(x, d, [&](std::int64_t c0, std::int64_t c1) {
            const std::size_t block = static_cast<std::size_t>(c1 - c0);
            // With a fused ReLU the masked gradient is written once, by the first pass, where the
            // second pass reads it back: into g_relu_in (an output anyway) or else into gx, which
            // the second pass then overwrites in place. That is one read of gy and relu_out fewer
            // than masking in both passes.
            T* masked = pr ? (pgm ? pgm : pgx) : nullptr;
            // Per-group parameter gradients summed in T, as adding separate calls' results would.
            std::vector<T> gw_total(block, T(0)), gb_total(block, T(0)), tk(block), ta(block), tb(block);
            std::vector<A> sg(block), sgx(block);
            const std::int64_t span = small_planes(d) ? (c1 - c0) * d.S : 0;  // 0: row by row
            for (std::int64_t g = 0; g < groups; ++g) {
                const std::int64_t n0 = g * rows, n1 = n0 + rows;
                // sum(gy) and sum(gy·xhat), with xhat = (x - mean)·invstd.
                std::fill(sg.begin(), sg.end(), A(0));
                std::fill(sgx.begin(), sgx.end(), A(0));
                if (span > 0) {  // small planes: per position of each row's span, then per channel
                    std::vector<A> mean(block), at_g(static_cast<std::size_t>(span), A(0)), at_gx(at_g.size(), A(0));
                    for (std::size_t i = 0; i < block; ++i) mean[i] = pm[g * d.C + c0 + static_cast<std::int64_t>(i)];
                    const std::vector<A> means = per_position(mean.data(), c1 - c0, d.S);
                    for (std::int64_t n = n0; n < n1; ++n) {
                        const std::int64_t off = (n * d.C + c0) * d.S;
                        const T* gs = pr ? mask_row(pg + off, pr + off, masked + off, span) : pg + off;
                        const T* xs = px + off;
#pragma omp simd
                        for (std::int64_t j = 0; j < span; ++j) {
                            at_g[j] += gs[j];
                            at_gx[j] += gs[j] * (xs[j] - means[j]);
                        }
                    }
                    fold_positions(at_g, c1 - c0, d.S, sg.data());
                    fold_positions(at_gx, c1 - c0, d.S, sgx.data());
                } else {
                    for (std::int64_t n = n0; n < n1; ++n)
                        for (std::int64_t c = c0; c < c1; ++c) {
                            const std::int64_t off = (n * d.C + c) * d.S;
                            const T* gs = pr ? mask_row(pg + off, pr + off, masked + off, d.S) : pg + off;
                            const T* xs = px + off;
                            const A mean = pm[g * d.C + c];
                            A row_g = 0, row_gx = 0;
#pragma omp simd reduction(+ : row_g, row_gx)
                            for (std::int64_t s = 0; s < d.S; ++s) {
                                row_g += gs[s];
                                row_gx += gs[s] * (xs[s] - mean);
                            }
                            sg[c - c0] += row_g;
                            sgx[c - c0] += row_gx;
                        }
                }
                for (std::int64_t c = c0; c < c1; ++c) {
                    const std::size_t i = static_cast<std::size_t>(c - c0);
                    const A mean = pm[g * d.C + c], invstd = pis[g * d.C + c];
                    sgx[i] *= invstd;
                    gw_total[i] = gw_total[i] + static_cast<T>(sgx[i]);
                    gb_total[i] = gb_total[i] + static_cast<T>(sg[i]);
                    // gx = invstd·w·(gy - mean(gy) - xhat·mean(gy·xhat)), expanded to gy·k + x·a + b.
                    A k = invstd * param(pw, c, 1.0);
                    A a = -k * invstd * sgx[i] / count;
                    A b = -k * sg[i] / count - a * mean;
                    tk[i] = static_cast<T>(k), ta[i] = static_cast<T>(a), tb[i] = static_cast<T>(b);
                }
                // gs may be gxs itself (fused ReLU, no g_relu_in): gradient_row works element by
                // element in place.
                if (span > 0) {
                    const std::vector<T> ks = per_position(tk.data(), c1 - c0, d.S),
                                         as = per_position(ta.data(), c1 - c0, d.S),
                                         bs = per_position(tb.data(), c1 - c0, d.S);
                    for (std::int64_t n = n0; n < n1; ++n) {
                        const std::int64_t off = (n * d.C + c0) * d.S;
                        gradient_row(pr ? masked + off : pg + off, px + off, pgx + off, span, ks.data(), as.data(),
                                     bs.data());
                    }
                    continue;
                }
                for (std::int64_t n = n0; n < n1; ++n)
                    for (std::int64_t c = c0; c < c1; ++c) {
                        const std::size_t i = static_cast<std::size_t>(c - c0);
                        const std::int64_t off = (n * d.C + c) * d.S;
                        gradient_row(pr ? masked + off : pg + off, px + off, pgx + off, d.S, tk[i], ta[i], tb[i]);
                    }
            }
            for (std::int64_t c = c0; c < c1; ++c) {
                if (pgw) pgw[c] = gw_total[static_cast<std::size_t>(c - c0)];
                if (pgb) pgb[c] = gb_total[static_cast<std::size_t>(c - c0)];
            }
        });
    });
}

}  // namespace dcodr
