// Direct convolution loops for layers with few output channels on large planes (stride 1, no
// dilation, one group), e.g. the DCoDR generator's output layers: Conv5x5 C -> C/4 and
// Conv7x7 -> 3 at 64x64. There im2col + GEMM is the wrong tool: the GEMM has only O (<= 8) rows,
// so it is bound by writing and re-reading the im2col buffer (C*k*k rows of H*W values, 6.5 MB
// per image for 5x5 over 16 channels) rather than by arithmetic. Here every output row is a sum
// of shifted input rows, each scaled by one weight: the planes stay in L1/L2 and the inner loop
// over a row vectorises.
//
// x: [N, C, H, W], w: [O, C, KH, KW], y: [N, O, OH, OW], OH = H + 2*pad_h - KH + 1 (likewise OW).
// All three passes are exact reorderings of the same products, each output summed in a fixed
// order, so results do not depend on the thread count.
#pragma once
#include <algorithm>
#include <cstdint>

namespace dcodr::conv_direct {

struct Shape4 {
    std::int64_t N, C, H, W, O, KH, KW, OH, OW, pad_h, pad_w;
};

// Calls row(oh, ih, lo, hi) for each output row oh whose tap row i reads an input row ih inside
// [0, H), with [lo, hi) the output columns whose tap column j reads inside [0, W) (input column
// ow + j - pad_w). Every pass below is this walk with a different multiply-add.
template <class F>
inline void for_tap_rows(const Shape4& s, std::int64_t i, std::int64_t j, F&& row) {
    const std::int64_t lo = std::clamp<std::int64_t>(s.pad_w - j, 0, s.OW);
    const std::int64_t hi = std::clamp<std::int64_t>(s.W + s.pad_w - j, lo, s.OW);
    const std::int64_t oh0 = std::max<std::int64_t>(0, s.pad_h - i);
    const std::int64_t oh1 = std::min<std::int64_t>(s.OH, s.H + s.pad_h - i);
    for (std::int64_t oh = oh0; oh < oh1; ++oh) row(oh, oh - s.pad_h + i, lo, hi);
}

// y = conv(x, w). Parallel over images; per image all O output planes are built while that
// image's input planes are hot.
template <class T>
void forward(const T* x, const T* w, T* y, const Shape4& s) {
#pragma omp parallel for schedule(static)
    for (std::int64_t n = 0; n < s.N; ++n)
        for (std::int64_t o = 0; o < s.O; ++o) {
            T* yp = y + (n * s.O + o) * s.OH * s.OW;
            std::fill(yp, yp + s.OH * s.OW, T(0));
            for (std::int64_t c = 0; c < s.C; ++c) {
                const T* xp = x + (n * s.C + c) * s.H * s.W;
                const T* wp = w + (o * s.C + c) * s.KH * s.KW;
                for (std::int64_t i = 0; i < s.KH; ++i)
                    for (std::int64_t j = 0; j < s.KW; ++j) {
                        const T wv = wp[i * s.KW + j];
                        const std::int64_t shift = j - s.pad_w;
                        for_tap_rows(s, i, j, [&](std::int64_t oh, std::int64_t ih, std::int64_t lo, std::int64_t hi) {
                            T* yr = yp + oh * s.OW;
                            const T* xr = xp + ih * s.W;
#pragma omp simd
                            for (std::int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow + shift];
                        });
                    }
            }
        }
}

// gx = the adjoint: every input pixel collects weight x output-gradient over the taps that read it.
template <class T>
void backward_data(const T* gy, const T* w, T* gx, const Shape4& s) {
#pragma omp parallel for schedule(static)
    for (std::int64_t n = 0; n < s.N; ++n)
        for (std::int64_t c = 0; c < s.C; ++c) {
            T* gp = gx + (n * s.C + c) * s.H * s.W;
            std::fill(gp, gp + s.H * s.W, T(0));
            for (std::int64_t o = 0; o < s.O; ++o) {
                const T* yp = gy + (n * s.O + o) * s.OH * s.OW;
                const T* wp = w + (o * s.C + c) * s.KH * s.KW;
                for (std::int64_t i = 0; i < s.KH; ++i)
                    for (std::int64_t j = 0; j < s.KW; ++j) {
                        const T wv = wp[i * s.KW + j];
                        const std::int64_t shift = j - s.pad_w;
                        for_tap_rows(s, i, j, [&](std::int64_t oh, std::int64_t ih, std::int64_t lo, std::int64_t hi) {
                            const T* yr = yp + oh * s.OW;
                            T* gr = gp + ih * s.W;
#pragma omp simd
                            for (std::int64_t ow = lo; ow < hi; ++ow) gr[ow + shift] += wv * yr[ow];
                        });
                    }
            }
        }
}

// gw[o, c, i, j] = sum over images and output pixels of gy[n, o] x shifted x[n, c]. Parallel over
// (o, c) pairs: each owns its KH*KW sums, so no partial results need merging.
template <class T>
void backward_filter(const T* x, const T* gy, T* gw, const Shape4& s) {
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t oc = 0; oc < s.O * s.C; ++oc) {
        const std::int64_t o = oc / s.C, c = oc % s.C;
        T* wp = gw + oc * s.KH * s.KW;
        std::fill(wp, wp + s.KH * s.KW, T(0));
        for (std::int64_t n = 0; n < s.N; ++n) {
            const T* yp = gy + (n * s.O + o) * s.OH * s.OW;
            const T* xp = x + (n * s.C + c) * s.H * s.W;
            for (std::int64_t i = 0; i < s.KH; ++i)
                for (std::int64_t j = 0; j < s.KW; ++j) {
                    const std::int64_t shift = j - s.pad_w;
                    T acc = 0;
                    for_tap_rows(s, i, j, [&](std::int64_t oh, std::int64_t ih, std::int64_t lo, std::int64_t hi) {
                        const T* yr = yp + oh * s.OW;
                        const T* xr = xp + ih * s.W;
                        T row = 0;
#pragma omp simd reduction(+ : row)
                        for (std::int64_t ow = lo; ow < hi; ++ow) row += yr[ow] * xr[ow + shift];
                        acc += row;
                    });
                    wp[i * s.KW + j] += acc;
                }
        }
    }
}

}  // namespace dcodr::conv_direct
