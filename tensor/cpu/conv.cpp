// 2-D convolution on the CPU. The entry points at the bottom pick, per pass, Winograd
// F(2x2, 3x3) (conv_winograd.h), the packed GEMM for 1x1 convolutions (conv_pointwise.h), the
// register-blocked direct loops (conv_direct.h; a stride-2 input layer's forward reaches them
// through its phase images, conv_phases.h) or, for everything else, im2col + a GEMM
// below (Eigen's, or the packed one of sgemm.h for large float32 products; docs/design.md has
// the rules and why).
//
// Per group g, one image's output is W_g [Og, K] · col_g [K, P] with K = Cg·kH·kW and
// P = OH·OW. Deep layers have tiny P (4 at ResNet's last stage), where a GEMM per image is a
// matrix-vector product that streams all of W from memory for a few columns. So images are
// batched: a chunk of B images becomes one GEMM of B·P columns (col is [C·kH·kW, B·P], image
// b in columns [b·P, (b+1)·P)), sized to reach kTargetCols columns.
//
// Threading (measured on 2 cores, docs/performance.md): threads own disjoint image ranges
// with private buffers and single-threaded GEMMs (Eigen runs serially inside a parallel
// region), so im2col, GEMM and scatter all run in parallel with no synchronisation. That beat
// one batch-wide GEMM threaded by Eigen by 1.6x overall: Eigen's threads wait on each other's
// packed panels, and on a shared 2-core VM one of them is often late. Only when the batch
// cannot be split evenly (fewer images than threads, or 3 on 2) do chunks run one after
// another with Eigen's threaded GEMM and the copies parallelised over the chunk's images.
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "tensor/cpu/conv_direct.h"
#include "tensor/cpu/conv_phases.h"
#include "tensor/cpu/conv_pointwise.h"
#include "tensor/cpu/conv_winograd.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/eigen_views.h"
#include "tensor/cpu/lanes.h"
#include "tensor/cpu/scratch.h"
#include "tensor/cpu/sgemm.h"
#include "tensor/cpu/stride2.h"

