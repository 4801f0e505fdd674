#include "tensor/cpu/sgemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/transpose16.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#define DCODR_PACKED_SGEMM 1
#endif

namespace dcodr::cpu {

namespace {
std::atomic<bool> g_packed_enabled{true};
}  // namespace

void set_packed_sgemm_enabled(bool enabled) { g_packed_enabled.store(enabled, std::memory_order_relaxed); }

#ifdef DCODR_PACKED_SGEMM

namespace {

// Register tile and cache blocks. kMR x kNR accumulators fill the vector registers (24 of 32
// zmm, 12 of 16 ymm) next to the two B vectors and the broadcast A value; a packed kKC x kNR
// panel of B (32 KB with AVX-512) stays in L1, a kMC x kKC block of A (144 KB) in L2, and the
// kKC x kNC block of packed B (1 MB) in L2 or L3.
#if defined(__AVX512F__)
constexpr std::int64_t kMR = 12, kNR = 32;
#else
constexpr std::int64_t kMR = 6, kNR = 16;
#endif
constexpr std::int64_t kHalf = kNR / 2;  // one vector of C's row
constexpr std::int64_t kKC = 256, kMC = 144, kNC = 1024;
// Products of up to this many rows read B's contiguous panels in place (block_loop). Side by
// side on 1x1 convolutions with 64 GEMM rows: 1.04-1.10x (64 -> 128 backward-data at 8x8,
// 256 -> 64 forward at 16x16, the 1x1/2 backward-data); with more rows level (0.98-1.02x:
// Winograd, im2col, ResNet-50's wide 1x1s), so those keep packing.
constexpr std::int64_t kUnpackedBMaxRows = 64;
static_assert(kMC % kMR == 0 && kNC % kNR == 0);

// One kMR x kNR tile over kc steps of the depth: C = (add ? C : 0) + A_panel · B_panel, where
// a is kc x kMR (k-major), b is kc x kNR, and C's row i is c_lo + i·ldc (columns [0, kHalf))
// and c_hi + i·ldc (columns [kHalf, kNR)): two pointers, because in a batch of planes the two
// halves of a tile may lie in different images.
// R is kMR for a whole tile, or kMR / 3 or 2·kMR / 3 for the last tile of a product whose rows
// are not a multiple of kMR (ResNet's 64, 128 and 256 rows end on 4 or 8): a 12-row kernel there
// spent 8 of its 12 rows' multiply-adds on padding and stored through the edge tile. A stays
// packed in kMR-row panels; R only says how many of each panel's rows to multiply.
#if defined(__AVX512F__)
template <int R = kMR>
inline void micro_kernel(std::int64_t kc, const float* a, const float* b, float* c_lo, float* c_hi,
                         std::int64_t ldc, bool add, std::int64_t ldb = kNR) {
    __m512 acc[R][2];
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (std::int64_t k = 0; k < kc; ++k, a += kMR, b += ldb) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < R; ++i) {
            const __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i) {
        float* lo = c_lo + i * ldc;
        float* hi = c_hi + i * ldc;
        if (add) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(lo));
            acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(hi));
        }
        _mm512_storeu_ps(lo, acc[i][0]);
        _mm512_storeu_ps(hi, acc[i][1]);
    }
}
#else
template <int R = kMR>
inline void micro_kernel(std::int64_t kc, const float* a, const float* b, float* c_lo, float* c_hi,
                         std::int64_t ldc, bool add, std::int64_t ldb = kNR) {
    __m256 acc[R][2];
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (std::int64_t k = 0; k < kc; ++k, a += kMR, b += ldb) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int i = 0; i < R; ++i) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
        float* lo = c_lo + i * ldc;
        float* hi = c_hi + i * ldc;
        if (add) {
            acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(lo));
            acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(hi));
        }
        _mm256_storeu_ps(lo, acc[i][0]);
        _mm256_storeu_ps(hi, acc[i][1]);
    }
}
#endif

// The tile of h <= kMR rows with the narrowest kernel that covers them: kMR / 3, 2·kMR / 3 or
// kMR rows (rows past h multiply the panel's zero padding).
constexpr int kRowStep = kMR / 3;
static_assert(kMR % kRowStep == 0);
inline void micro_kernel_rows(std::int64_t h, std::int64_t kc, const float* a, const float* b, float* c_lo,
                              float* c_hi, std::int64_t ldc, bool add, std::int64_t ldb = kNR) {
    if (h <= kRowStep) return micro_kernel<kRowStep>(kc, a, b, c_lo, c_hi, ldc, add, ldb);
    if (h <= 2 * kRowStep) return micro_kernel<2 * kRowStep>(kc, a, b, c_lo, c_hi, ldc, add, ldb);
    micro_kernel(kc, a, b, c_lo, c_hi, ldc, add, ldb);
}

