// Direct convolution loops for layers with few output channels on large planes (stride 1, no
// dilation, one group), e.g. the DCoDR generator's output layers: Conv5x5 C -> C/4 and
// Conv7x7 -> 3 at 64x64. There im2col + GEMM is the wrong tool: the GEMM has only O rows, so it
// is bound by writing and re-reading the im2col buffer (C*k*k rows of H*W values, 105 MB per
// image for 5x5 over 256 channels) rather than by arithmetic. Here the input planes of one image
// are zero-padded once and every output is summed straight from them, with the sums of a block
// of outputs held in registers (conv.cpp decides per pass which shapes come here).
//
// x: [N, C, H, W], w: [O, C, KH, KW], y: [N, O, OH, OW], OH = H + 2*pad_h - KH + 1 (likewise OW).
// Every output is summed in a fixed order, so results do not depend on the thread count.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "tensor/cpu/lanes.h"
#include "tensor/cpu/scratch.h"

namespace dcodr::conv_direct {

using lanes::kLanes, lanes::Lanes, lanes::load_lanes, lanes::shifted;

struct Shape4 {
    std::int64_t N, C, H, W, O, KH, KW, OH, OW, pad_h, pad_w;
};

// The forward and backward-data passes are both "few planes in, a stride-1 correlation out":
// backward-data is the full correlation of gy with the filter rotated by 180 degrees and its
// channel axes swapped (padding KH-1-pad_h, KW-1-pad_w). Both run on `correlate` below.
//
// Output rows are built in blocks of columns for up to kWideBlock output channels, whose sums
// stay in registers: per input channel and tap, one load of shifted input values feeds every
// output channel's multiply-add. (Looping tap by tap over whole output rows instead loads and
// stores the output row for every multiply-add: measured 0.03-0.10 of the GEMM's speed.)
// Each output is still summed over (c, i, j) in that order from 0.
constexpr std::int64_t kBlock = 8, kWideBlock = 16;
// Columns per step of correlate_block for OB output planes: at least 8 lane vectors of sums,
// so that 8 independent multiply-add chains hide the FMA latency (3 planes x 1 vector left the
// 7x7 -> 3 forward latency-bound at ~0.4 of the GEMM's speed). More (2 vectors for 8 planes, 5
// for 3) spilled registers: 0.8x. The padded rows cover kMaxCols.
constexpr std::int64_t kMaxCols = 4 * kLanes;
template <int OB>
constexpr std::int64_t block_cols() {
    return OB >= 8 ? kLanes : OB >= 4 ? 2 * kLanes : 4 * kLanes;
}

struct Corr {
    std::int64_t C, H, W;           // input planes per image
    std::int64_t O, KH, KW;         // output planes, kernel
    std::int64_t OH, OW, pad_h, pad_w;
    std::int64_t HP, WP;            // padded plane: H + 2 pad_h rows, room for whole column blocks
};

inline Corr make_corr(std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t O, std::int64_t KH,
                      std::int64_t KW, std::int64_t OH, std::int64_t OW, std::int64_t pad_h, std::int64_t pad_w) {
    const std::int64_t ow_blocks = (OW + kMaxCols - 1) / kMaxCols * kMaxCols;
    // Row room: the last column block plus one vector (shuffled taps read kLanes past a block).
    return {C, H, W, O, KH, KW, OH, OW, pad_h, pad_w, OH + KH - 1, ow_blocks + std::max<std::int64_t>(KW - 1, kLanes)};
}

// Zero-padded copy of one image's C planes: input (ih, iw) at padded (ih + pad_h, iw + pad_w).
// Only the margins are zeroed (zeroing whole planes first took ~5 % of a 16-channel pass).
template <class T>
void pad_planes(const T* x, const Corr& k, T* xp) {
    const std::int64_t lo = std::max<std::int64_t>(0, -k.pad_w);          // first input column kept
    const std::int64_t hi = std::min<std::int64_t>(k.W, k.WP - k.pad_w);  // one past the last
    for (std::int64_t c = 0; c < k.C; ++c)
        for (std::int64_t r = 0; r < k.HP; ++r) {
            T* row = xp + (c * k.HP + r) * k.WP;
            const std::int64_t ih = r - k.pad_h;
            if (ih < 0 || ih >= k.H || lo >= hi) {
                std::fill(row, row + k.WP, T(0));
                continue;
            }
            std::fill(row, row + lo + k.pad_w, T(0));
            std::copy(x + (c * k.H + ih) * k.W + lo, x + (c * k.H + ih) * k.W + hi, row + lo + k.pad_w);
            std::fill(row + hi + k.pad_w, row + k.WP, T(0));
        }
}

// The first n of a block's `cols` sums (one output plane's, contiguous) stored at yr. A whole
// block is one copy of a compile-time size, i.e. vector stores: a copy of a runtime length
// compiled to `rep movs`, whose start-up cost took ~30 % of the 3x3 16 -> 16 forward (perf).
template <std::int64_t cols, class T>
inline void store_cols(const void* sums, std::int64_t n, T* yr) {
    if (n == cols) {
        std::memcpy(yr, sums, cols * sizeof(T));
    } else {
        T out[cols];
        std::memcpy(out, sums, sizeof out);
        std::copy_n(out, n, yr);
    }
}

// Output planes [o0, o0 + OB) of one image from its padded planes; wb is the block's weights
// laid out [C][KH][KW][OB]. For one input row, the V + 1 vectors under the block's columns are
// loaded once and each tap's shifted vectors shuffled from them (KWC taps, a compile-time
// count); with an unaligned load per tap instead, which the compiler also repeated for every
// output plane, the 7x7 -> 3 forward was load-bound at ~0.45 of the GEMM's speed.
template <int OB, int KWC, class T>
void correlate_block_taps(const T* xp, const T* wb, const Corr& k, std::int64_t o0, T* y) {
    constexpr std::int64_t cols = block_cols<OB>();
    constexpr int V = static_cast<int>(cols / kLanes);
    for (std::int64_t oh = 0; oh < k.OH; ++oh)
        for (std::int64_t ow0 = 0; ow0 < k.OW; ow0 += cols) {
            Lanes<T> acc[OB][V] = {};
            for (std::int64_t c = 0; c < k.C; ++c)
                for (std::int64_t i = 0; i < k.KH; ++i) {
                    const T* xr = xp + (c * k.HP + oh + i) * k.WP + ow0;
                    const T* wr = wb + (c * k.KH + i) * KWC * OB;
                    Lanes<T> raw[V + 1];
                    for (int v = 0; v <= V; ++v) raw[v] = load_lanes(xr + v * kLanes);
                    [&]<std::size_t... J>(std::index_sequence<J...>) {
                        ((void)[&] {
                            Lanes<T> xs[V];
                            for (int v = 0; v < V; ++v)
                                xs[v] = shifted<J>(raw[v], raw[v + 1], std::make_index_sequence<kLanes>{});
                            for (int o = 0; o < OB; ++o) {
                                const T wv = wr[J * OB + o];
                                for (int v = 0; v < V; ++v) acc[o][v] += xs[v] * wv;
                            }
                        }(),
                         ...);
                    }(std::make_index_sequence<KWC>{});
                }
            const std::int64_t n = std::min(cols, k.OW - ow0);
            for (int o = 0; o < OB; ++o) store_cols<cols>(acc[o], n, y + ((o0 + o) * k.OH + oh) * k.OW + ow0);
        }
}
// Kernels of more than 8 taps per row: a plain loop per tap.
template <int OB, class T>
void correlate_block_any(const T* xp, const T* wb, const Corr& k, std::int64_t o0, T* y) {
    constexpr std::int64_t cols = block_cols<OB>();
    for (std::int64_t oh = 0; oh < k.OH; ++oh)
        for (std::int64_t ow0 = 0; ow0 < k.OW; ow0 += cols) {
            T acc[OB][cols] = {};
            for (std::int64_t c = 0; c < k.C; ++c)
                for (std::int64_t i = 0; i < k.KH; ++i) {
                    const T* xr = xp + (c * k.HP + oh + i) * k.WP + ow0;
                    const T* wr = wb + (c * k.KH + i) * k.KW * OB;
                    for (std::int64_t j = 0; j < k.KW; ++j)
                        for (int o = 0; o < OB; ++o) {
                            const T wv = wr[j * OB + o];
#pragma omp simd
                            for (std::int64_t l = 0; l < cols; ++l) acc[o][l] += wv * xr[j + l];
                        }
                }
            const std::int64_t n = std::min(cols, k.OW - ow0);
            for (int o = 0; o < OB; ++o) store_cols<cols>(acc[o], n, y + ((o0 + o) * k.OH + oh) * k.OW + ow0);
        }
}
template <int OB, class T>
void correlate_block(const T* xp, const T* wb, const Corr& k, std::int64_t o0, T* y) {
    switch (k.KW) {
        case 1: return correlate_block_taps<OB, 1>(xp, wb, k, o0, y);
        case 2: return correlate_block_taps<OB, 2>(xp, wb, k, o0, y);
        case 3: return correlate_block_taps<OB, 3>(xp, wb, k, o0, y);
        case 4: return correlate_block_taps<OB, 4>(xp, wb, k, o0, y);
        case 5: return correlate_block_taps<OB, 5>(xp, wb, k, o0, y);
        case 6: return correlate_block_taps<OB, 6>(xp, wb, k, o0, y);
        case 7: return correlate_block_taps<OB, 7>(xp, wb, k, o0, y);
        case 8: return correlate_block_taps<OB, 8>(xp, wb, k, o0, y);
        default: return correlate_block_any<OB>(xp, wb, k, o0, y);
    }
}

// Output planes per block of `correlate` when `left` remain: kWideBlock while there are that
// many (16 sums per column vector: each weight broadcast and shuffled x vector feeds twice the
// multiply-adds of 8; 1.04-1.16x on the generators' 16- to 256-plane passes, in-process side by
// side), then blocks of at most kBlock.
inline std::int64_t output_block(std::int64_t left) { return left >= kWideBlock ? kWideBlock : std::min(kBlock, left); }

// Calls f(std::integral_constant<int, ob>{}) for ob in [1, kBlock] and kWideBlock: the block
// width as a compile-time constant, so that the accumulators are registers.
template <class F>
void with_block(std::int64_t ob, F&& f) {
    switch (ob) {
        case 1: return f(std::integral_constant<int, 1>{});
        case 2: return f(std::integral_constant<int, 2>{});
        case 3: return f(std::integral_constant<int, 3>{});
        case 4: return f(std::integral_constant<int, 4>{});
        case 5: return f(std::integral_constant<int, 5>{});
        case 6: return f(std::integral_constant<int, 6>{});
        case 7: return f(std::integral_constant<int, 7>{});
        case 16: return f(std::integral_constant<int, 16>{});
        default: return f(std::integral_constant<int, 8>{});
    }
}

// y [N, O, OH, OW] = correlation of x [N, C, H, W] with filters tap(o, c, i, j), zero padding.
// Parallel over images, each thread with its own padded planes (from the caching allocator,
// like every convolution buffer: megabytes per call, which fresh pages would fault in each time).
template <class T, class Tap>
void correlate(const T* x, std::int64_t N, const Corr& k, Tap&& tap, T* y) {
    // Weights per block of output planes: [block][C][KH][KW][ob].
    std::vector<T> wt(static_cast<std::size_t>(k.O * k.C * k.KH * k.KW));
    for (std::int64_t o0 = 0; o0 < k.O; o0 += output_block(k.O - o0)) {
        const std::int64_t ob = output_block(k.O - o0);
        T* wb = wt.data() + o0 * k.C * k.KH * k.KW;
        for (std::int64_t c = 0; c < k.C; ++c)
            for (std::int64_t i = 0; i < k.KH; ++i)
                for (std::int64_t j = 0; j < k.KW; ++j)
                    for (std::int64_t o = 0; o < ob; ++o) wb[((c * k.KH + i) * k.KW + j) * ob + o] = tap(o0 + o, c, i, j);
    }
#pragma omp parallel
    {
        Scratch<T> scratch;
        T* xp = scratch.get(k.C * k.HP * k.WP);
#pragma omp for schedule(static)
        for (std::int64_t n = 0; n < N; ++n) {
            pad_planes(x + n * k.C * k.H * k.W, k, xp);
            for (std::int64_t o0 = 0; o0 < k.O; o0 += output_block(k.O - o0))
                with_block(output_block(k.O - o0), [&](auto ob) {
                    correlate_block<ob.value>(xp, wt.data() + o0 * k.C * k.KH * k.KW, k, o0,
                                              y + n * k.O * k.OH * k.OW);
                });
        }
    }
}

// y = conv(x, w).
template <class T>
void forward(const T* x, const T* w, T* y, const Shape4& s) {
    const Corr k = make_corr(s.C, s.H, s.W, s.O, s.KH, s.KW, s.OH, s.OW, s.pad_h, s.pad_w);
    correlate(x, s.N, k,
              [&](std::int64_t o, std::int64_t c, std::int64_t i, std::int64_t j) {
                  return w[((o * s.C + c) * s.KH + i) * s.KW + j];
              },
              y);
}

// gx = the adjoint: the full correlation of gy with the rotated, channel-swapped filter.
template <class T>
void backward_data(const T* gy, const T* w, T* gx, const Shape4& s) {
    const Corr k = make_corr(s.O, s.OH, s.OW, s.C, s.KH, s.KW, s.H, s.W, s.KH - 1 - s.pad_h, s.KW - 1 - s.pad_w);
    correlate(gy, s.N, k,
              [&](std::int64_t c, std::int64_t o, std::int64_t i, std::int64_t j) {
                  return w[((o * s.C + c) * s.KH + (s.KH - 1 - i)) * s.KW + (s.KW - 1 - j)];
              },
              gx);
}

// gw[o, c, i, j] = sum over images and output pixels of gy[n, o] x shifted x[n, c]. Images in
// blocks, and within a block parallel over input channels c (each owns gw[., c], so there is
// nothing to merge; blocks add into gw in order, so the sums do not depend on the threads).
// For one kernel row i, a run of up to JB taps j and a block of OB output planes, the OB x JB
// sums are lane-wide vectors held in registers while the block's image rows stream past: each
// step loads OB vectors of gy and two vectors of the padded x row, from which the JN shifted x
// vectors are shuffled, for OB x JN multiply-adds; the lanes are reduced once at the end. gy's
// rows are copied and padded to whole lane blocks (zeros) unless they already are, so no block
// needs a tail.
//
// filter_row: one kernel row i and taps [j0, j0 + JN) of a block of OB output planes, over the
// N images of one block, added into gw.
template <int OB, int JN, class T>
void filter_row(const T* xpc, const T* gyp, std::int64_t N, const Corr& k, std::int64_t OWP, std::int64_t o0,
                std::int64_t c, std::int64_t i, std::int64_t j0, T* gw) {
    Lanes<T> acc[OB][JN] = {};
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t oh = 0; oh < k.OH; ++oh) {
            const T* xr = xpc + (n * k.HP + oh + i) * k.WP + j0;
            const T* gr = gyp + ((n * k.O + o0) * k.OH + oh) * OWP;
            for (std::int64_t ow0 = 0; ow0 < OWP; ow0 += kLanes) {
                Lanes<T> g[OB];
                for (int o = 0; o < OB; ++o) g[o] = load_lanes(gr + o * k.OH * OWP + ow0);
                const Lanes<T> lo = load_lanes(xr + ow0), hi = load_lanes(xr + ow0 + kLanes);
                [&]<std::size_t... J>(std::index_sequence<J...>) {
                    ((void)[&] {
                        const Lanes<T> xv = shifted<J>(lo, hi, std::make_index_sequence<kLanes>{});
                        for (int o = 0; o < OB; ++o) acc[o][J] += g[o] * xv;
                    }(),
                     ...);
                }(std::make_index_sequence<JN>{});
            }
        }
    for (int o = 0; o < OB; ++o)
        for (int j = 0; j < JN; ++j) {
            T sum = 0;
            for (std::int64_t l = 0; l < kLanes; ++l) sum += acc[o][j][l];
            gw[(((o0 + o) * k.C + c) * k.KH + i) * k.KW + j0 + j] += sum;
        }
}

