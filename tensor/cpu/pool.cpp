// Pooling and nearest upsampling on NCHW tensors, PyTorch's semantics (floor mode).
// Every kernel works plane by plane ((n, c) pairs are independent), so planes are the unit
// of threading; backward outputs arrive zero-filled from the front-end and are added into.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "tensor/cpu/cpu_backend.h"

namespace dcodr {

namespace {

// Sums of float windows are taken in double (PyTorch's accumulate type on the CPU).
template <class T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

struct Planes {
    std::int64_t n;       // N·C
    std::int64_t H, W;    // input plane
    std::int64_t OH, OW;  // output plane
};
Planes planes(const Tensor& in, const Tensor& out) {
    return {in.size(0) * in.size(1), in.size(2), in.size(3), out.size(2), out.size(3)};
}

// A pooling window clipped to the input: rows [h0, h1), columns [w0, w1).
struct Window {
    std::int64_t h0, h1, w0, w1;
    std::int64_t divisor;  // avg pool: the element count PyTorch divides by
};
inline Window window(const Pool2dParams& p, std::int64_t oh, std::int64_t ow, std::int64_t H, std::int64_t W) {
    std::int64_t h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
    // The window may hang over the padding but not past it (PyTorch's pool_size).
    std::int64_t h1 = std::min(h0 + p.kernel_h, H + p.pad_h), w1 = std::min(w0 + p.kernel_w, W + p.pad_w);
    std::int64_t padded = (h1 - h0) * (w1 - w0);
    Window win{std::max<std::int64_t>(h0, 0), std::min(h1, H), std::max<std::int64_t>(w0, 0), std::min(w1, W), 0};
    win.divisor = p.count_include_pad ? padded : (win.h1 - win.h0) * (win.w1 - win.w0);
    return win;
}

// Start and end of adaptive bin i of `out` over `in`: floor(i·in/out), ceil((i+1)·in/out).
inline std::int64_t bin_start(std::int64_t i, std::int64_t in, std::int64_t out) { return i * in / out; }
inline std::int64_t bin_end(std::int64_t i, std::int64_t in, std::int64_t out) {
    return ((i + 1) * in + out - 1) / out;
}

}  // namespace

// kLanes output columns of one window row and tap: column j reads row[j·stride], at plane offset
// base + j·stride. PyTorch's rule, taps taken in order (window rows, then columns): padding is
// -inf, the first maximum wins ties, a NaN wins over everything (and a later NaN over an earlier
// one). A fixed count of columns into local arrays, int32 offsets (so that values and offsets
// fill vectors of the same width) and a constant stride where it can be: what lets the compiler
// keep it all in vector registers, without the scalar prologue and epilogue of a loop of
// unknown length (those were most of the time at ResNet's 16 output columns).
constexpr std::int64_t kLanes = 16;
template <std::int64_t kStride, class T>
inline void max_tap(const T* row, std::int32_t base, std::int64_t stride, T* best, std::int32_t* at) {
    if constexpr (kStride > 0) stride = kStride;
#pragma omp simd
    for (std::int64_t j = 0; j < kLanes; ++j) {
        const T v = row[j * stride];
        const bool take = v > best[j] || v != v;  // v != v: NaN
        best[j] = take ? v : best[j];
        at[j] = take ? base + static_cast<std::int32_t>(j * stride) : at[j];
    }
}

// x: [N, C, H, W] -> y, indices (int64): [N, C, OH, OW]. Reference: reference::max_pool2d_forward.
// Each plane is first copied into rows padded with -inf on both sides (-inf never replaces the
// running maximum), which makes every window interior: one output row is then, per
// window row and tap, one vector comparison across all its columns, with a column count rounded
// up to the vector width (no scalar remainder; the extra columns read padding and are dropped).
// The row-by-row scalar loop was 1.3-1.7 % of ResNet-50's step for the stem's pool, and a vector
// loop over the interior columns only, with int64 indices and the stride unknown, still 82 ms
// on 2 threads (the compiler kept it scalar); this version: see docs/performance.md.
void CpuBackend::max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& indices, const Pool2dParams& p) {
    dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
        using T = decltype(tag);
        Planes d = planes(x, y);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        std::int64_t* pi = indices.data<std::int64_t>();
        const std::int64_t s = p.stride_w;
        const std::int64_t columns = (d.OW + kLanes - 1) / kLanes * kLanes;
        // A padded row: pad_w of -inf, the W values, then -inf up to the last tap any of the
        // `columns` windows reads.
        const std::int64_t padded_w = std::max(p.pad_w + d.W, (columns - 1) * s + p.kernel_w);
        if (d.H * d.W > std::numeric_limits<std::int32_t>::max())
            throw std::invalid_argument(fmt::format("max_pool2d: a {}x{} plane is past int32 offsets", d.H, d.W));
#pragma omp parallel if (x.numel() > kParallelGrain && d.n > 1)
        {
            const T minus_inf = -std::numeric_limits<T>::infinity();
            std::vector<T> padded(static_cast<std::size_t>(d.H * padded_w), minus_inf);
#pragma omp for
            for (std::int64_t pl = 0; pl < d.n; ++pl) {
                const T* in = px + pl * d.H * d.W;
                for (std::int64_t h = 0; h < d.H; ++h)
                    std::copy(in + h * d.W, in + (h + 1) * d.W, padded.data() + h * padded_w + p.pad_w);
                for (std::int64_t oh = 0; oh < d.OH; ++oh) {
                    const Window rows = window(p, oh, 0, d.H, d.W);
                    T* yrow = py + (pl * d.OH + oh) * d.OW;
                    std::int64_t* irow = pi + (pl * d.OH + oh) * d.OW;
                    for (std::int64_t c0 = 0; c0 < d.OW; c0 += kLanes) {
                        alignas(64) T best[kLanes];
                        alignas(64) std::int32_t at[kLanes];
                        // All -inf: PyTorch's answer is the window's first element in the plane.
                        const auto row0 = static_cast<std::int32_t>(rows.h0 * d.W);
                        const auto column0 = static_cast<std::int32_t>(c0 * s - p.pad_w);
                        const auto step = static_cast<std::int32_t>(s);
#pragma omp simd
                        for (std::int32_t j = 0; j < kLanes; ++j) {
                            best[j] = minus_inf;
                            at[j] = row0 + std::max(column0 + j * step, 0);
                        }
                        for (std::int64_t h = rows.h0; h < rows.h1; ++h) {
                            for (std::int64_t k = 0; k < p.kernel_w; ++k) {
                                const T* row = padded.data() + h * padded_w + c0 * s + k;
                                const auto base = static_cast<std::int32_t>(h * d.W + c0 * s + k - p.pad_w);
                                if (s == 2) max_tap<2>(row, base, s, best, at);
                                else if (s == 1) max_tap<1>(row, base, s, best, at);
                                else max_tap<0>(row, base, s, best, at);
                            }
                        }
                        const std::int64_t n = std::min(kLanes, d.OW - c0);
                        std::copy(best, best + n, yrow + c0);
                        std::copy(at, at + n, irow + c0);
                    }
                }
            }
        }
    });
}