namespace dcodr {

namespace {

// Columns per GEMM worth batching images for: far fewer and the GEMM turns memory-bound on W;
// 128 to 512 measured the same within noise (docs/performance.md).
constexpr std::int64_t kTargetCols = 256;
// Fewest GEMM columns per thread for which threads take separate images.
constexpr std::int64_t kMinThreadCols = 64;

using eigen_views::cmat;
using eigen_views::mmat;

struct Geom {
    std::int64_t N, C, H, W, O, KH, KW, OH, OW, G, Cg, Og;
    std::int64_t K;     // Cg·KH·KW: GEMM depth of one group
    std::int64_t P;     // OH·OW: columns of one image
    std::int64_t rows;  // C·KH·KW: rows of col over all groups
    Conv2dParams p;
    bool pointwise;  // 1x1, stride 1, no padding: col is the image itself
    // Small planes (P <= kTapTableMaxPlane, not pointwise): taps[t·P + q] is where kernel tap t
    // (i·KW + j) reads for output pixel q, as ih·W + iw in the input plane, or -1 in the padding.
    std::vector<std::int32_t> taps;
};

// im2col and col2im through a table of read positions on planes of up to this many output
// pixels: one gather per (channel, tap) row instead of a loop per output row with its bounds
// (ResNet's deep stride-2 layers have 2-8 outputs per row, where the bounds cost more than the
// copy: im2col was 26 % of a 3x3/2 convolution in `perf`). Larger planes copy whole row runs.
constexpr std::int64_t kTapTableMaxPlane = 256;

std::vector<std::int32_t> tap_table(const Geom& g) {
    std::vector<std::int32_t> taps(static_cast<std::size_t>(g.KH * g.KW * g.P));
    for (std::int64_t i = 0; i < g.KH; ++i)
        for (std::int64_t j = 0; j < g.KW; ++j)
            for (std::int64_t oh = 0; oh < g.OH; ++oh)
                for (std::int64_t ow = 0; ow < g.OW; ++ow) {
                    const std::int64_t ih = oh * g.p.stride_h - g.p.pad_h + i * g.p.dil_h;
                    const std::int64_t iw = ow * g.p.stride_w - g.p.pad_w + j * g.p.dil_w;
                    const bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                    taps[static_cast<std::size_t>((i * g.KW + j) * g.P + oh * g.OW + ow)] =
                        inside ? static_cast<std::int32_t>(ih * g.W + iw) : -1;
                }
    return taps;
}

Geom make_geom(const Shape& x, const Shape& w, const Shape& y, const Conv2dParams& p) {
    Geom g{};
    g.N = x[0], g.C = x[1], g.H = x[2], g.W = x[3];
    g.O = w[0], g.KH = w[2], g.KW = w[3];
    g.OH = y[2], g.OW = y[3];
    g.G = p.groups, g.Cg = g.C / g.G, g.Og = g.O / g.G;
    g.K = g.Cg * g.KH * g.KW, g.P = g.OH * g.OW, g.rows = g.C * g.KH * g.KW;
    g.p = p;
    g.pointwise = g.KH == 1 && g.KW == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
    if (!g.pointwise && g.P <= kTapTableMaxPlane && g.H * g.W < (std::int64_t{1} << 31)) g.taps = tap_table(g);
    return g;
}

// Range [lo, hi) of output columns ow whose input column ow·s + off lies inside [0, W).
inline void valid_range(std::int64_t off, std::int64_t s, std::int64_t W, std::int64_t OW, std::int64_t& lo,
                        std::int64_t& hi) {
    lo = off >= 0 ? 0 : (-off + s - 1) / s;
    hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / s + 1;
    lo = std::min(lo, OW);
    hi = std::clamp(hi, lo, OW);
}

// dst[r * dld + i] = src[r * sld + i] for r < rows, i < len: one image's planes in or out of a
// batched GEMM matrix. Deep layers' planes are 4 to 64 values, where a memcpy call per plane
// cost more than the copy (perf: 9 % of a 1x1 convolution in memmove and its PLT stub); the
// usual lengths get a loop of compile-time length instead.
template <std::int64_t L, class T>
void copy_rows_fixed(const T* src, std::int64_t sld, T* dst, std::int64_t dld, std::int64_t rows) {
    for (std::int64_t r = 0; r < rows; ++r) std::copy_n(src + r * sld, L, dst + r * dld);
}
template <class T>
void copy_rows(const T* src, std::int64_t sld, T* dst, std::int64_t dld, std::int64_t rows, std::int64_t len) {
    switch (len) {
        case 4: return copy_rows_fixed<4>(src, sld, dst, dld, rows);
        case 16: return copy_rows_fixed<16>(src, sld, dst, dld, rows);
        case 64: return copy_rows_fixed<64>(src, sld, dst, dld, rows);
        default:
            for (std::int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * dld, src + r * sld, len * sizeof(T));
    }
}

// dst[l] = src[2l] for l < n: a row of a stride-2 im2col. For rows of 4 and 8 one vector load
// and one shuffle, for longer rows two loads and a shuffle per 16 values (the rest one by one);
// src must have room for whole vectors (up to kLanes values past the row's last one). GCC's own
// vectorisation of the loop moved the values through xmm registers one pair at a time.
template <std::int64_t L, class T, std::size_t... I>
inline void copy_even_lanes(const T* src, T* dst, std::index_sequence<I...>) {
    typedef T Row __attribute__((vector_size(L * sizeof(T))));
    const lanes::Lanes<T> lo = lanes::load_lanes(src);
    const lanes::Lanes<T> hi = L > lanes::kLanes / 2 ? lanes::load_lanes(src + lanes::kLanes) : lo;
    const Row row = __builtin_shufflevector(lo, hi, static_cast<int>(2 * I)...);
    std::memcpy(dst, &row, sizeof row);
}
template <class T>
inline void copy_even(const T* src, T* dst, std::int64_t n) {
    switch (n) {
        case 4: return copy_even_lanes<4>(src, dst, std::make_index_sequence<4>{});
        case 8: return copy_even_lanes<8>(src, dst, std::make_index_sequence<8>{});
        default:
            std::int64_t l = 0;
            for (; l + lanes::kLanes <= n; l += lanes::kLanes)
                copy_even_lanes<lanes::kLanes>(src + 2 * l, dst + l, std::make_index_sequence<lanes::kLanes>{});
            for (; l < n; ++l) dst[l] = src[2 * l];
    }
}

// im2col of a stride-2, undilated convolution: each channel is first copied into a zero-padded
// plane, after which every (tap, output row) is a copy of every other value with no bounds to
// check. On small planes (tap tables) those were one gather per value: 27 % of ResNet-18's
// layer2 3x3/2 backward-filter (perf); on large planes, a loop per row with its bounds: 23 % of
// the stem's 7x7/2 backward-filter.
template <class T>
void im2col_stride2(const T* x, T* col, std::int64_t ldc, const Geom& g) {
    const Conv2dParams& p = g.p;
    const std::int64_t HP = std::max(g.H + 2 * p.pad_h, 2 * (g.OH - 1) + g.KH);
    const std::int64_t WP = std::max(g.W + 2 * p.pad_w, 2 * (g.OW - 1) + g.KW);
    thread_local std::vector<T> padded;  // + room for copy_even's whole vectors past the end
    padded.assign(static_cast<std::size_t>(HP * WP + 2 * lanes::kLanes), T(0));
    for (std::int64_t c = 0; c < g.C; ++c) {
        copy_rows(x + c * g.H * g.W, g.W, padded.data() + p.pad_h * WP + p.pad_w, WP, g.H, g.W);
        for (std::int64_t i = 0; i < g.KH; ++i)
            for (std::int64_t j = 0; j < g.KW; ++j) {
                T* row = col + ((c * g.KH + i) * g.KW + j) * ldc;
                for (std::int64_t oh = 0; oh < g.OH; ++oh)
                    copy_even(padded.data() + (2 * oh + i) * WP + j, row + oh * g.OW, g.OW);
            }
    }
}
// Side by side, in-process: on tap-table planes, rows of 8 and more outputs (3x3/2 at 16x16 ->
// 8x8, forward 128 -> 128, 128 images, 1.10x; backward-filter 64 -> 128 1.13-1.14x), while on
// rows of 4 and 2 the table stays ahead (0.90x and 0.81x this way); on large planes, the stem's
// 7x7/2 3 -> 64 backward-filter 1.07-1.17x, 3x3/2 64 -> 64 at 64x64 forward 1.04-1.10x and
// backward-filter 1.02-1.10x.
bool stride2_padded(const Geom& g) {
    const Conv2dParams& p = g.p;
    return !g.pointwise && g.OW >= 8 && p.stride_h == 2 && p.stride_w == 2 && p.dil_h == 1 && p.dil_w == 1 &&
           p.pad_h >= 0 && p.pad_w >= 0;
}

// col[r, :] for every r = (c·KH + i)·KW + j, one image, row stride ldc; padding reads as 0.
// With a band [oh0, oh1) of output rows, only its pixels, from col's column 0 (row runs only:
// bands are for large planes, which have no tap table).
template <class T>
void im2col(const T* x, T* col, std::int64_t ldc, const Geom& g, std::int64_t oh0 = 0, std::int64_t oh1 = -1) {
    const Conv2dParams& p = g.p;
    if (oh1 < 0) oh1 = g.OH;
    if (stride2_padded(g) && oh0 == 0 && oh1 == g.OH) return im2col_stride2(x, col, ldc, g);
    if (!g.taps.empty() && oh0 == 0 && oh1 == g.OH) {
        const std::int64_t taps = g.KH * g.KW;
        for (std::int64_t c = 0; c < g.C; ++c) {
            const T* xc = x + c * g.H * g.W;
            for (std::int64_t t = 0; t < taps; ++t) {
                const std::int32_t* at = g.taps.data() + t * g.P;
                T* row = col + (c * taps + t) * ldc;
#pragma omp simd
                for (std::int64_t q = 0; q < g.P; ++q) row[q] = at[q] >= 0 ? xc[at[q]] : T(0);
            }
        }
        return;
    }
    for (std::int64_t c = 0; c < g.C; ++c) {
        const T* xc = x + c * g.H * g.W;
        for (std::int64_t i = 0; i < g.KH; ++i) {
            for (std::int64_t j = 0; j < g.KW; ++j) {
                T* row = col + ((c * g.KH + i) * g.KW + j) * ldc;
                std::int64_t w_off = j * p.dil_w - p.pad_w, lo, hi;
                valid_range(w_off, p.stride_w, g.W, g.OW, lo, hi);
                for (std::int64_t oh = oh0; oh < oh1; ++oh) {
                    T* r = row + (oh - oh0) * g.OW;
                    std::int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
                    if (ih < 0 || ih >= g.H) {
                        std::fill(r, r + g.OW, T(0));
                        continue;
                    }
                    const T* xr = xc + ih * g.W + w_off;
                    std::fill(r, r + lo, T(0));
                    if (p.stride_w == 1) {
                        std::copy(xr + lo, xr + hi, r + lo);
                    } else if (p.stride_w == 2) {  // a constant stride: vector loads and shuffles
#pragma omp simd
                        for (std::int64_t ow = lo; ow < hi; ++ow) r[ow] = xr[ow * 2];
                    } else {
                        for (std::int64_t ow = lo; ow < hi; ++ow) r[ow] = xr[ow * p.stride_w];
                    }
                    std::fill(r + hi, r + g.OW, T(0));
                }
            }
        }
    }
}

// The adjoint of im2col_stride2: each channel's taps are added into a zeroed padded plane, every
// (tap, output row) a spread of whole vectors with no bounds to check (stride2.h), and the
// plane's interior is then copied out as gx's channel. Through the tap table these were one
// indexed add per value: 32 % of ResNet-18's layer2 3x3/2 backward-data (perf). Side by side,
// in-process: 3x3/2 64 -> 128 at 16x16 1.17-1.20x (64 and 256 images), 64 -> 64 at 32x32 1.41x,
// 256 -> 256 at 32x32 1.13x, the stem's 7x7/2 1.10x. On rows of 4 and 2 outputs the table stays
// (this way 0.53-0.83x: two vector adds per 4 values), hence the same rule as im2col's.
template <class T>
void col2im_stride2(const T* col, std::int64_t ldc, T* gx, const Geom& g) {
    const Conv2dParams& p = g.p;
    const std::int64_t HP = std::max(g.H + 2 * p.pad_h, 2 * (g.OH - 1) + g.KH);
    const std::int64_t WP = std::max(g.W + 2 * p.pad_w, 2 * (g.OW - 1) + g.KW);
    thread_local std::vector<T> padded;  // + room for add_every_other's whole vectors past the end
    const std::int64_t size = HP * WP + 2 * lanes::kLanes;
    padded.resize(static_cast<std::size_t>(size));
    T* plane = padded.data();
    for (std::int64_t c = 0; c < g.C; ++c) {
        std::fill(plane, plane + size, T(0));
        for (std::int64_t i = 0; i < g.KH; ++i)
            for (std::int64_t j = 0; j < g.KW; ++j) {
                const T* row = col + ((c * g.KH + i) * g.KW + j) * ldc;
                for (std::int64_t oh = 0; oh < g.OH; ++oh) {
                    T* dst = plane + (2 * oh + i) * WP + j;
                    stride2::add_every_other(row + oh * g.OW, g.OW, dst, plane + size - dst);
                }
            }
        copy_rows(plane + p.pad_h * WP + p.pad_w, WP, gx + c * g.H * g.W, g.W, g.H, g.W);
    }
}

// The adjoint of im2col: gx (one image, zeroed here first) = sum of col entries per pixel.
template <class T>
void col2im(const T* col, std::int64_t ldc, T* gx, const Geom& g) {
    const Conv2dParams& p = g.p;
    if (stride2_padded(g)) return col2im_stride2(col, ldc, gx, g);
    std::fill(gx, gx + g.C * g.H * g.W, T(0));
    if (!g.taps.empty()) {
        const std::int64_t taps = g.KH * g.KW;
        for (std::int64_t c = 0; c < g.C; ++c) {
            T* gc = gx + c * g.H * g.W;
            for (std::int64_t t = 0; t < taps; ++t) {
                const std::int32_t* at = g.taps.data() + t * g.P;
                const T* row = col + (c * taps + t) * ldc;
                for (std::int64_t q = 0; q < g.P; ++q)
                    if (at[q] >= 0) gc[at[q]] += row[q];
            }
        }
        return;
    }
    for (std::int64_t c = 0; c < g.C; ++c) {
        T* gc = gx + c * g.H * g.W;
        for (std::int64_t i = 0; i < g.KH; ++i) {
            for (std::int64_t j = 0; j < g.KW; ++j) {
                const T* row = col + ((c * g.KH + i) * g.KW + j) * ldc;
                std::int64_t w_off = j * p.dil_w - p.pad_w, lo, hi;
                valid_range(w_off, p.stride_w, g.W, g.OW, lo, hi);
                for (std::int64_t oh = 0; oh < g.OH; ++oh) {
                    std::int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
                    if (ih < 0 || ih >= g.H) continue;
                    const T* r = row + oh * g.OW;
                    T* gr = gc + ih * g.W + w_off;
                    if (p.stride_w == 1) {
#pragma omp simd
                        for (std::int64_t ow = lo; ow < hi; ++ow) gr[ow] += r[ow];
                    } else if (p.stride_w == 2) {
                        // Room: the rest of this image's plane c, which the thread owns.
                        stride2::add_every_other(r + lo, hi - lo, gr + 2 * lo, gc + g.H * g.W - (gr + 2 * lo));
                    } else {
                        for (std::int64_t ow = lo; ow < hi; ++ow) gr[ow * p.stride_w] += r[ow];
                    }
                }
            }
        }
    }
}

// How images are split into GEMMs and over threads.
struct Plan {
    std::int64_t chunk;  // images per GEMM
    bool per_thread;     // threads own image ranges (serial GEMMs) vs one threaded GEMM at a time
    int threads;
};

Plan make_plan(const Geom& g) {
    Plan pl;
    pl.threads = std::max(1, omp_get_max_threads());
    // Per-thread image ranges unless that leaves threads idle, badly unbalanced (3 images on 2
    // threads) or with GEMMs of a few columns: then Eigen's threaded GEMM splits the work
    // instead. (A thread's backward-filter partial is a full [O, K] matrix; with a handful of
    // columns per thread, writing and summing those partials costs more than the GEMM.)
    bool balanced = g.N % pl.threads == 0 || g.N >= 4 * pl.threads;
    pl.per_thread = pl.threads > 1 && g.N >= pl.threads && balanced && g.N / pl.threads * g.P >= kMinThreadCols;
    if (!pl.per_thread) pl.threads = 1;
    std::int64_t per_stream = (g.N + pl.threads - 1) / pl.threads;
    pl.chunk = std::clamp<std::int64_t>((kTargetCols + g.P - 1) / std::max<std::int64_t>(g.P, 1), 1, per_stream);
    return pl;
}

// Calls body(thread, n0, nb) for consecutive chunks of images covering [0, N); a thread's
// chunks come in increasing order.
template <class F>
void for_chunks(const Geom& g, const Plan& pl, F&& body) {
    if (!pl.per_thread) {
        for (std::int64_t n0 = 0; n0 < g.N; n0 += pl.chunk) body(0, n0, std::min(pl.chunk, g.N - n0));
        return;
    }
#pragma omp parallel num_threads(pl.threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        std::int64_t lo = g.N * t / nt, hi = g.N * (t + 1) / nt;
        for (std::int64_t n0 = lo; n0 < hi; n0 += pl.chunk) body(t, n0, std::min(pl.chunk, hi - n0));
    }
}

// Fills col [rows, nb·P] from images n0.. of x; returns col and its leading dimension. A
// pointwise conv of a single image needs no copy at all.
template <class T>
const T* gather_cols(const T* x, std::int64_t n0, std::int64_t nb, Scratch<T>& scratch, std::int64_t& ldc,
                     const Geom& g, bool inner_parallel) {
    if (g.pointwise && nb == 1) {
        ldc = g.P;
        return x + n0 * g.C * g.P;
    }
    ldc = nb * g.P;
    T* buf = scratch.get(g.rows * ldc);
#pragma omp parallel for if (inner_parallel && nb > 1)
    for (std::int64_t b = 0; b < nb; ++b) {
        const T* image = x + (n0 + b) * g.C * g.H * g.W;
        if (g.pointwise) copy_rows(image, g.P, buf + b * g.P, ldc, g.C, g.P);
        else im2col(image, buf + b * g.P, ldc, g);
    }
    return buf;
}

// Views gy's images n0.. as one [O, nb·P] matrix (copying when nb > 1).
template <class T>
const T* gather_grad(const T* gy, std::int64_t n0, std::int64_t nb, Scratch<T>& scratch, std::int64_t& ldg,
                     const Geom& g, bool inner_parallel) {
    if (nb == 1) {
        ldg = g.P;
        return gy + n0 * g.O * g.P;
    }
    ldg = nb * g.P;
    T* buf = scratch.get(g.O * ldg);
#pragma omp parallel for if (inner_parallel && nb > 1)
    for (std::int64_t b = 0; b < nb; ++b) copy_rows(gy + (n0 + b) * g.O * g.P, g.P, buf + b * g.P, ldg, g.O, g.P);
    return buf;
}

enum class Pass { forward, backward_data, backward_filter };

// The packed float32 GEMM (sgemm.h) takes the GEMM of the im2col path's forward and
// backward-data where the build has one, the threads own image ranges (its GEMM is
// single-threaded) and the product has >= kPackedMinRows rows (register tiles of 12: below that
// the last tile is mostly padding): gy's planes are read in place instead of gathered, and
// forward writes y's planes directly when they are whole vectors (P a multiple of 16; on 2x2
// planes its stores would go through the edge tile once per depth block, 0.92x Eigen). Side by
// side in one process on ResNet-50's 3x3/2 layers: backward-data 1.10-1.15x, forward 1.0-1.1x.
// Backward-filter stays on Eigen: packing colᵀ and gy transposed measured 0.9-1.05x.
constexpr std::int64_t kPackedMinRows = 128;
template <class T>
bool packed_im2col(const Geom& g, const Plan& pl, Pass pass) {
    const std::int64_t rows = pass == Pass::forward ? g.O : g.K;
    return std::is_same_v<T, float> && cpu::has_packed_sgemm() && g.G == 1 && !g.pointwise && pl.per_thread &&
           rows >= kPackedMinRows && (pass == Pass::backward_data || g.P % 16 == 0);
}
// Images n0.. of an [N, channels, P] tensor as GEMM rows (channels) x columns (image, pixel).
cpu::Dim plane_rows(const Geom& g) { return cpu::linear(g.P); }
cpu::Dim plane_columns(const Geom& g, std::int64_t channels) { return cpu::planes(g.P, channels * g.P); }

template <class T>
void forward(const Tensor& xt, const Tensor& wt, Tensor& yt, const Geom& g) {
    const T* x = xt.data<T>();
    const T* w = wt.data<T>();
    T* y = yt.data<T>();
    Plan pl = make_plan(g);
    std::vector<Scratch<T>> cols(pl.threads), outs(pl.threads);
    const bool packed = packed_im2col<T>(g, pl, Pass::forward);
    std::unique_ptr<cpu::PackedA> packed_w;  // W [O, K], packed once for all threads
    if constexpr (std::is_same_v<T, float>)
        if (packed) packed_w = std::make_unique<cpu::PackedA>(g.O, g.K, cpu::ConstOperand{w, cpu::linear(g.K), cpu::linear(1)});
    for_chunks(g, pl, [&](int t, std::int64_t n0, std::int64_t nb) {
        bool inner = !pl.per_thread;
        std::int64_t ldc;
        const T* col = gather_cols(x, n0, nb, cols[t], ldc, g, inner);
        if constexpr (std::is_same_v<T, float>) {
            if (packed) {  // y's planes as C: no scatter
                cpu::sgemm(*packed_w, cpu::Columns{0, nb * g.P}, cpu::ConstOperand{col, cpu::linear(ldc), cpu::linear(1)},
                           cpu::Operand{y + n0 * g.O * g.P, plane_rows(g), plane_columns(g, g.O)}, false);
                return;
            }
        }
        // One image writes straight into y; a batch goes through [O, nb·P] and is scattered.
        T* out = y + n0 * g.O * g.P;
        std::int64_t ldo = g.P;
        if (nb > 1) {
            ldo = nb * g.P;
            out = outs[t].get(g.O * ldo);
        }
        for (std::int64_t grp = 0; grp < g.G; ++grp)
            mmat(out + grp * g.Og * ldo, g.Og, nb * g.P, ldo).noalias() =
                cmat(w + grp * g.Og * g.K, g.Og, g.K, g.K) * cmat(col + grp * g.K * ldc, g.K, nb * g.P, ldc);
        if (nb == 1) return;
#pragma omp parallel for if (inner)
        for (std::int64_t b = 0; b < nb; ++b) {
            copy_rows(out + b * g.P, ldo, y + (n0 + b) * g.O * g.P, g.P, g.O, g.P);
        }
    });
}

template <class T>
void backward_data(const Tensor& gyt, const Tensor& wt, Tensor& gxt, const Geom& g) {
    const T* gy = gyt.data<T>();
    const T* w = wt.data<T>();
    T* gx = gxt.data<T>();
    Plan pl = make_plan(g);
    std::vector<Scratch<T>> gys(pl.threads), cols(pl.threads);
    const bool packed = packed_im2col<T>(g, pl, Pass::backward_data);
    std::unique_ptr<cpu::PackedA> packed_wt;  // Wᵀ [K, O], packed once for all threads
    if constexpr (std::is_same_v<T, float>)
        if (packed) packed_wt = std::make_unique<cpu::PackedA>(g.K, g.O, cpu::ConstOperand{w, cpu::linear(1), cpu::linear(g.K)});
    for_chunks(g, pl, [&](int t, std::int64_t n0, std::int64_t nb) {
        bool inner = !pl.per_thread;
        // gcol_g = W_g^T · gy_g; for a pointwise conv of one image gcol is gx itself.
        bool direct = g.pointwise && nb == 1;
        T* gcol = gx + n0 * g.C * g.P;
        std::int64_t ldc = g.P;
        if (!direct) {
            ldc = nb * g.P;
            gcol = cols[t].get(g.rows * ldc);
        }
        bool done = false;
        if constexpr (std::is_same_v<T, float>) {
            if (packed) {  // gy's planes as B: no gather
                cpu::sgemm(*packed_wt, cpu::Columns{0, nb * g.P},
                           cpu::ConstOperand{gy + n0 * g.O * g.P, plane_rows(g), plane_columns(g, g.O)},
                           cpu::Operand{gcol, cpu::linear(ldc), cpu::linear(1)}, false);
                done = true;
            }
        }
        if (!done) {
            std::int64_t ldg;
            const T* gyc = gather_grad(gy, n0, nb, gys[t], ldg, g, inner);
            for (std::int64_t grp = 0; grp < g.G; ++grp)
                mmat(gcol + grp * g.K * ldc, g.K, nb * g.P, ldc).noalias() =
                    cmat(w + grp * g.Og * g.K, g.Og, g.K, g.K).transpose() *
                    cmat(gyc + grp * g.Og * ldg, g.Og, nb * g.P, ldg);
        }
        if (direct) return;
#pragma omp parallel for if (inner && nb > 1)
        for (std::int64_t b = 0; b < nb; ++b) {
            // A pointwise conv's col2im sums one value per pixel: a copy.
            T* image = gx + (n0 + b) * g.C * g.H * g.W;
            if (g.pointwise) copy_rows(gcol + b * g.P, ldc, image, g.P, g.C, g.P);
            else col2im(gcol + b * g.P, ldc, image, g);
        }
    });
}

// Backward-filter on an image whose col matrix is past kBandMaxCol values (the DCoDR generator's
// 5x5 over 256 channels at 64x64: 6,400 x 4,096, 105 MB) takes it in blocks whose col fits in a
// core's L2: otherwise the col is written to DRAM and read back, and the pass ran at ~0.4 of the
// GEMM's speed. A block is a band of output rows of about kBandDepth pixels (the GEMM's depth)
// times a group of input channels (gw's columns); each block's product adds into the thread's
// gw. Bands of a single row (64 pixels) and all channels measured 0.81-0.90x of 8-row bands in
// groups of 20 channels (5x5 256 -> 64 at 64x64, in process; 16- and 32-row bands 1.13-1.17x
// and 0.99-1.02x of the single row).
constexpr std::int64_t kBandMaxCol = std::int64_t{1} << 20, kBandCol = std::int64_t{1} << 18, kBandDepth = 512;
std::int64_t filter_band_rows(const Geom& g) {
    if (g.G != 1 || g.pointwise || !g.taps.empty() || g.rows * g.P <= kBandMaxCol) return g.OH;
    return std::clamp<std::int64_t>((kBandDepth + g.OW - 1) / g.OW, 1, g.OH);
}
std::int64_t filter_band_channels(const Geom& g, std::int64_t band_rows) {
    return std::clamp<std::int64_t>(kBandCol / (g.KH * g.KW * band_rows * g.OW), 1, g.C);
}

// Backward-filter with the threads splitting gw's columns (input channels) instead of the
// images: each thread im2cols its channels of every image and multiplies all of gy by them into
// its own columns of gw. There is no partial [O, K] per thread to write and sum: on deep
// strided layers gw is far larger than a thread's share of the GEMM depth (ResNet-18's 3x3/2
// 256 -> 512 on 4x4 planes: 1.2 M weights, 128 pixels per thread), and the sum of the partials
// took 20 % of the pass plus a wait at its barrier (perf). The cost is every thread reading all
// of gy, small where few pixels (N·P) meet many weights per output channel (K). Side by side in
// one process, 2 threads: 3x3/2 256 -> 512 4x4 64 images 1.31-1.32x, 512 -> 512 256 images
// 1.16-1.18x, 128 -> 256 8x8 1.06-1.18x; at N·P = 3.6 K 1.03-1.05x, at 7 K level (1.00-1.01x).
constexpr std::int64_t kSplitFilterMaxPixelsPerWeight = 4;
bool split_filter_channels(const Geom& g, int threads) {
    return threads > 1 && g.G == 1 && !g.pointwise && g.C >= 2 * threads &&
           g.N * g.P < kSplitFilterMaxPixelsPerWeight * g.K && filter_band_rows(g) == g.OH;
}

template <class T>
void backward_filter_channel_split(const T* x, const T* gy, T* gw, const Geom& g, int threads) {
    const std::int64_t taps = g.KH * g.KW;
    const std::int64_t chunk = std::clamp<std::int64_t>(kTargetCols / std::max<std::int64_t>(g.P, 1), 1, g.N);
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const std::int64_t c0 = g.C * t / nt, c1 = g.C * (t + 1) / nt;
        Geom slice = g;  // im2col reads only C, the plane sizes, the parameters and the taps
        slice.C = c1 - c0;
        const std::int64_t rows = slice.C * taps;
        Scratch<T> cols, gys;
        auto dst = mmat(gw + c0 * taps, g.O, rows, g.K);
        for (std::int64_t n0 = 0; n0 < g.N; n0 += chunk) {
            const std::int64_t nb = std::min(chunk, g.N - n0), ldc = nb * g.P;
            T* col = cols.get(rows * ldc);
            for (std::int64_t b = 0; b < nb; ++b) im2col(x + ((n0 + b) * g.C + c0) * g.H * g.W, col + b * g.P, ldc, slice);
            std::int64_t ldg;
            const T* gyc = gather_grad(gy, n0, nb, gys, ldg, g, false);
            auto prod = cmat(gyc, g.O, ldc, ldg) * cmat(col, rows, ldc, ldc).transpose();
            if (n0 == 0) dst.noalias() = prod;
            else dst.noalias() += prod;
        }
    }
}

