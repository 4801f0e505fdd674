// Which SIMD instruction sets the CPU backend was compiled for, as Eigen sees them: "ARM NEON"
// on aarch64, "SSE, SSE2, ..., AVX2, FMA" on an x86-64-v3 build. `dcodr version` prints it, and
// tests/test_build_info.cpp checks that each architecture gets its vector paths (docs/arm64.md).
#pragma once

#include <string>

namespace dcodr::cpu {

std::string simd_instructions();

// The x86-64 level this build was compiled for ("x86-64-v4", "x86-64-v3", "x86-64"), or "" on
// other architectures.
const char* compiled_cpu_level();

// Exits with a message naming the build's level and the missing instructions when this CPU
// cannot run what the build was compiled for (a -Dcpu_target=auto build moved to an older
// machine would otherwise die of SIGILL somewhere in a kernel). Also runs by itself before any
// other initialisation of a program or library that links the CPU backend.
void require_compiled_cpu_level();

}  // namespace dcodr::cpu