// gy, indices: [N, C, OH, OW] -> gx: [N, C, H, W] (zero-filled, added into).
void CpuBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, Tensor& gx) {
    dispatch_floating(gx.dtype(), "max_pool2d_backward", [&](auto tag) {
        using T = decltype(tag);
        Planes d = planes(gx, gy);
        const T* pg = gy.data<T>();
        const std::int64_t* pi = indices.data<std::int64_t>();
        T* px = gx.data<T>();
        std::int64_t per = d.OH * d.OW;
        // Overlapping windows may route several outputs to one input: plane-wise threads never collide.
#pragma omp parallel for if (gx.numel() > kParallelGrain && d.n > 1)
        for (std::int64_t pl = 0; pl < d.n; ++pl) {
            T* g = px + pl * d.H * d.W;
            for (std::int64_t o = pl * per; o < (pl + 1) * per; ++o) g[pi[o]] += pg[o];
        }
    });
}

// x: [N, C, H, W] -> y: [N, C, OH, OW]. Reference: reference::avg_pool2d_forward.
void CpuBackend::avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dParams& p) {
    dispatch_floating(x.dtype(), "avg_pool2d", [&](auto tag) {
        using T = decltype(tag);
        Planes d = planes(x, y);
        const T* px = x.data<T>();
        T* py = y.data<T>();
#pragma omp parallel for if (x.numel() > kParallelGrain && d.n > 1)
        for (std::int64_t pl = 0; pl < d.n; ++pl) {
            const T* in = px + pl * d.H * d.W;
            T* out = py + pl * d.OH * d.OW;
            for (std::int64_t oh = 0; oh < d.OH; ++oh) {
                for (std::int64_t ow = 0; ow < d.OW; ++ow) {
                    Window win = window(p, oh, ow, d.H, d.W);
                    Acc<T> s = 0;
                    for (std::int64_t h = win.h0; h < win.h1; ++h)
                        for (std::int64_t w = win.w0; w < win.w1; ++w) s += in[h * d.W + w];
                    out[oh * d.OW + ow] = static_cast<T>(s / win.divisor);
                }
            }
        }
    });
}