template <class T>
void backward_filter(const Tensor& xt, const Tensor& gyt, Tensor& gwt, const Geom& g) {
    const T* x = xt.data<T>();
    const T* gy = gyt.data<T>();
    T* gw = gwt.data<T>();
    std::int64_t wsize = g.O * g.K;
    const int threads = std::max(1, omp_get_max_threads());
    if (split_filter_channels(g, threads)) return backward_filter_channel_split(x, gy, gw, g, threads);
    Plan pl = make_plan(g);
    std::vector<Scratch<T>> gys(pl.threads), cols(pl.threads), accs(pl.threads);
    std::vector<char> started(pl.threads, 0);
    const std::int64_t band = filter_band_rows(g);
    for_chunks(g, pl, [&](int t, std::int64_t n0, std::int64_t nb) {
        bool inner = !pl.per_thread;
        if (band < g.OH) {  // one image per chunk here (P >= kTargetCols)
            T* acc = t == 0 ? gw : accs[t].get(wsize);
            const std::int64_t taps = g.KH * g.KW, group = filter_band_channels(g, band);
            Geom slice = g;  // a group of channels: im2col reads only C, the plane sizes and the parameters
            for (std::int64_t b = 0; b < nb; ++b) {
                const T* image = x + (n0 + b) * g.C * g.H * g.W;
                const T* gyi = gy + (n0 + b) * g.O * g.P;
                for (std::int64_t oh0 = 0; oh0 < g.OH; oh0 += band) {
                    const std::int64_t oh1 = std::min(g.OH, oh0 + band), cols_b = (oh1 - oh0) * g.OW;
                    for (std::int64_t c0 = 0; c0 < g.C; c0 += group) {
                        slice.C = std::min(group, g.C - c0);
                        const std::int64_t rows = slice.C * taps;
                        T* col = cols[t].get(rows * cols_b);
                        im2col(image + c0 * g.H * g.W, col, cols_b, slice, oh0, oh1);
                        auto dst = mmat(acc + c0 * taps, g.O, rows, g.K);
                        auto prod = cmat(gyi + oh0 * g.OW, g.O, cols_b, g.P) * cmat(col, rows, cols_b, cols_b).transpose();
                        if (started[t]) dst.noalias() += prod;
                        else dst.noalias() = prod;
                    }
                    started[t] = 1;
                }
            }
            return;
        }
        std::int64_t ldc, ldg;
        const T* col = gather_cols(x, n0, nb, cols[t], ldc, g, inner);
        const T* gyc = gather_grad(gy, n0, nb, gys[t], ldg, g, inner);
        // Thread 0 (or the single stream) sums into gw, other threads into private partials
        // added below. Every thread has at least one image (N >= threads), so gw gets written.
        T* acc = t == 0 ? gw : accs[t].get(wsize);
        for (std::int64_t grp = 0; grp < g.G; ++grp) {
            auto dst = mmat(acc + grp * g.Og * g.K, g.Og, g.K, g.K);
            auto prod = cmat(gyc + grp * g.Og * ldg, g.Og, nb * g.P, ldg) *
                        cmat(col + grp * g.K * ldc, g.K, nb * g.P, ldc).transpose();
            if (started[t]) dst.noalias() += prod;
            else dst.noalias() = prod;
        }
        started[t] = 1;
    });
    if (!pl.per_thread) return;
#pragma omp parallel for if (wsize > kParallelGrain)
    for (std::int64_t i = 0; i < wsize; ++i) {
        T s = gw[i];
        for (int t = 1; t < pl.threads; ++t)
            if (started[t]) s += accs[t].p[i];
        gw[i] = s;
    }
}

