// Which SIMD instruction sets the CPU backend was compiled for, as Eigen sees them: "ARM NEON"
// on aarch64, "SSE, SSE2, ..., AVX2, FMA" on an x86-64-v3 build. `dcodr version` prints it, and
// tests/test_build_info.cpp checks that each architecture gets its vector paths (docs/arm64.md).
#pragma once

#include <string>

namespace dcodr::cpu {

std::string simd_instructions();

}  // namespace dcodr::cpu