// gy: [N, C, OH, OW] -> gx: [N, C, H, W] (zero-filled, added into).
void CpuBackend::avg_pool2d_backward(const Tensor& gy, Tensor& gx, const Pool2dParams& p) {
    dispatch_floating(gx.dtype(), "avg_pool2d_backward", [&](auto tag) {
        using T = decltype(tag);
        Planes d = planes(gx, gy);
        const T* pg = gy.data<T>();
        T* px = gx.data<T>();
#pragma omp parallel for if (gx.numel() > kParallelGrain && d.n > 1)
        for (std::int64_t pl = 0; pl < d.n; ++pl) {
            const T* g = pg + pl * d.OH * d.OW;
            T* out = px + pl * d.H * d.W;
            for (std::int64_t oh = 0; oh < d.OH; ++oh) {
                for (std::int64_t ow = 0; ow < d.OW; ++ow) {
                    Window win = window(p, oh, ow, d.H, d.W);
                    T share = g[oh * d.OW + ow] / static_cast<T>(win.divisor);
                    for (std::int64_t h = win.h0; h < win.h1; ++h)
                        for (std::int64_t w = win.w0; w < win.w1; ++w) out[h * d.W + w] += share;
                }
            }
        }
    });
}

// x: [N, C, H, W] -> y: [N, C, OH, OW] over adaptive bins.
// Reference: reference::adaptive_avg_pool2d_forward.
void CpuBackend::adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
    dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
        using T = decltype(tag);
        Planes d = planes(x, y);
        const T* px = x.data<T>();
        T* py = y.data<T>();
#pragma omp parallel for if (x.numel() > kParallelGrain && d.n > 1)
        for (std::int64_t pl = 0; pl < d.n; ++pl) {
            const T* in = px + pl * d.H * d.W;
            T* out = py + pl * d.OH * d.OW;
            for (std::int64_t oh = 0; oh < d.OH; ++oh) {
                std::int64_t h0 = bin_start(oh, d.H, d.OH), h1 = bin_end(oh, d.H, d.OH);
                for (std::int64_t ow = 0; ow < d.OW; ++ow) {
                    std::int64_t w0 = bin_start(ow, d.W, d.OW), w1 = bin_end(ow, d.W, d.OW);
                    Acc<T> s = 0;
                    for (std::int64_t h = h0; h < h1; ++h)
                        for (std::int64_t w = w0; w < w1; ++w) s += in[h * d.W + w];
                    out[oh * d.OW + ow] = static_cast<T>(s / static_cast<Acc<T>>((h1 - h0) * (w1 - w0)));
                }
            }
        }
    });
}

