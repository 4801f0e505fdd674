// A stride-2 convolution as a stride-1 convolution over the four phase images of its input:
// the network's stem (7x7/2, 3 -> 64 on 64x64 images), whose im2col gathers every other
// column and whose GEMM's inner dimension is only 147, was the slowest forward in `bench ops`.
//
// With xp the zero-padded input, y[o, oh, ow] = sum over c, i, j of w[o, c, i, j] ·
// xp[c, 2·oh + i, 2·ow + j]. Writing i = 2a + pi and j = 2b + pj (pi, pj in {0, 1}), the sum
// reads the phase image X[c, pi, pj][u, v] = xp[c, 2u + pi, 2v + pj] at (oh + a, ow + b): a
// stride-1, unpadded correlation of the 4·C phase planes with the filter
// w2[o, (c, pi, pj), a, b] = w[o, c, 2a + pi, 2b + pj] (0 where 2a + pi >= KH or 2b + pj >= KW)
// of ceil(KH/2) x ceil(KW/2) taps. The 4·C planes then go to the direct loops.
//
// Only the taps past an odd kernel's edge are extra work (7x7: 16 taps per phase where 12.25
// are real, 1.3x the multiply-adds), which the direct loops more than repay in the forward
// pass; conv.cpp says where it is used and what it measured.
#pragma once
#include <algorithm>
#include <cstdint>

namespace dcodr::conv_phases {

struct Shape4 {
    std::int64_t N, C, H, W, O, KH, KW, OH, OW, pad_h, pad_w;
    std::int64_t taps_h() const { return (KH + 1) / 2; }  // the phase filter's size
    std::int64_t taps_w() const { return (KW + 1) / 2; }
    std::int64_t phase_h() const { return OH + taps_h() - 1; }  // a phase image's size
    std::int64_t phase_w() const { return OW + taps_w() - 1; }
};

// X [N, 4·C, phase_h, phase_w] from x [N, C, H, W]; padding and past-the-edge reads are 0.
template <class T>
void split_input(const T* x, T* X, const Shape4& s) {
    const std::int64_t U = s.phase_h(), V = s.phase_w();
#pragma omp parallel for schedule(static)
    for (std::int64_t n = 0; n < s.N; ++n)
        for (std::int64_t c = 0; c < s.C; ++c) {
            const T* plane = x + (n * s.C + c) * s.H * s.W;
            for (std::int64_t ph = 0; ph < 2; ++ph)
                for (std::int64_t pw = 0; pw < 2; ++pw) {
                    T* out = X + ((n * s.C + c) * 4 + ph * 2 + pw) * U * V;
                    for (std::int64_t u = 0; u < U; ++u) {
                        const std::int64_t ih = 2 * u + ph - s.pad_h;
                        T* row = out + u * V;
                        if (ih < 0 || ih >= s.H) {
                            std::fill(row, row + V, T(0));
                            continue;
                        }
                        const T* in = plane + ih * s.W;
                        for (std::int64_t v = 0; v < V; ++v) {
                            const std::int64_t iw = 2 * v + pw - s.pad_w;
                            row[v] = iw >= 0 && iw < s.W ? in[iw] : T(0);
                        }
                    }
                }
        }
}

// w2 [O, 4·C, taps_h, taps_w] from w [O, C, KH, KW].
template <class T>
void split_filter(const T* w, T* w2, const Shape4& s) {
    const std::int64_t A = s.taps_h(), B = s.taps_w();
    for (std::int64_t o = 0; o < s.O; ++o)
        for (std::int64_t c = 0; c < s.C; ++c)
            for (std::int64_t ph = 0; ph < 2; ++ph)
                for (std::int64_t pw = 0; pw < 2; ++pw)
                    for (std::int64_t a = 0; a < A; ++a)
                        for (std::int64_t b = 0; b < B; ++b) {
                            const std::int64_t i = 2 * a + ph, j = 2 * b + pw;
                            w2[(((o * s.C + c) * 4 + ph * 2 + pw) * A + a) * B + b] =
                                i < s.KH && j < s.KW ? w[((o * s.C + c) * s.KH + i) * s.KW + j] : T(0);
                        }
}

}  // namespace dcodr::conv_phases
