/* The FMA throughput one core really reaches, for the "fraction of peak" figures in
   docs/performance.md (tools/cpu-compare.sh uses the nominal clock instead, which a turbo
   clock exceeds). Twelve independent chains of fused multiply-adds, 8-wide (AVX2) and 16-wide
   (AVX-512, when the CPU has it), one thread:
       gcc -O2 tools/fma-peak.c -o /tmp/fma-peak && /tmp/fma-peak
   GFLOP/s = chains x lanes x 2 x iterations / seconds. */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((target("avx2,fma"))) static double ymm_gflops(long iterations) {
    __m256 acc[12], b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps((float)i);
    double t = now();
    for (long n = 0; n < iterations; ++n)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], b, c);
    t = now() - t;
    float sink[8], s = 0;
    for (int i = 0; i < 12; ++i) {
        _mm256_storeu_ps(sink, acc[i]);
        s += sink[0];
    }
    if (s == 12345.0f) puts("");  /* keeps the chains alive */
    return iterations * 12.0 * 8 * 2 / t / 1e9;
}

__attribute__((target("avx512f"))) static double zmm_gflops(long iterations) {
    __m512 acc[12], b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps((float)i);
    double t = now();
    for (long n = 0; n < iterations; ++n)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
    t = now() - t;
    float s = 0;
    for (int i = 0; i < 12; ++i) s += _mm512_reduce_add_ps(acc[i]);
    if (s == 12345.0f) puts("");
    return iterations * 12.0 * 16 * 2 / t / 1e9;
}

int main(void) {
    __builtin_cpu_init();
    const int avx512 = __builtin_cpu_supports("avx512f");
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        puts("this CPU has no AVX2 + FMA: nothing to measure");
        return 1;
    }
    for (int round = 0; round < 3; ++round) {
        printf("one core: AVX2 %.1f GFLOP/s", ymm_gflops(200000000L));
        if (avx512) printf(", AVX-512 %.1f GFLOP/s", zmm_gflops(200000000L));
        printf("\n");
    }
    return 0;
}