// f(std::integral_constant<len>) for the lengths of plane runs (4, 16 pixels) and whole panels,
// f(len) otherwise: the copy loops then have a compile-time length (a memcpy call per short run
// costs more than the copy).
template <class F>
inline void with_run_length(std::int64_t len, F&& f) {
    switch (len) {
        case 4: return f(std::integral_constant<std::int64_t, 4>{});
        case 16: return f(std::integral_constant<std::int64_t, 16>{});
        case 32: return f(std::integral_constant<std::int64_t, 32>{});
        default: return f(len);
    }
}

// Length of the contiguous stretch of `dim` that starts at index i, at most `limit` (1 where
// the dimension is not unit-stride).
inline std::int64_t run_length(const Dim& dim, std::int64_t i, std::int64_t limit) {
    if (dim.stride != 1) return 1;
    return dim.linear() ? limit : std::min(limit, dim.run - i % dim.run);
}

// The AVX-512 packings of the cases the plain loops of pack_panel take one value at a time.
#if defined(__AVX512F__)
// The transposed case of pack_panel below, with AVX-512: up to 16 of the panel's columns at a
// time, 16 depth steps of them loaded as rows and transposed in registers, the rest of a run
// gathered. A backward-filter's operands are both transposed; packing them one value at a
// time cost more than their multiply-adds on 256-wide products, gathers about half of that.
// False where it does not apply (columns not evenly spaced or too far apart).
template <std::int64_t W>
bool pack_transposed(const float* data, const Dim& depth, std::int64_t k0, std::int64_t kc, const Dim& across,
                     std::int64_t j0, std::int64_t w, float* out) {
    if (!across.linear() || across.stride * 16 > std::numeric_limits<std::int32_t>::max()) return false;
    const __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32(static_cast<std::int32_t>(across.stride)));
    for (std::int64_t j = 0; j < w; j += 16) {
        const std::int64_t lanes = std::min<std::int64_t>(16, w - j);
        const __mmask16 load = static_cast<__mmask16>((1u << lanes) - 1);
        const __mmask16 store = static_cast<__mmask16>((1u << std::min<std::int64_t>(16, W - j)) - 1);
        const float* col = data + across.offset(j0 + j);
        for (std::int64_t k = 0; k < kc;) {
            const std::int64_t len = run_length(depth, k0 + k, kc - k);
            const float* run = col + depth.offset(k0 + k);
            float* dst = out + k * W + j;
            std::int64_t t = 0;
            for (; t + 16 <= len; t += 16, dst += 16 * W) {
                __m512 r[16];
                for (std::int64_t q = 0; q < 16; ++q)
                    r[q] = q < lanes ? _mm512_loadu_ps(run + q * across.stride + t) : _mm512_setzero_ps();
                transpose16(r);
                for (int q = 0; q < 16; ++q) _mm512_mask_storeu_ps(dst + q * W, store, r[q]);
            }
            for (; t < len; ++t, dst += W)
                _mm512_mask_storeu_ps(dst, store, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), load, index, run + t, 4));
            k += len;
        }
    }
    return true;
}

// pack_panel's case of columns two values apart (a strided 1x1 convolution reading x's planes in
// place: runs of OW columns, every other pixel of every other row), with AVX-512: per depth step,
// 8 columns at a time from one 15-value masked load (the mask never reads past the run's last
// value) and one shuffle. False where it does not apply (runs not in whole 8s).
template <std::int64_t W>
bool pack_stride2(const float* data, const Dim& depth, std::int64_t k0, std::int64_t kc, const Dim& across,
                  std::int64_t j0, std::int64_t w, float* out) {
    if (across.stride != 2 || w % 8 != 0 || (!across.linear() && (across.run % 8 != 0 || j0 % 8 != 0))) return false;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    for (std::int64_t j = 0; j < w; j += 8) {
        const float* col = data + across.offset(j0 + j);  // 8 columns inside one run (run % 8 == 0)
        float* dst = out + j;
        for (std::int64_t k = 0; k < kc; ++k, dst += W) {
            const __m512 v = _mm512_maskz_loadu_ps(0x7fff, col + depth.offset(k0 + k));
            _mm256_storeu_ps(dst, _mm512_castps512_ps256(_mm512_permutexvar_ps(even, v)));
        }
    }
    return true;
}