// Few output channels on a large plane, stride 1, no dilation, one group: the register-blocked
// loops of conv_direct.h beat im2col + GEMM there (a GEMM of a few dozen rows is bound by the
// im2col buffer's memory traffic: 25 x C rows of H*W values for a 5x5; docs/performance.md has
// the numbers). Forward and backward-data (both correlations there) win up to 64 output
// channels (DCoDR's generator's 5x5 256 -> 64 at 64x64: 1.4x and 2x); backward-filter only up to
// 8 (it streams gy once per kernel row), or 32 for 3x3 kernels, whose nine taps are summed at
// once (conv_direct.h's filter_3x3). Small planes keep im2col: batching images into one GEMM
// serves them well. 3x3 kernels with enough channels go to Winograd first.
constexpr std::int64_t kDirectMaxOut = 64, kDirectFilterMaxOut = 8, kDirect3x3FilterMaxOut = 32,
                       kDirectMinPlane = 1024;
bool use_direct(const Geom& g, Pass pass) {
    const Conv2dParams& p = g.p;
    const std::int64_t filter_max_out = g.KH == 3 && g.KW == 3 ? kDirect3x3FilterMaxOut : kDirectFilterMaxOut;
    const std::int64_t max_out = pass == Pass::backward_filter ? filter_max_out : kDirectMaxOut;
    return g.G == 1 && g.O <= max_out && g.P >= kDirectMinPlane && p.stride_h == 1 && p.stride_w == 1 &&
           p.dil_h == 1 && p.dil_w == 1;
}
conv_direct::Shape4 direct_shape(const Geom& g) {
    return {g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.OH, g.OW, g.p.pad_h, g.p.pad_w};
}

