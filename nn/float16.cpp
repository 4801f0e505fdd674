#include "nn/float16.h"

#include <bit>
#include <cmath>

namespace dcodr::nn {

float half_to_float(std::uint16_t h) {
    std::uint32_t sign = (h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1F;
    std::uint32_t mant = h & 0x3FFu;
    if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));  // inf/nan
    if (exp == 0) {  // zero or subnormal: mant * 2^-24
        float v = std::ldexp(static_cast<float>(mant), -24);
        return sign ? -v : v;
    }
    return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

std::uint16_t float_to_half(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t a = x & 0x7FFFFFFFu;
    if (a >= 0x7F800000u) {  // inf, or NaN made quiet with its top payload bits
        if (a == 0x7F800000u) return sign | 0x7C00u;
        return static_cast<std::uint16_t>(sign | 0x7E00u | ((a >> 13) & 0x3FFu));
    }
    // 65520 = 65504 (the largest half) + half an ulp: the tie goes to even, which is infinity.
    if (a >= 0x477FF000u) return sign | 0x7C00u;
    if (a < 0x38800000u) {  // below 2^-14: a half subnormal, mant * 2^-24
        if (a <= 0x33000000u) return sign;  // at most 2^-25 (half the smallest subnormal; ties to 0)
        const std::uint32_t e = a >> 23, m = (a & 0x7FFFFFu) | 0x800000u;
        const std::uint32_t shift = 126 - e;  // 14..24: m * 2^(e - 150) * 2^24 = m >> shift
        std::uint32_t q = m >> shift;
        const std::uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) ++q;  // may carry into the smallest normal: right
        return static_cast<std::uint16_t>(sign | q);
    }
    // Normal: rebias the exponent (127 -> 15), keep 10 of 23 mantissa bits, round the other 13.
    std::uint32_t q = ((((a >> 23) - 112) << 10) | ((a & 0x7FFFFFu) >> 13));
    const std::uint32_t rem = a & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) ++q;  // a carry into the exponent is right
    return static_cast<std::uint16_t>(sign | q);
}

float bf16_to_float(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

std::uint16_t float_to_bf16(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
    // Round to nearest even on the 16 dropped bits; overflow carries into infinity, as IEEE says.
    return static_cast<std::uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace dcodr::nn