// pack_panel's transposed case over a depth two values apart (a strided 1x1 backward-filter
// reading x's planes in place: the depth runs over every other pixel of every other row), with
// AVX-512: 16 columns by 16 depth steps at a time, each column's 16 values taken as two runs of
// 8 (one 15-value masked load each, merged by one shuffle) and the block transposed in registers.
// False where it does not apply (runs not in whole 8s, a depth block not in whole 16s).
template <std::int64_t W>
bool pack_transposed_stride2(const float* data, const Dim& depth, std::int64_t k0, std::int64_t kc,
                             const Dim& across, std::int64_t j0, std::int64_t w, float* out) {
    if (depth.stride != 2 || kc % 16 != 0 || (!depth.linear() && (depth.run % 8 != 0 || k0 % 8 != 0))) return false;
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (std::int64_t j = 0; j < w; j += 16) {
        const std::int64_t lanes = std::min<std::int64_t>(16, w - j);
        const __mmask16 store = static_cast<__mmask16>((1u << std::min<std::int64_t>(16, W - j)) - 1);
        for (std::int64_t k = 0; k < kc; k += 16) {
            const std::int64_t lo = depth.offset(k0 + k), hi = depth.offset(k0 + k + 8);
            __m512 r[16];
            for (std::int64_t q = 0; q < 16; ++q) {
                if (q >= lanes) {
                    r[q] = _mm512_setzero_ps();
                    continue;
                }
                const float* col = data + across.offset(j0 + j + q);
                r[q] = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(0x7fff, col + lo), evens,
                                              _mm512_maskz_loadu_ps(0x7fff, col + hi));
            }
            transpose16(r);
            float* dst = out + k * W + j;
            for (int q = 0; q < 16; ++q) _mm512_mask_storeu_ps(dst + q * W, store, r[q]);
        }
    }
    return true;
}

#endif

// One of the AVX-512 packings above, where one applies (false elsewhere, and on other targets).
template <std::int64_t W>
bool pack_vectorized(const float* data, const Dim& depth, std::int64_t k0, std::int64_t kc, const Dim& across,
                     std::int64_t j0, std::int64_t w, float* out) {
#if defined(__AVX512F__)
    if (across.stride == 2 && depth.stride != 1) return pack_stride2<W>(data, depth, k0, kc, across, j0, w, out);
    if (depth.stride == 2 && across.stride != 1) return pack_transposed_stride2<W>(data, depth, k0, kc, across, j0, w, out);
    if (across.stride != 1 && depth.stride == 1) return pack_transposed<W>(data, depth, k0, kc, across, j0, w, out);
#else
    (void)data, (void)depth, (void)k0, (void)kc, (void)across, (void)j0, (void)w, (void)out;
#endif
    return false;
}

// out[k·W + j] = data[depth.offset(k0 + k) + across.offset(j0 + j)] for k < kc, j < w, and 0 for
// w <= j < W: one panel of W columns of B (depth = B's rows, across = its columns) or of W rows
// of A (depth = A's columns, across = its rows). The loops follow whichever dimension is
// contiguous in memory, so the reads stream and the scattered writes land in the panel (in L1).
template <std::int64_t W>
void pack_panel(const float* data, const Dim& depth, std::int64_t k0, std::int64_t kc, const Dim& across,
                std::int64_t j0, std::int64_t w, float* out) {
    if (pack_vectorized<W>(data, depth, k0, kc, across, j0, w, out)) {
    } else if (across.stride == 1 || depth.stride != 1) {
        // Along the panel's width: each depth step copies runs of the panel's row.
        for (std::int64_t j = 0; j < w;) {
            const std::int64_t len = run_length(across, j0 + j, w - j);
            const float* src = data + across.offset(j0 + j);
            float* dst = out + j;
            with_run_length(len, [&](auto n) {
                if (depth.linear()) {
                    const float* s = src + k0 * depth.stride;
                    for (std::int64_t k = 0; k < kc; ++k, s += depth.stride)
                        for (std::int64_t t = 0; t < n; ++t) dst[k * W + t] = s[t];
                } else {
                    for (std::int64_t k = 0; k < kc; ++k) {
                        const float* s = src + depth.offset(k0 + k);
                        for (std::int64_t t = 0; t < n; ++t) dst[k * W + t] = s[t];
                    }
                }
            });
            j += len;
        }
    } else {
        // Along the depth (a transposed operand): each of the panel's columns is read in runs.
        for (std::int64_t j = 0; j < w; ++j) {
            const float* src = data + across.offset(j0 + j);
            for (std::int64_t k = 0; k < kc;) {
                const std::int64_t len = run_length(depth, k0 + k, kc - k);
                const float* run = src + depth.offset(k0 + k);
                for (std::int64_t t = 0; t < len; ++t) out[(k + t) * W + j] = run[t];
                k += len;
            }
        }
    }
    if (w < W)
        for (std::int64_t k = 0; k < kc; ++k) std::fill(out + k * W + w, out + (k + 1) * W, 0.0f);
}

