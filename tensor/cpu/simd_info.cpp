#include "tensor/cpu/simd_info.h"

#include <Eigen/Core>

// Every ARMv8-A CPU has NEON (AdvSIMD), so an aarch64 build without Eigen's NEON kernels lost
// them by a flag (e.g. EIGEN_DONT_VECTORIZE): refuse to build rather than run 4x slower.
#if defined(__aarch64__) && !defined(EIGEN_VECTORIZE_NEON)
#error "aarch64 build without Eigen's NEON kernels (EIGEN_VECTORIZE_NEON undefined): check the compile flags"
#endif

namespace dcodr::cpu {

// Compiled with the project's flags like the GEMM in cpu/matmul.cpp, so it reports the paths
// the GEMM's Eigen kernels take.
// Eigen's own string names AVX but not AVX2 or FMA, which are what -march=x86-64-v3 buys.
std::string simd_instructions() {
    std::string s = Eigen::SimdInstructionSetsInUse();
#ifdef EIGEN_VECTORIZE_AVX2
    s += ", AVX2";
#endif
#ifdef EIGEN_VECTORIZE_FMA
    s += ", FMA";
#endif
    return s;
}

}  // namespace dcodr::cpu
