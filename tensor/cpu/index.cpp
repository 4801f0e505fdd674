// Indexing kernels on the [outer, n, inner] view around the indexed dim.
// Indices were range-checked by the front-end.
#include "tensor/cpu/cpu_backend.h"

namespace dcodr {

// x: [outer, n, inner], idx: [k] -> out: [outer, k, inner].
void CpuBackend::index_select(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t outer,
                              std::int64_t inner) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        const std::int64_t* pi = idx.data<std::int64_t>();
        T* po = out.data<T>();
        std::int64_t k = idx.numel(), n = x.numel() / std::max<std::int64_t>(outer * inner, 1);
#pragma omp parallel for collapse(2) if (out.numel() > kParallelGrain)
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < k; ++i) {
                const T* src = px + (o * n + pi[i]) * inner;
                T* dst = po + (o * k + i) * inner;
                for (std::int64_t r = 0; r < inner; ++r) dst[r] = src[r];
            }
    });
}

// src: [outer, k, inner], idx: [k] -> out: [outer, n, inner] (added into).
void CpuBackend::index_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t outer,
                           std::int64_t inner) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* ps = src.data<T>();
        const std::int64_t* pi = idx.data<std::int64_t>();
        T* po = out.data<T>();
        std::int64_t k = idx.numel(), n = out.numel() / std::max<std::int64_t>(outer * inner, 1);
        // Parallel over outer only: two i may hit the same row, and the sum order stays fixed.
#pragma omp parallel for if (src.numel() > kParallelGrain && outer > 1)
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < k; ++i) {
                const T* s = ps + (o * k + i) * inner;
                T* d = po + (o * n + pi[i]) * inner;
                for (std::int64_t r = 0; r < inner; ++r) d[r] += s[r];
            }
    });
}

// x: [outer, n, inner], idx: [outer, k, inner] -> out: [outer, k, inner].
void CpuBackend::gather(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t outer, std::int64_t inner) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        const std::int64_t* pi = idx.data<std::int64_t>();
        T* po = out.data<T>();
        std::int64_t n = x.numel() / std::max<std::int64_t>(outer * inner, 1);
        std::int64_t k = out.numel() / std::max<std::int64_t>(outer * inner, 1);
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t j = 0; j < k; ++j)
                for (std::int64_t r = 0; r < inner; ++r) {
                    std::int64_t e = (o * k + j) * inner + r;
                    po[e] = px[(o * n + pi[e]) * inner + r];
                }
    });
}

// src, idx: [outer, k, inner] -> out: [outer, n, inner] (added into).
void CpuBackend::scatter_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t outer,
                             std::int64_t inner) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* ps = src.data<T>();
        const std::int64_t* pi = idx.data<std::int64_t>();
        T* po = out.data<T>();
        std::int64_t n = out.numel() / std::max<std::int64_t>(outer * inner, 1);
        std::int64_t k = src.numel() / std::max<std::int64_t>(outer * inner, 1);
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t j = 0; j < k; ++j)
                for (std::int64_t r = 0; r < inner; ++r) {
                    std::int64_t e = (o * k + j) * inner + r;
                    po[(o * n + pi[e]) * inner + r] += ps[e];
                }
    });
}

}  // namespace dcodr