// C[i0 + i, j0 + j] (+)= tile[i·kNR + j] for i < h, j < w: a tile the micro-kernel could not
// store itself (a partial tile, or columns that are not two contiguous halves: planes of 4
// pixels). C's rows are linear.
void store_tile(const float* tile, std::int64_t h, std::int64_t w, const Operand& c, std::int64_t i0,
                std::int64_t j0, bool add) {
    for (std::int64_t j = 0; j < w;) {
        const std::int64_t len = run_length(c.cols, j0 + j, w - j);
        float* col = c.data + c.cols.offset(j0 + j) + i0 * c.rows.stride;
        with_run_length(len, [&](auto n) {
            for (std::int64_t i = 0; i < h; ++i) {
                float* dst = col + i * c.rows.stride;
                const float* src = tile + i * kNR + j;
                if (add)
                    for (std::int64_t t = 0; t < n; ++t) dst[t] += src[t];
                else
                    for (std::int64_t t = 0; t < n; ++t) dst[t] = src[t];
            }
        });
        j += len;
    }
}

// C[i0 + i, j0 + j] (+)= tile[i·kNR + j] for i < h, j < w (w a multiple of 8) into a zero_gaps
// operand: each 8 columns are one output row's stretch, stored as 16 values with zeros between
// them; a stretch that starts a row also zeroes the odd row below it (W = 2·OW values at
// run_stride / 2). Adding (a later depth block) adds the spread values, and +0 to the gaps.
void store_tile_spread(const float* tile, std::int64_t h, std::int64_t w, const Operand& c, std::int64_t i0,
                       std::int64_t j0, bool add) {
#if defined(__AVX512F__)
    const __m512i spread = _mm512_setr_epi32(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
    const std::int64_t odd_row = c.cols.run_stride / 2, row_len = odd_row;  // W values
    for (std::int64_t i = 0; i < h; ++i) {
        float* base = c.data + (i0 + i) * c.rows.stride;
        for (std::int64_t g = 0; g < w; g += 8) {
            float* dst = base + c.cols.offset(j0 + g);
            const __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(0xff, tile + i * kNR + g), spread,
                                                    _mm512_setzero_ps());
            if (add) {
                _mm512_storeu_ps(dst, _mm512_add_ps(_mm512_loadu_ps(dst), v));
                continue;
            }
            _mm512_storeu_ps(dst, v);
            if ((j0 + g) % c.cols.run == 0)
                for (std::int64_t t = 0; t < row_len; t += 16) _mm512_storeu_ps(dst + odd_row + t, _mm512_setzero_ps());
        }
    }
#else
    (void)tile, (void)h, (void)w, (void)c, (void)i0, (void)j0, (void)add;
    throw std::logic_error("sgemm: no spread store in this build (check has_spread_store())");
#endif
}

// The depth blocks: equal sizes (576 = 3 x 192, not 256 + 256 + 64), since a short last block
// would pay a whole pass of C's loads and stores for little work.
std::int64_t depth_block(std::int64_t depth) {
    const std::int64_t blocks = (depth + kKC - 1) / kKC;
    return (depth + blocks - 1) / blocks;
}

// Per-thread packing buffers, kept between calls (plain vectors: a thread_local that returned
// its memory to the backend's cache could outlive the cache at exit).
struct PackBuffers {
    std::vector<float> a, b;
    static float* get(std::vector<float>& v, std::int64_t n) {
        if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
        return v.data();
    }
};
PackBuffers& pack_buffers() {
    thread_local PackBuffers buffers;
    return buffers;
}

