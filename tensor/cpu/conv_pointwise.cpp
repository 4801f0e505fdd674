#include "tensor/cpu/conv_pointwise.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "tensor/cpu/scratch.h"
#include "tensor/cpu/sgemm.h"
#include "tensor/cpu/stride2.h"

namespace dcodr::conv_pointwise {

namespace {

// A dense batch of planes: x [N, C, P] -> y [N, O, P].
struct Shape3 {
    std::int64_t N, C, O, P;
};

using cpu::Columns;
using cpu::ConstOperand;
using cpu::Operand;
using cpu::linear;
using cpu::planes;

// The N·P columns (image, pixel) in pieces that the threads take as they come free: with a
// fixed half each, one thread waited at the end 10-14 % of the time (libgomp in `perf`)
// whenever the VM slowed the other. A piece is whole images of about kPieceColumns columns, at
// least 4 pieces per thread; with fewer images than threads (encoding one picture) it is a
// multiple of 32 columns, so no 32-wide register tile straddles two pieces (pieces may then
// cross images: sgemm's Columns are absolute).
constexpr std::int64_t kPieceColumns = 512;
std::vector<Columns> column_pieces(const Shape3& s, int threads) {
    const std::int64_t total = s.N * s.P;
    std::int64_t piece;
    if (s.N >= threads) {
        const std::int64_t images = std::max<std::int64_t>(
            1, std::min((kPieceColumns + s.P - 1) / s.P, s.N / (4 * static_cast<std::int64_t>(threads))));
        piece = images * s.P;
    } else {
        piece = std::max<std::int64_t>(32, (total + 4 * threads - 1) / (4 * threads) + 31) / 32 * 32;
    }
    std::vector<Columns> pieces;
    for (std::int64_t j = 0; j < total; j += piece) pieces.push_back({j, std::min(total, j + piece)});
    return pieces;
}

// C (+)= A · B over the N·P columns, A packed once and shared, the pieces shared out dynamically.
void product_over_columns(const cpu::PackedA& a, const ConstOperand& b, const Operand& c, const Shape3& s,
                          bool accumulate = false) {
    const std::vector<Columns> pieces = column_pieces(s, omp_get_max_threads());
    const std::int64_t count = static_cast<std::int64_t>(pieces.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < count; ++i) cpu::sgemm(a, pieces[static_cast<std::size_t>(i)], b, c, accumulate);
}

void forward_dense(const float* x, const float* w, float* y, const Shape3& s) {
    const cpu::PackedA a(s.O, s.C, ConstOperand{w, linear(s.C), linear(1)});
    product_over_columns(a, ConstOperand{x, linear(s.P), planes(s.P, s.C * s.P)},
                         Operand{y, linear(s.P), planes(s.P, s.O * s.P)}, s);
}

void backward_data_dense(const float* gy, const float* w, float* gx, const Shape3& s, bool accumulate) {
    // Wᵀ (C x O): element (c, o) is w[o·C + c].
    const cpu::PackedA a(s.C, s.O, ConstOperand{w, linear(1), linear(s.C)});
    product_over_columns(a, ConstOperand{gy, linear(s.P), planes(s.P, s.O * s.P)},
                         Operand{gx, linear(s.P), planes(s.P, s.C * s.P)}, s, accumulate);
}

// gw [O, C] = the sum over images of each image's product, which product(acc, n0, n1) writes
// (overwrites) into acc for images [n0, n1). The images are split into one range per thread,
// each summed into a private partial (thread 0's is gw), and the partials are added into gw at
// the end. Not the dynamic pieces of the other passes: every piece would read and write the
// whole [O, C] partial once more (4 MB at 2048 x 512, 1.25x slower with 8 pieces).
template <class Product>
void sum_over_image_ranges(float* gw, std::int64_t wsize, std::int64_t N, Product&& product) {
    const int threads = static_cast<int>(std::clamp<std::int64_t>(omp_get_max_threads(), 1, std::max<std::int64_t>(N, 1)));
    std::vector<Scratch<float>> partials(static_cast<std::size_t>(threads));
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float* acc = t == 0 ? gw : partials[static_cast<std::size_t>(t)].get(wsize);
        product(acc, N * t / nt, N * (t + 1) / nt);
#pragma omp barrier
        // Sum the partials into gw, the threads splitting its elements.
        const std::int64_t i0 = wsize * t / nt, i1 = wsize * (t + 1) / nt;
        for (int u = 1; u < nt; ++u) {
            const float* part = partials[static_cast<std::size_t>(u)].p;
#pragma omp simd
            for (std::int64_t i = i0; i < i1; ++i) gw[i] += part[i];
        }
    }
}

void backward_filter_dense(const float* x, const float* gy, float* gw, const Shape3& s) {
    // gy [O, range] as A (rows o), x [C, range]ᵀ as B (range x C): one product over the range.
    sum_over_image_ranges(gw, s.O * s.C, s.N, [&](float* acc, std::int64_t n0, std::int64_t n1) {
        const ConstOperand a{gy + n0 * s.O * s.P, linear(s.P), planes(s.P, s.O * s.P)};
        const ConstOperand b{x + n0 * s.C * s.P, planes(s.P, s.C * s.P), linear(s.P)};
        cpu::sgemm(s.O, Columns{0, s.C}, (n1 - n0) * s.P, a, b, Operand{acc, linear(s.C), linear(1)}, false);
    });
}

bool strided(const Shape4& s) { return s.stride_h != 1 || s.stride_w != 1; }
Shape3 dense(const Shape4& s) { return {s.N, s.C, s.O, s.OH * s.OW}; }

// The pixels a strided 1x1 convolution reads: out [N, C, OH, OW] = x[.., oy·stride_h, ox·stride_w].
void subsample(const float* x, float* out, const Shape4& s) {
    const std::int64_t planes = s.N * s.C, in = s.H * s.W, kept = s.OH * s.OW;
#pragma omp parallel for if (planes * kept > kParallelGrain)
    for (std::int64_t pl = 0; pl < planes; ++pl) {
        const float* src = x + pl * in;
        float* dst = out + pl * kept;
        for (std::int64_t oy = 0; oy < s.OH; ++oy) {
            const float* row = src + oy * s.stride_h * s.W;
            if (s.stride_w == 2) {  // a constant stride: vector loads and shuffles
#pragma omp simd
                for (std::int64_t ox = 0; ox < s.OW; ++ox) dst[oy * s.OW + ox] = row[2 * ox];
            } else {
                for (std::int64_t ox = 0; ox < s.OW; ++ox) dst[oy * s.OW + ox] = row[ox * s.stride_w];
            }
        }
    }
}

// spread on stride-2 planes of 4 or 8 columns that it tiles exactly (W = 2·OW, H = 2·OH:
// ResNet's layer4 / layer3 downsamples at 64x64), with AVX-512: every 16 values of a plane take
// the next 4 product values, placed by one masked permute (W = 4: two rows' 2 values in rows 0
// and 2 of the 4; W = 8: 4 values in the first of 2 rows), stored or added under the mask (the
// other lanes keep their bits). Row by row these were a fill and per-row spreads of 2 or 4
// values: 27 % of layer4's 1x1/2 backward-data (perf). 256 -> 512 at 4x4 1.30-1.33x, 128 -> 256
// at 8x8 1.17-1.20x, ResNet-50's 1024 -> 2048 at 4x4 1.03-1.06x. False where it does not apply.
bool spread_small_planes(const float* dense_gx, float* gx, const Shape4& s, bool accumulate) {
#if defined(__AVX512F__)
    if (s.stride_h != 2 || s.stride_w != 2 || (s.W != 4 && s.W != 8) || s.W != 2 * s.OW || s.H != 2 * s.OH) return false;
    const __m512i where = s.W == 4 ? _mm512_setr_epi32(0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0)
                                   : _mm512_setr_epi32(0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __mmask16 lanes = s.W == 4 ? 0x0505 : 0x0055;
    const std::int64_t values = s.N * s.C * s.OH * s.OW;  // 4 per 16 of gx
#pragma omp parallel for if (values * 4 > kParallelGrain)
    for (std::int64_t q = 0; q < values; q += 4) {
        const __m512 v = _mm512_maskz_permutexvar_ps(lanes, where, _mm512_maskz_loadu_ps(0xf, dense_gx + q));
        float* dst = gx + 4 * q;
        if (accumulate) {
            const __m512 old = _mm512_loadu_ps(dst);
            _mm512_storeu_ps(dst, _mm512_mask_add_ps(old, lanes, old, v));
        } else {
            _mm512_storeu_ps(dst, v);
        }
    }
    return true;
#else
    (void)dense_gx, (void)gx, (void)s, (void)accumulate;
    return false;
#endif
}

// The adjoint of subsample: gx [N, C, H, W] = dense at the read pixels, 0 elsewhere; with
// accumulate, gx += dense at the read pixels (the others keep their values).
void spread(const float* dense_gx, float* gx, const Shape4& s, bool accumulate) {
    if (spread_small_planes(dense_gx, gx, s, accumulate)) return;
    const std::int64_t planes = s.N * s.C, in = s.H * s.W, kept = s.OH * s.OW;
#pragma omp parallel for if (planes * in > kParallelGrain)
    for (std::int64_t pl = 0; pl < planes; ++pl) {
        const float* src = dense_gx + pl * kept;
        float* dst = gx + pl * in;
        if (!accumulate) std::fill(dst, dst + in, 0.0f);
        for (std::int64_t oy = 0; oy < s.OH; ++oy) {
            float* row = dst + oy * s.stride_h * s.W;
            if (s.stride_w == 2) {
                stride2::add_every_other(src + oy * s.OW, s.OW, row, dst + in - row);  // to the plane's end
            } else {
                for (std::int64_t ox = 0; ox < s.OW; ++ox) row[ox * s.stride_w] += src[oy * s.OW + ox];
            }
        }
    }
}

// Stride 2 with images of whole register tiles (OW and OH·OW multiples of 8 and 32: ResNet's
// layer2 downsample at 64x64 and up): forward and backward-filter read x's planes in place,
// image by image, their x operand every other pixel of every other row (sgemm.cpp's stride-2
// packing, AVX-512 only), so the quarter of x they read is not first copied out and read back.
// In-process side by side against the copy: 1x1/2 64 -> 128 at 16x16 forward 1.18-1.34x,
// backward-filter 1.10-1.32x (64 and 256 images); 256 -> 512 forward 1.10x, backward-filter
// 1.07-1.15x.
bool packs_in_place(const Shape4& s) {
#if defined(__AVX512F__)
    return s.stride_h == 2 && s.stride_w == 2 && s.OW % 8 == 0 && (s.OH * s.OW) % 32 == 0;
#else
    (void)s;
    return false;  // sgemm packs stride-2 operands one value at a time there: the copy is faster
#endif
}
void forward_in_place(const float* x, const float* w, float* y, const Shape4& s) {
    const cpu::PackedA a(s.O, s.C, ConstOperand{w, linear(s.C), linear(1)});
    const std::int64_t P = s.OH * s.OW;
    // Pixel p of an image is x's (2·(p / OW), 2·(p % OW)): runs of OW values two apart, rows 2W apart.
    const cpu::Dim pixels{2, s.OW, 2 * s.W};
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t n = 0; n < s.N; ++n)
        cpu::sgemm(a, Columns{0, P}, ConstOperand{x + n * s.C * s.H * s.W, linear(s.H * s.W), pixels},
                   Operand{y + n * s.O * P, linear(P), linear(1)}, false);
}

// A stride-2 backward-data (not accumulating) on images of whole register tiles that tile gx's
// planes exactly (H = 2·OH, W = 2·OW) is stored straight into gx, image by image: sgemm's spread
// store writes each product value at its pixel and the zeros between, so gx is written once,
// whole, with no dense product to write, read back and spread.
bool spreads_in_place(const Shape4& s) {
    return cpu::has_spread_store() && packs_in_place(s) && s.H == 2 * s.OH && s.W == 2 * s.OW;
}
void backward_data_in_place(const float* gy, const float* w, float* gx, const Shape4& s) {
    const cpu::PackedA a(s.C, s.O, ConstOperand{w, linear(1), linear(s.C)});  // Wᵀ
    const std::int64_t P = s.OH * s.OW;
    const cpu::Dim pixels{2, s.OW, 2 * s.W};
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t n = 0; n < s.N; ++n)
        cpu::sgemm(a, Columns{0, P}, ConstOperand{gy + n * s.O * P, linear(P), linear(1)},
                   Operand{gx + n * s.C * s.H * s.W, linear(s.H * s.W), pixels, true}, false);
}