// At most 24 accumulators: with the OB gy vectors and the x vectors, within AVX-512's 32
// registers; taps per block at most 8 (FMA latency is covered by 8 chains already).
template <int OB>
constexpr int taps_per_block() {
    return OB >= 8 ? 3 : std::min(8, 24 / OB);
}
template <int OB, class T>
void filter_taps(const T* xpc, const T* gyp, std::int64_t N, const Corr& k, std::int64_t OWP, std::int64_t o0,
                 std::int64_t c, T* gw) {
    constexpr int JB = taps_per_block<OB>();
    for (std::int64_t i = 0; i < k.KH; ++i)
        for (std::int64_t j0 = 0; j0 < k.KW; j0 += JB) {
            auto row = [&](auto jn) { filter_row<OB, jn.value>(xpc, gyp, N, k, OWP, o0, c, i, j0, gw); };
            switch (std::min<std::int64_t>(JB, k.KW - j0)) {
                case 1: row(std::integral_constant<int, 1>{}); break;
                case 2: row(std::integral_constant<int, 2>{}); break;
                case 3: row(std::integral_constant<int, 3>{}); break;
                case 4: if constexpr (JB >= 4) row(std::integral_constant<int, 4>{}); break;
                case 5: if constexpr (JB >= 5) row(std::integral_constant<int, 5>{}); break;
                case 6: if constexpr (JB >= 6) row(std::integral_constant<int, 6>{}); break;
                case 7: if constexpr (JB >= 7) row(std::integral_constant<int, 7>{}); break;
                default: if constexpr (JB >= 8) row(std::integral_constant<int, 8>{}); break;
            }
        }
}

