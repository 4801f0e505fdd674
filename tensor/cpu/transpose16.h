// A 16 x 16 float32 transpose in AVX-512 registers, shared by the packed GEMM (transposed
// operands, sgemm.cpp) and Winograd's channels-last copies (conv_winograd.cpp). Element by
// element through a local tile, those copies were 20-27 % of a Winograd convolution at 64
// channels (perf); in registers they are 64 shuffles per 256 values. Builds without AVX-512
// have none (kHasTranspose16 is false) and keep their scalar loops.
#pragma once
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace dcodr::cpu {

#if defined(__AVX512F__)
inline constexpr bool kHasTranspose16 = true;

// GCC 12 warns that _mm512_undefined_ps()'s deliberately uninitialised value (inside the
// shuffle intrinsics) is used uninitialised once these are inlined (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// r[i][j] -> r[j][i] for a 16 x 16 block in 16 registers: 32-bit, 64-bit, then 128-bit
// interleaves.
inline void transpose16(__m512 r[16]) {
    __m512 t[16], u[16], v[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 4; ++j) {
            v[8 * i + j] = _mm512_shuffle_f32x4(u[8 * i + j], u[8 * i + 4 + j], 0x88);
            v[8 * i + 4 + j] = _mm512_shuffle_f32x4(u[8 * i + j], u[8 * i + 4 + j], 0xDD);
        }
    for (int j = 0; j < 8; ++j) {
        r[j] = _mm512_shuffle_f32x4(v[j], v[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_f32x4(v[j], v[8 + j], 0xDD);
    }
}

// dst[j·ldd + i] = src[i·lds + j] for i < rows, j < cols (both <= 16): masked loads of the
// rows, masked stores of the columns, so partial blocks at a matrix's edges need no scalar loop.
inline void transpose_block16(const float* src, std::int64_t lds, std::int64_t rows, std::int64_t cols, float* dst,
                              std::int64_t ldd) {
    const __mmask16 load = static_cast<__mmask16>((1u << cols) - 1), store = static_cast<__mmask16>((1u << rows) - 1);
    __m512 r[16];
    for (std::int64_t i = 0; i < 16; ++i)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(load, src + i * lds) : _mm512_setzero_ps();
    transpose16(r);
    for (std::int64_t j = 0; j < cols; ++j) _mm512_mask_storeu_ps(dst + j * ldd, store, r[j]);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#else
inline constexpr bool kHasTranspose16 = false;
#endif

}  // namespace dcodr::cpu