// backward_filter_dense with x read in place (packs_in_place), one product per image added
// into the thread's partial: an image's depth is every other pixel of every other row.
void backward_filter_in_place(const float* x, const float* gy, float* gw, const Shape4& s) {
    const std::int64_t P = s.OH * s.OW;
    const cpu::Dim pixels{2, s.OW, 2 * s.W};
    sum_over_image_ranges(gw, s.O * s.C, s.N, [&](float* acc, std::int64_t n0, std::int64_t n1) {
        if (n0 == n1) std::fill(acc, acc + s.O * s.C, 0.0f);  // no images: gw = 0
        for (std::int64_t n = n0; n < n1; ++n)
            cpu::sgemm(s.O, Columns{0, s.C}, P, ConstOperand{gy + n * s.O * P, linear(P), linear(1)},
                       ConstOperand{x + n * s.C * s.H * s.W, pixels, linear(s.H * s.W)},
                       Operand{acc, linear(s.C), linear(1)}, n > n0);
    });
}

}  // namespace

void forward(const float* x, const float* w, float* y, const Shape4& s) {
    if (!strided(s)) return forward_dense(x, w, y, dense(s));
    if (packs_in_place(s)) return forward_in_place(x, w, y, s);
    Scratch<float> xs;
    float* dense_x = xs.get(s.N * s.C * s.OH * s.OW);
    subsample(x, dense_x, s);
    forward_dense(dense_x, w, y, dense(s));
}

void backward_data(const float* gy, const float* w, float* gx, const Shape4& s, bool accumulate) {
    if (!strided(s)) return backward_data_dense(gy, w, gx, dense(s), accumulate);
    if (!accumulate && spreads_in_place(s)) return backward_data_in_place(gy, w, gx, s);
    Scratch<float> gxs;
    float* dense_gx = gxs.get(s.N * s.C * s.OH * s.OW);
    backward_data_dense(gy, w, dense_gx, dense(s), false);
    spread(dense_gx, gx, s, accumulate);
}

void backward_filter(const float* x, const float* gy, float* gw, const Shape4& s) {
    if (!strided(s)) return backward_filter_dense(x, gy, gw, dense(s));
    if (packs_in_place(s)) return backward_filter_in_place(x, gy, gw, s);
    Scratch<float> xs;
    float* dense_x = xs.get(s.N * s.C * s.OH * s.OW);
    subsample(x, dense_x, s);
    backward_filter_dense(dense_x, gy, gw, dense(s));
}

}  // namespace dcodr::conv_pointwise