// 3x3 kernels: all nine taps of OB output planes at once (9·OB sums in registers), so that each
// gy vector loaded feeds 9 multiply-adds where filter_row's three (per kernel row) left the
// pass streaming gy from L2 three times as often.
template <int OB, class T>
void filter_3x3(const T* xpc, const T* gyp, std::int64_t N, const Corr& k, std::int64_t OWP, std::int64_t o0,
                std::int64_t c, T* gw) {
    Lanes<T> acc[OB][3][3] = {};
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t oh = 0; oh < k.OH; ++oh) {
            const T* gr = gyp + ((n * k.O + o0) * k.OH + oh) * OWP;
            for (std::int64_t ow0 = 0; ow0 < OWP; ow0 += kLanes) {
                Lanes<T> g[OB];
                for (int o = 0; o < OB; ++o) g[o] = load_lanes(gr + o * k.OH * OWP + ow0);
                for (int i = 0; i < 3; ++i) {
                    const T* xr = xpc + (n * k.HP + oh + i) * k.WP + ow0;
                    const Lanes<T> lo = load_lanes(xr), hi = load_lanes(xr + kLanes);
                    const auto idx = std::make_index_sequence<kLanes>{};
                    const Lanes<T> x1 = shifted<1>(lo, hi, idx), x2 = shifted<2>(lo, hi, idx);
                    for (int o = 0; o < OB; ++o) {
                        acc[o][i][0] += g[o] * lo;
                        acc[o][i][1] += g[o] * x1;
                        acc[o][i][2] += g[o] * x2;
                    }
                }
            }
        }
    for (int o = 0; o < OB; ++o)
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) {
                T sum = 0;
                for (std::int64_t l = 0; l < kLanes; ++l) sum += acc[o][i][j][l];
                gw[(((o0 + o) * k.C + c) * 3 + i) * 3 + j] += sum;
            }
}