// A forward stride 2 on an input layer (<= kPhasesMaxChannels channels, kernels of 2x2 and
// more) whose outputs are large enough for the direct loops: the stride-1 convolution over the
// input's four phase images (conv_phases.h) instead of im2col with every other column. The
// stem (7x7/2, 3 -> 64, 64x64 images, 64 of them, 2 threads, alternated runs): 1.12-1.26x.
// The backward passes keep im2col: over the phases (a 4x4 im2col + GEMM with 30 % zero taps)
// backward-filter measured 0.81-0.85x, and the direct backward-data writes 12 planes of 35
// columns in blocks of 16 and 32 (0.5-0.8x).
constexpr std::int64_t kPhasesMaxChannels = 4;
bool use_phases(const Geom& g, Pass pass) {
    const Conv2dParams& p = g.p;
    return pass == Pass::forward && g.G == 1 && g.C <= kPhasesMaxChannels && g.KH >= 2 && g.KW >= 2 &&
           p.stride_h == 2 && p.stride_w == 2 && p.dil_h == 1 && p.dil_w == 1 && g.O <= kDirectMaxOut &&
           g.P >= kDirectMinPlane;
}
conv_phases::Shape4 phases_shape(const Geom& g) {
    return {g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.OH, g.OW, g.p.pad_h, g.p.pad_w};
}
// The phase images of x and the phase filter's shape, as tensors for the stride-1 dispatch.
template <class T>
Tensor phase_images(const Tensor& x, const conv_phases::Shape4& s) {
    Tensor X = Tensor::empty({s.N, 4 * s.C, s.phase_h(), s.phase_w()}, x.dtype());
    conv_phases::split_input(x.data<T>(), X.data<T>(), s);
    return X;
}
Shape phase_filter_shape(const conv_phases::Shape4& s) { return {s.O, 4 * s.C, s.taps_h(), s.taps_w()}; }