// The Goto loop nest over C's column blocks (kNC), depth blocks and row blocks (kMC), with B
// packed here (or read in place, below) and A's packed blocks from
// `packed_a(ic, depth_block_index, pc, mc, kc)`.
template <class PackedABlock>
void block_loop(std::int64_t m, Columns cols, std::int64_t depth, PackedABlock&& packed_a, const ConstOperand& b,
                const Operand& c, bool accumulate) {
    const std::int64_t n = cols.end - cols.begin;
    const std::int64_t kc_step = depth_block(depth);
    float* packed_b = PackBuffers::get(pack_buffers().b, kc_step * std::min(kNC, (n + kNR - 1) / kNR * kNR));
    alignas(64) float edge[kMR * kNR];
    const std::int64_t ldc = c.rows.stride;
    // A panel of B whose kNR columns lie contiguous in each of its rows is read where it lies
    // (row stride ldb) instead of packed, in products of few rows: packing pays when a panel
    // feeds many register tiles, and with <= kUnpackedBMaxRows rows it feeds <= 6.
    auto b_in_place = [&](std::int64_t j, std::int64_t w) {
        return m <= kUnpackedBMaxRows && w == kNR && b.rows.linear() && b.cols.contiguous(j, kNR);
    };
    for (std::int64_t jc = cols.begin; jc < cols.end; jc += kNC) {
        const std::int64_t nc = std::min(kNC, cols.end - jc);
        for (std::int64_t pc = 0, pi = 0; pc < depth; pc += kc_step, ++pi) {
            const std::int64_t kc = std::min(kc_step, depth - pc);
            const bool add = accumulate || pc > 0;
            for (std::int64_t jr = 0; jr < nc; jr += kNR)
                if (!b_in_place(jc + jr, std::min(kNR, nc - jr)))
                    pack_panel<kNR>(b.data, b.rows, pc, kc, b.cols, jc + jr, std::min(kNR, nc - jr), packed_b + jr * kc);
            for (std::int64_t ic = 0; ic < m; ic += kMC) {
                const std::int64_t mc = std::min(kMC, m - ic);
                const float* a_block = packed_a(ic, pi, pc, mc, kc);
                for (std::int64_t jr = 0; jr < nc; jr += kNR) {
                    const std::int64_t j = jc + jr, w = std::min(kNR, nc - jr);
                    const bool unpacked = b_in_place(j, w);
                    const float* bp = unpacked ? b.data + b.rows.offset(pc) + b.cols.offset(j) : packed_b + jr * kc;
                    const std::int64_t ldb = unpacked ? b.rows.stride : kNR;
                    // The micro-kernel stores a whole tile itself when each half of its
                    // columns is contiguous (always in a plain matrix; in planes of >= 16 pixels).
                    const bool direct = w == kNR && c.cols.contiguous(j, kHalf) && c.cols.contiguous(j + kHalf, kHalf);
                    float* c_lo = c.data + c.cols.offset(j);
                    float* c_hi = c.data + c.cols.offset(j + kHalf);
                    for (std::int64_t ir = 0; ir < mc; ir += kMR) {
                        const float* ap = a_block + ir * kc;
                        const std::int64_t i = ic + ir, h = std::min(kMR, mc - ir);
                        if (direct && h == kMR) {
                            micro_kernel(kc, ap, bp, c_lo + i * ldc, c_hi + i * ldc, ldc, add, ldb);
                            continue;
                        }
                        if (direct && h % kRowStep == 0) {  // the last tile of 64, 128, 256 rows
                            micro_kernel_rows(h, kc, ap, bp, c_lo + i * ldc, c_hi + i * ldc, ldc, add, ldb);
                            continue;
                        }
                        micro_kernel_rows(h, kc, ap, bp, edge, edge + kHalf, kNR, false, ldb);
                        if (c.zero_gaps) store_tile_spread(edge, h, w, c, i, j, add);
                        else store_tile(edge, h, w, c, i, j, add);
                    }
                }
            }
        }
    }
}

// C when the depth is 0: nothing to add, so only the overwrite needs doing.
void zero_c(std::int64_t m, Columns cols, const Operand& c, bool accumulate) {
    if (accumulate) return;
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = cols.begin; j < cols.end; ++j) c.data[c.rows.offset(i) + c.cols.offset(j)] = 0.0f;
}

// Rows [ic, ic + mc) x depth [pc, pc + kc) of A as consecutive kMR-row panels.
void pack_a_block(const ConstOperand& a, std::int64_t ic, std::int64_t mc, std::int64_t pc, std::int64_t kc,
                  float* out) {
    for (std::int64_t ir = 0; ir < mc; ir += kMR, out += kc * kMR)
        pack_panel<kMR>(a.data, a.cols, pc, kc, a.rows, ic + ir, std::min(kMR, mc - ir), out);
}

