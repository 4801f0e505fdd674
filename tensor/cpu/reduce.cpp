// Row reductions: the front-end permutes the reduced axes last and flattens to [rows, n].
#include <limits>

#include "tensor/cpu/cpu_backend.h"

namespace dcodr {

// x: [rows, n] -> out: [rows]. Reference: reference::sum_rows.
void CpuBackend::sum_rows(const Tensor& x, Tensor& out) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        // Accumulate float sums in double: long reductions (BN over N*H*W, losses) stay accurate.
        using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
        std::int64_t rows = out.numel(), n = rows ? x.numel() / rows : 0;
        const T* px = x.data<T>();
        T* po = out.data<T>();
#pragma omp parallel for if (x.numel() > kParallelGrain && rows > 1)
        for (std::int64_t r = 0; r < rows; ++r) {
            const T* row = px + r * n;
            Acc acc = 0;
#pragma omp simd reduction(+ : acc)
            for (std::int64_t i = 0; i < n; ++i) acc += row[i];
            po[r] = static_cast<T>(acc);
        }
    });
}

// x: [rows, n] -> out: [rows], argmax: [rows] int64. Reference: reference::max_rows.
void CpuBackend::max_rows(const Tensor& x, Tensor& out, Tensor& argmax) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        std::int64_t rows = out.numel(), n = rows ? x.numel() / rows : 0;
        const T* px = x.data<T>();
        T* po = out.data<T>();
        std::int64_t* pi = argmax.data<std::int64_t>();
#pragma omp parallel for if (x.numel() > kParallelGrain && rows > 1)
        for (std::int64_t r = 0; r < rows; ++r) {
            const T* row = px + r * n;
            std::int64_t best = 0;
            for (std::int64_t i = 1; i < n; ++i)
                if (row[i] > row[best]) best = i;
            po[r] = row[best];
            pi[r] = best;
        }
    });
}

}  // namespace dcodr
