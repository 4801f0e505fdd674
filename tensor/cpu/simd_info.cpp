#include "tensor/cpu/simd_info.h"

#include <Eigen/Core>
#include <cstdio>
#include <cstdlib>

// Every ARMv8-A CPU has NEON (AdvSIMD), so an aarch64 build without Eigen's NEON kernels lost
// them by a flag (e.g. EIGEN_DONT_VECTORIZE): refuse to build rather than run 4x slower.
#if defined(__aarch64__) && !defined(EIGEN_VECTORIZE_NEON)
#error "aarch64 build without Eigen's NEON kernels (EIGEN_VECTORIZE_NEON undefined): check the compile flags"
#endif

namespace dcodr::cpu {

// Compiled with the project's flags like the GEMM in cpu/matmul.cpp, so both report the paths
// the GEMM's Eigen kernels take.
const char* compiled_cpu_level() {
#if defined(__x86_64__) && defined(__AVX512F__)
    return "x86-64-v4";
#elif defined(__x86_64__) && defined(__AVX2__)
    return "x86-64-v3";
#elif defined(__x86_64__)
    return "x86-64";
#else
    return "";
#endif
}

std::string simd_instructions() {
    std::string s = Eigen::SimdInstructionSetsInUse();
    // Eigen names AVX2 and FMA itself only in AVX-512 builds: they are what x86-64-v3 buys.
#ifdef EIGEN_VECTORIZE_AVX2
    if (s.find("AVX2") == std::string::npos) s += ", AVX2";
#endif
#ifdef EIGEN_VECTORIZE_FMA
    if (s.find("FMA") == std::string::npos) s += ", FMA";
#endif
    if (*compiled_cpu_level()) s += std::string(" (") + compiled_cpu_level() + ")";
    return s;
}

#if defined(__x86_64__)
// Compiled for the plain x86-64 baseline whatever -march says, so that this check itself runs
// on any x86-64 CPU; constructor priority 101 runs it before every default-priority static
// initialiser (which may already use the wider instructions).
__attribute__((target("arch=x86-64"), constructor(101))) static void check_cpu_level_at_load() {
    __builtin_cpu_init();
    const char* level = nullptr;
#if defined(__AVX512F__)
    if (!__builtin_cpu_supports("x86-64-v4")) level = "x86-64-v4 (AVX-512F/BW/CD/DQ/VL)";
#elif defined(__AVX2__)
    if (!__builtin_cpu_supports("x86-64-v3")) level = "x86-64-v3 (AVX2, FMA, BMI2)";
#endif
    if (!level) return;
    std::fprintf(stderr,
                 "dcodr: this build was compiled for %s, which this CPU does not support. Rebuild on this "
                 "machine (meson setup --wipe ... -Dcpu_target=auto) or for an older level "
                 "(-Dcpu_target=x86-64-v3 or baseline).\n",
                 level);
    std::_Exit(70);
}
#endif

void require_compiled_cpu_level() {
#if defined(__x86_64__)
    check_cpu_level_at_load();
#endif
}

}  // namespace dcodr::cpu