// Images per block of backward_filter: each (channel, block of output planes, kernel row)
// streams the block's gy planes, so a block's gy should stay in a core's L2; streaming all
// images' gy from L3 per channel and kernel row left the pass memory-bound.
constexpr std::int64_t kFilterBlockBytes = std::int64_t{512} << 10;

template <class T>
void backward_filter(const T* x, const T* gy, T* gw, const Shape4& s) {
    const std::int64_t OWP = (s.OW + kLanes - 1) / kLanes * kLanes;
    // Padded x rows long enough for the two vectors at the last column block, shifted by the
    // last tap block's start (< KW).
    Corr k = make_corr(s.C, s.H, s.W, s.O, s.KH, s.KW, s.OH, s.OW, s.pad_h, s.pad_w);
    k.WP = std::max(k.WP, OWP + s.KW + kLanes);
    const std::int64_t image_bytes = s.O * s.OH * OWP * static_cast<std::int64_t>(sizeof(T));
    const std::int64_t block = std::clamp<std::int64_t>(kFilterBlockBytes / image_bytes, 1, std::max<std::int64_t>(s.N, 1));
    // Rows that are already whole lane blocks are read in place (copying them cost ~15 % of the
    // 3x3 16 -> 16 pass).
    const bool copy_gy = OWP != s.OW;
    Scratch<T> gy_scratch;
    T* padded = copy_gy ? gy_scratch.get(s.N * s.O * s.OH * OWP) : nullptr;
    const T* gyp = copy_gy ? padded : gy;
    std::fill(gw, gw + s.O * s.C * s.KH * s.KW, T(0));
#pragma omp parallel
    {
        if (copy_gy) {
#pragma omp for
            for (std::int64_t r = 0; r < s.N * s.O * s.OH; ++r) {
                std::copy_n(gy + r * s.OW, s.OW, padded + r * OWP);
                std::fill(padded + r * OWP + s.OW, padded + (r + 1) * OWP, T(0));
            }
        }
        Scratch<T> scratch;
        T* xpc = scratch.get(block * k.HP * k.WP);
        Corr one = k;
        one.C = 1;
        for (std::int64_t n0 = 0; n0 < s.N; n0 += block) {
            const std::int64_t nb = std::min(block, s.N - n0);
#pragma omp for schedule(dynamic, 1)
            for (std::int64_t c = 0; c < s.C; ++c) {
                for (std::int64_t n = 0; n < nb; ++n)
                    pad_planes(x + ((n0 + n) * s.C + c) * s.H * s.W, one, xpc + n * k.HP * k.WP);
                const T* gyb = gyp + n0 * s.O * s.OH * OWP;
                if (s.KH == 3 && s.KW == 3) {
                    for (std::int64_t o0 = 0; o0 < s.O; o0 += 2) {
                        if (s.O - o0 >= 2) filter_3x3<2>(xpc, gyb, nb, k, OWP, o0, c, gw);
                        else filter_3x3<1>(xpc, gyb, nb, k, OWP, o0, c, gw);
                    }
                    continue;
                }
                for (std::int64_t o0 = 0; o0 < s.O; o0 += kBlock) {
                    with_block(std::min(kBlock, s.O - o0), [&](auto ob) {
                        filter_taps<ob.value>(xpc, gyb, nb, k, OWP, o0, c, gw);
                    });
                }
            }
        }
    }
}

}  // namespace dcodr::conv_direct