std::int64_t padded_rows(std::int64_t mc) { return (mc + kMR - 1) / kMR * kMR; }

}  // namespace

bool has_packed_sgemm() { return g_packed_enabled.load(std::memory_order_relaxed); }
bool has_spread_store() {
#if defined(__AVX512F__)
    return has_packed_sgemm();
#else
    return false;
#endif
}

PackedA::PackedA(std::int64_t m, std::int64_t depth, const ConstOperand& a) : m_(m), depth_(depth) {
    if (m <= 0 || depth <= 0) return;
    const std::int64_t kc_step = depth_block(depth);
    row_blocks_ = (m + kMC - 1) / kMC;
    // Block (depth block pi, row block ic / kMC) starts at offsets_[pi · row_blocks_ + ic / kMC].
    struct Block {
        std::int64_t pc, ic;
    };
    std::vector<Block> blocks;
    std::int64_t total = 0;
    for (std::int64_t pc = 0; pc < depth; pc += kc_step)
        for (std::int64_t ic = 0; ic < m; ic += kMC) {
            blocks.push_back({pc, ic});
            offsets_.push_back(total);
            total += padded_rows(std::min(kMC, m - ic)) * std::min(kc_step, depth - pc);
        }
    bytes_ = static_cast<std::size_t>(total) * sizeof(float);
    data_ = static_cast<float*>(CpuBackend::cache().allocate(bytes_));
    const std::int64_t count = static_cast<std::int64_t>(blocks.size());
#pragma omp parallel for schedule(dynamic) if (total > (1 << 16) && !omp_in_parallel())
    for (std::int64_t bi = 0; bi < count; ++bi) {
        const Block& bl = blocks[static_cast<std::size_t>(bi)];
        pack_a_block(a, bl.ic, std::min(kMC, m - bl.ic), bl.pc, std::min(kc_step, depth - bl.pc),
                     data_ + offsets_[static_cast<std::size_t>(bi)]);
    }
}

PackedA::~PackedA() {
    if (data_) CpuBackend::cache().release(data_, bytes_);
}

const float* PackedA::block(std::int64_t depth_block_index, std::int64_t ic) const {
    return data_ + offsets_[static_cast<std::size_t>(depth_block_index * row_blocks_ + ic / kMC)];
}

void sgemm(const PackedA& a, Columns cols, const ConstOperand& b, const Operand& c, bool accumulate) {
    if (a.rows() <= 0 || cols.end <= cols.begin) return;
    if (a.depth() <= 0) return zero_c(a.rows(), cols, c, accumulate);
    auto prepacked = [&](std::int64_t ic, std::int64_t pi, std::int64_t, std::int64_t, std::int64_t) {
        return a.block(pi, ic);
    };
    block_loop(a.rows(), cols, a.depth(), prepacked, b, c, accumulate);
}

void sgemm(std::int64_t m, Columns cols, std::int64_t depth, const ConstOperand& a, const ConstOperand& b,
           const Operand& c, bool accumulate) {
    if (m <= 0 || cols.end <= cols.begin) return;
    if (depth <= 0) return zero_c(m, cols, c, accumulate);
    float* buf = PackBuffers::get(pack_buffers().a, kMC * depth_block(depth));
    auto pack_here = [&](std::int64_t ic, std::int64_t, std::int64_t pc, std::int64_t mc, std::int64_t kc) {
        pack_a_block(a, ic, mc, pc, kc, buf);
        return static_cast<const float*>(buf);
    };
    block_loop(m, cols, depth, pack_here, b, c, accumulate);
}

#else  // no micro-kernel for this target: callers keep Eigen (has_packed_sgemm() is false)

bool has_packed_sgemm() { return false; }
bool has_spread_store() { return false; }
PackedA::PackedA(std::int64_t, std::int64_t, const ConstOperand&) {}
PackedA::~PackedA() = default;
const float* PackedA::block(std::int64_t, std::int64_t) const { return nullptr; }
void sgemm(const PackedA&, Columns, const ConstOperand&, const Operand&, bool) {
    throw std::logic_error("sgemm: no packed GEMM in this build (check has_packed_sgemm())");
}
void sgemm(std::int64_t, Columns, std::int64_t, const ConstOperand&, const ConstOperand&, const Operand&, bool) {
    throw std::logic_error("sgemm: no packed GEMM in this build (check has_packed_sgemm())");
}

#endif

}  // namespace dcodr::cpu