// 3x3, stride 1, no dilation, one group, padding <= 2 (conv_winograd.h): Winograd F(2x2, 3x3)
// does the arithmetic in 2.25x fewer multiply-adds. Below kWinogradMinChannels channels on
// either side the GEMMs are too thin to carry the transforms' memory traffic. A forward or
// backward-data pass that writes at most kWinogradMinChannels planes of >= kDirectMinPlane
// pixels goes to the direct loops instead: on 64x64 planes, 16 -> 16 direct 1.5x Winograd
// (forward and backward-data), 32 -> 16 forward 1.27x, 16 -> 32 backward-data 1.25x; with 32
// planes written, Winograd is ahead or level. Backward-filter goes direct when either side has
// at most kWinogradMinChannels channels (Winograd's GEMMs are C x O): 16 -> 16 1.4x, 32 -> 16
// 1.2x, 16 -> 32 1.3x, 64 -> 16 1.03-1.1x, but 32 -> 32 0.8-1.0x (2 threads, side by side,
// docs/performance.md).
constexpr std::int64_t kWinogradMinChannels = 16;
bool use_winograd(const Geom& g, Pass pass) {
    const Conv2dParams& p = g.p;
    const bool shape = g.G == 1 && g.KH == 3 && g.KW == 3 && p.stride_h == 1 && p.stride_w == 1 &&
                       p.dil_h == 1 && p.dil_w == 1 && p.pad_h <= 2 && p.pad_w <= 2 &&
                       g.C >= kWinogradMinChannels && g.O >= kWinogradMinChannels;
    const std::int64_t written = pass == Pass::backward_data ? g.C : g.O;
    const bool thin = pass == Pass::backward_filter ? std::min(g.C, g.O) <= kWinogradMinChannels
                                                    : written <= kWinogradMinChannels;
    const bool thin_direct = thin && use_direct(g, pass);
    return shape && !thin_direct;
}
conv_winograd::Shape4 winograd_shape(const Geom& g) {
    return {g.N, g.C, g.H, g.W, g.O, g.OH, g.OW, g.p.pad_h, g.p.pad_w};
}

