// The CPU backend was compiled with the vector instructions its architecture offers: NEON on
// aarch64 (docs/arm64.md), AVX2 + FMA on an x86-64-v3 build, AVX-512 on an x86-64-v4 one
// (meson.build, -Dcpu_target). Losing them (a stray flag, a cross file that drops them) keeps
// every other test green but makes the GEMM 2-4x slower.
#include <catch2/catch.hpp>

#include <string>

#include "tensor/cpu/simd_info.h"

TEST_CASE("the CPU backend uses the architecture's SIMD paths") {
    const std::string simd = dcodr::cpu::simd_instructions();
    INFO("Eigen reports: " << simd);
#if defined(__aarch64__)
    REQUIRE(simd.find("NEON") != std::string::npos);
#elif defined(__x86_64__) && defined(__AVX512F__)
    // This file got the project's -march=x86-64-v4 (-Dcpu_target); the library must have too.
    REQUIRE(simd.find("AVX512") != std::string::npos);
    REQUIRE(simd.find("(x86-64-v4)") != std::string::npos);
#elif defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
    // This file got the project's -march=x86-64-v3; the library must have too.
    REQUIRE(simd.find("AVX2") != std::string::npos);
    REQUIRE(simd.find("FMA") != std::string::npos);
    REQUIRE(simd.find("(x86-64-v3)") != std::string::npos);
    REQUIRE(simd.find("AVX512") == std::string::npos);
#elif defined(__x86_64__)
    REQUIRE(simd.find("SSE2") != std::string::npos);  // the x86-64 baseline (-Dcpu_target=baseline)
#else
    SUCCEED("no expectation for this architecture");
#endif
}
