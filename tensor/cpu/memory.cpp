// CPU memory, fills, copies and random numbers.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/simd_info.h"
#include "tensor/cpu/strided_loop.h"
#include "tensor/philox.h"

namespace dcodr {

CpuBackend& cpu_backend() {
    // Also links simd_info.cpp's load-time CPU check into every program that has a backend.
    static const bool cpu_checked = (cpu::require_compiled_cpu_level(), true);
    (void)cpu_checked;
    static CpuBackend backend;
    return backend;
}

HostCache& CpuBackend::cache() {
    // At most 4 GiB of freed blocks kept for reuse (a ResNet-50 step at batch 128 cycles ~2 GiB).
    static HostCache c(std::size_t{4} << 30);
    return c;
}
void* CpuBackend::allocate(std::size_t nbytes) { return cache().allocate(nbytes); }
void CpuBackend::deallocate(void* ptr, std::size_t nbytes) { cache().release(ptr, nbytes); }
void CpuBackend::copy_to_host(void* dst, const void* src, std::size_t n) { std::memcpy(dst, src, n); }
void CpuBackend::copy_from_host(void* dst, const void* src, std::size_t n) { std::memcpy(dst, src, n); }

void CpuBackend::fill(Tensor& out, double value) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* p = out.data<T>();
        T v = static_cast<T>(value);
        std::int64_t n = out.numel();
#pragma omp parallel for if (n > kParallelGrain * 8)
        for (std::int64_t i = 0; i < n; ++i) p[i] = v;
    });
}

void CpuBackend::arange(Tensor& out) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* p = out.data<T>();
        for (std::int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<T>(i);
    });
}

void CpuBackend::strided_copy(const Tensor& src, Tensor& dst) {
    dispatch_dtype(dst.dtype(), [&](auto dtag) {
        using D = decltype(dtag);
        dispatch_dtype(src.dtype(), [&](auto stag) {
            using S = decltype(stag);
            if (src.is_contiguous() && dst.is_contiguous()) {
                const S* s = src.data<S>();
                D* d = dst.data<D>();
                std::int64_t n = dst.numel();
                if constexpr (std::is_same_v<S, D>) {
                    std::memcpy(d, s, static_cast<std::size_t>(n) * sizeof(D));
                } else {
#pragma omp parallel for if (n > kParallelGrain)
                    for (std::int64_t i = 0; i < n; ++i) d[i] = static_cast<D>(s[i]);
                }
                return;
            }
            for_each_strided2<D, S>(dst, src, [](D* d, const S* s, std::int64_t n, std::int64_t ds, std::int64_t ss) {
                for (std::int64_t i = 0; i < n; ++i) d[i * ds] = static_cast<D>(s[i * ss]);
            });
        });
    });
}

void CpuBackend::random_uniform(Tensor& out, std::uint64_t seed, std::uint64_t offset, double lo, double hi) {
    dispatch_floating(out.dtype(), "uniform", [&](auto tag) {
        using T = decltype(tag);
        T* p = out.data<T>();
        std::int64_t n = out.numel();
#pragma omp parallel for if (n > kParallelGrain)
        for (std::int64_t i = 0; i < n; ++i)
            // Explicit fma: the CUDA kernel computes the same, so float64 draws match bit for bit
            // whether or not the compiler would have contracted a*b+c on its own.
            p[i] = static_cast<T>(std::fma(hi - lo, philox::uniform_at(seed, offset, static_cast<std::uint64_t>(i)), lo));
    });
}
void CpuBackend::random_normal(Tensor& out, std::uint64_t seed, std::uint64_t offset, double mean, double std) {
    dispatch_floating(out.dtype(), "normal", [&](auto tag) {
        using T = decltype(tag);
        T* p = out.data<T>();
        std::int64_t n = out.numel();
#pragma omp parallel for if (n > kParallelGrain)
        for (std::int64_t i = 0; i < n; ++i)
            p[i] = static_cast<T>(std::fma(std, philox::normal_at(seed, offset, static_cast<std::uint64_t>(i)), mean));
    });
}

}  // namespace dcodr