// 1x1, no padding, one group, float32, on a build with the packed GEMM
// (conv_pointwise.h): no copies in or out of a GEMM matrix. The GEMM's rows (output channels
// forward and backward-filter, input channels backward-data) come in register tiles of 12, and
// the last tile of 64 rows runs the 4-row kernel (sgemm.cpp). Forward and backward-data take
// the packed GEMM from 64 rows: in-process side by side against the im2col path on ResNet-50's
// layer1 (16x16, 64 and 256 images), 256 -> 64 forward 1.13-1.18x, 64 -> 256 backward-data
// 1.21-1.24x (with a padded 12-row last tile they had been 0.95x and 1.01x). Backward-filter
// packs both operands transposed, which 64 rows do not repay (0.90-0.98x), so it keeps im2col
// below 128. With 128 or more, side by side against im2col on ResNet-50's shapes: forward
// 1.1-1.7x, backward-data 1.1-1.5x, backward-filter 1.0-1.25x.
constexpr std::int64_t kPointwiseMinChannels = 16, kPointwiseMinRows = 64, kPointwiseFilterMinRows = 128;
template <class T>
bool use_pointwise(const Geom& g, Pass pass) {
    const Conv2dParams& p = g.p;
    if (!std::is_same_v<T, float> || !cpu::has_packed_sgemm() || g.KH != 1 || g.KW != 1 || p.pad_h != 0 ||
        p.pad_w != 0 || g.G != 1)
        return false;
    const std::int64_t rows = pass == Pass::backward_data ? g.C : g.O, other = pass == Pass::backward_data ? g.O : g.C;
    return rows >= (pass == Pass::backward_filter ? kPointwiseFilterMinRows : kPointwiseMinRows) &&
           other >= kPointwiseMinChannels;
}
conv_pointwise::Shape4 pointwise_shape(const Geom& g) {
    return {g.N, g.C, g.H, g.W, g.O, g.OH, g.OW, g.p.stride_h, g.p.stride_w};
}

}  // namespace

