// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
// Counter-based: the numbers for element i depend only on (seed, counter), so any backend,
// any thread layout, gives the same stream. Header-only and usable from CUDA (.cu) too.
//
// Stream layout shared by every backend: element i of a draw with offset o uses counter
// c = o + i/4 (x = low 32 bits, y = high 32 bits, z = w = 0), key = seed, and takes word i%4.
// Normal variates come from Box-Muller on words (0,1) -> elements 4c, 4c+1 and (2,3) -> 4c+2,
// 4c+3 so that element i is again a function of (seed, o, i) alone.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define DCODR_HD __host__ __device__ __forceinline__
#else
#define DCODR_HD inline
#endif

namespace dcodr::philox {

struct U32x4 {
    std::uint32_t v[4];
};

DCODR_HD void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
    std::uint64_t p = static_cast<std::uint64_t>(a) * b;
    hi = static_cast<std::uint32_t>(p >> 32);
    lo = static_cast<std::uint32_t>(p);
}

DCODR_HD U32x4 block(std::uint64_t counter, std::uint64_t seed) {
    std::uint32_t c0 = static_cast<std::uint32_t>(counter), c1 = static_cast<std::uint32_t>(counter >> 32);
    std::uint32_t c2 = 0, c3 = 0;
    std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        std::uint32_t hi0, lo0, hi1, lo1;
        mulhilo(0xD2511F53u, c0, hi0, lo0);
        mulhilo(0xCD9E8D57u, c2, hi1, lo1);
        std::uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return {{c0, c1, c2, c3}};
}

// 24 random bits -> [0, 1) exactly representable in float, so float and double agree.
DCODR_HD double to_unit(std::uint32_t x) { return static_cast<double>(x >> 8) * (1.0 / 16777216.0); }

DCODR_HD double uniform_at(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
    U32x4 r = block(offset + i / 4, seed);
    return to_unit(r.v[i % 4]);
}

DCODR_HD double normal_at(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
    U32x4 r = block(offset + i / 4, seed);
    unsigned pair = static_cast<unsigned>(i % 4) / 2;
    // u1 in (0, 1] so the log is finite.
    double u1 = 1.0 - to_unit(r.v[2 * pair]);
    double u2 = to_unit(r.v[2 * pair + 1]);
    double radius = ::sqrt(-2.0 * ::log(u1));
    double angle = 6.283185307179586 * u2;
    return (i % 2 == 0) ? radius * ::cos(angle) : radius * ::sin(angle);
}

// How far a draw of n elements advances the counter offset.
DCODR_HD std::uint64_t counters_used(std::uint64_t n) { return (n + 3) / 4; }

}  // namespace dcodr::philox