// gy: [N, C, OH, OW] -> gx: [N, C, H, W] (zero-filled, added into).
void CpuBackend::adaptive_avg_pool2d_backward(const Tensor& gy, Tensor& gx) {
    dispatch_floating(gx.dtype(), "adaptive_avg_pool2d_backward", [&](auto tag) {
        using T = decltype(tag);
        Planes d = planes(gx, gy);
        const T* pg = gy.data<T>();
        T* px = gx.data<T>();
#pragma omp parallel for if (gx.numel() > kParallelGrain && d.n > 1)
        for (std::int64_t pl = 0; pl < d.n; ++pl) {
            const T* g = pg + pl * d.OH * d.OW;
            T* out = px + pl * d.H * d.W;
            for (std::int64_t oh = 0; oh < d.OH; ++oh) {
                std::int64_t h0 = bin_start(oh, d.H, d.OH), h1 = bin_end(oh, d.H, d.OH);
                for (std::int64_t ow = 0; ow < d.OW; ++ow) {
                    std::int64_t w0 = bin_start(ow, d.W, d.OW), w1 = bin_end(ow, d.W, d.OW);
                    T share = g[oh * d.OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
                    for (std::int64_t h = h0; h < h1; ++h)
                        for (std::int64_t w = w0; w < w1; ++w) out[h * d.W + w] += share;
                }
            }
        }
    });
}

// x: [N, C, H, W] -> y: [N, C, s*H, s*W]. Reference: reference::upsample_nearest2d_forward.
void CpuBackend::upsample_nearest2d_forward(const Tensor& x, Tensor& y) {
    dispatch_dtype(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Planes d = planes(x, y);
        if (y.numel() == 0) return;
        std::int64_t s = d.OH / d.H;  // the front-end makes OH = s·H and OW = s·W
        const T* px = x.data<T>();
        T* py = y.data<T>();
#pragma omp parallel for if (y.numel() > kParallelGrain && d.n > 1)
        for (std::int64_t pl = 0; pl < d.n; ++pl) {
            const T* in = px + pl * d.H * d.W;
            T* out = py + pl * d.OH * d.OW;
            for (std::int64_t oh = 0; oh < d.OH; ++oh) {
                const T* row = in + (oh / s) * d.W;
                T* o = out + oh * d.OW;
                for (std::int64_t ow = 0; ow < d.OW; ++ow) o[ow] = row[ow / s];
            }
        }
    });
}

// gy: [N, C, s*H, s*W] -> gx: [N, C, H, W] (zero-filled, added into).
void CpuBackend::upsample_nearest2d_backward(const Tensor& gy, Tensor& gx) {
    dispatch_floating(gx.dtype(), "upsample_nearest2d_backward", [&](auto tag) {
        using T = decltype(tag);
        Planes d = planes(gx, gy);
        if (gy.numel() == 0) return;
        std::int64_t s = d.OH / d.H;
        const T* pg = gy.data<T>();
        T* px = gx.data<T>();
#pragma omp parallel for if (gy.numel() > kParallelGrain && d.n > 1)
        for (std::int64_t pl = 0; pl < d.n; ++pl) {
            const T* g = pg + pl * d.OH * d.OW;
            T* out = px + pl * d.H * d.W;
            for (std::int64_t oh = 0; oh < d.OH; ++oh) {
                T* row = out + (oh / s) * d.W;
                const T* gr = g + oh * d.OW;
                for (std::int64_t ow = 0; ow < d.OW; ++ow) row[ow / s] += gr[ow];
            }
        }
    });
}

}  // namespace dcodr