// Each entry point tries the algorithms in the order of docs/design.md: Winograd, the packed
// 1x1 GEMM (float32 only), the direct loops, im2col.

// x: [N, C, H, W], w: [O, C/G, KH, KW] -> y: [N, O, OH, OW]. Reference: reference::conv2d_forward.
void CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p) {
    Geom g = make_geom(x.shape(), w.shape(), y.shape(), p);
    if (g.N == 0) return;
    dispatch_floating(y.dtype(), "conv2d", [&](auto tag) {
        using T = decltype(tag);
        if (use_phases(g, Pass::forward)) {
            const conv_phases::Shape4 s = phases_shape(g);
            Tensor w2 = Tensor::empty(phase_filter_shape(s), w.dtype());
            conv_phases::split_filter(w.data<T>(), w2.data<T>(), s);
            return conv2d_forward(phase_images<T>(x, s), w2, y, Conv2dParams{});  // stride 1, no padding
        }
        if (use_winograd(g, Pass::forward))
            return conv_winograd::forward(x.data<T>(), w.data<T>(), y.data<T>(), winograd_shape(g));
        if constexpr (std::is_same_v<T, float>)
            if (use_pointwise<T>(g, Pass::forward))
                return conv_pointwise::forward(x.data<T>(), w.data<T>(), y.data<T>(), pointwise_shape(g));
        if (use_direct(g, Pass::forward))
            return conv_direct::forward(x.data<T>(), w.data<T>(), y.data<T>(), direct_shape(g));
        forward<T>(x, w, y, g);
    });
}

// gy: [N, O, OH, OW], w: [O, C/G, KH, KW] -> gx: [N, C, H, W]. Reference:
// reference::conv2d_backward_data.
void CpuBackend::conv2d_backward_data(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p) {
    Geom g = make_geom(gx.shape(), w.shape(), gy.shape(), p);
    if (g.N == 0) return;
    dispatch_floating(gx.dtype(), "conv2d_backward_data", [&](auto tag) {
        using T = decltype(tag);
        if (use_winograd(g, Pass::backward_data))
            return conv_winograd::backward_data(gy.data<T>(), w.data<T>(), gx.data<T>(), winograd_shape(g));
        if constexpr (std::is_same_v<T, float>)
            if (use_pointwise<T>(g, Pass::backward_data))
                return conv_pointwise::backward_data(gy.data<T>(), w.data<T>(), gx.data<T>(), pointwise_shape(g));
        if (use_direct(g, Pass::backward_data))
            return conv_direct::backward_data(gy.data<T>(), w.data<T>(), gx.data<T>(), direct_shape(g));
        backward_data<T>(gy, w, gx, g);
    });
}

// gx += backward-data: the packed 1x1 path adds in its GEMM (it loads each tile of gx instead of
// writing a fresh one); every other path computes into a new tensor and adds (Backend's).
void CpuBackend::conv2d_backward_data_add(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p) {
    Geom g = make_geom(gx.shape(), w.shape(), gy.shape(), p);
    if (g.N == 0) return;
    if (gx.dtype() == DType::f32 && use_pointwise<float>(g, Pass::backward_data))
        return conv_pointwise::backward_data(gy.data<float>(), w.data<float>(), gx.data<float>(), pointwise_shape(g),
                                             true);
    Backend::conv2d_backward_data_add(gy, w, gx, p);
}

// x: [N, C, H, W], gy: [N, O, OH, OW] -> gw: [O, C/G, KH, KW]. Reference:
// reference::conv2d_backward_filter.
void CpuBackend::conv2d_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, const Conv2dParams& p) {
    Geom g = make_geom(x.shape(), gw.shape(), gy.shape(), p);
    if (g.N == 0) return fill(gw, 0.0);  // an empty batch contributes nothing
    dispatch_floating(gw.dtype(), "conv2d_backward_filter", [&](auto tag) {
        using T = decltype(tag);
        if (use_winograd(g, Pass::backward_filter))
            return conv_winograd::backward_filter(x.data<T>(), gy.data<T>(), gw.data<T>(), winograd_shape(g));
        if constexpr (std::is_same_v<T, float>)
            if (use_pointwise<T>(g, Pass::backward_filter))
                return conv_pointwise::backward_filter(x.data<T>(), gy.data<T>(), gw.data<T>(), pointwise_shape(g));
        if (use_direct(g, Pass::backward_filter))
            return conv_direct::backward_filter(x.data<T>(), gy.data<T>(), gw.data<T>(), direct_shape(g));
        backward_filter<T>(x, gy, gw, g);
    });
}

}  // namespace dcodr
