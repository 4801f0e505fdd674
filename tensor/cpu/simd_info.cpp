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
std::string simd_instructions() { return Eigen::SimdInstructionSetsInUse(); }

}  // namespace dcodr::cpu
