// Batched GEMM on Eigen. Eigen's GEMM is blocked and vectorised; with OpenMP it also
// threads one large product. For a batch of small products we instead thread over the batch.
#include <Eigen/Core>

#include "tensor/cpu/cpu_backend.h"

namespace dcodr {

namespace {
template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using CMap = Eigen::Map<const RowMat<T>>;
template <class T>
using MMap = Eigen::Map<RowMat<T>>;

template <class T>
void gemm_one(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k, bool ta, bool tb,
              bool accumulate) {
    MMap<T> C(c, m, n);
    // A stored [m,k] (or [k,m] when transposed); B stored [k,n] (or [n,k]).
    CMap<T> A(a, ta ? k : m, ta ? m : k);
    CMap<T> B(b, tb ? n : k, tb ? k : n);
    auto run = [&](const auto& lhs, const auto& rhs) {
        if (accumulate) {
            C.noalias() += lhs * rhs;
        } else {
            C.noalias() = lhs * rhs;
        }
    };
    if (!ta && !tb) run(A, B);
    else if (ta && !tb) run(A.transpose(), B);
    else if (!ta && tb) run(A, B.transpose());
    else run(A.transpose(), B.transpose());
}
}  // namespace

// a: [B or 1, M, K] ([.., K, M] when ta), b: [B or 1, K, N] ([.., N, K] when tb) -> out: [B, M, N].
// Reference: reference::matmul.
void CpuBackend::matmul(const Tensor& a, const Tensor& b, Tensor& out, bool ta, bool tb, bool accumulate) {
    dispatch_floating(out.dtype(), "matmul", [&](auto tag) {
        using T = decltype(tag);
        std::int64_t batch = out.size(0), m = out.size(1), n = out.size(2);
        std::int64_t k = ta ? a.size(1) : a.size(2);
        std::int64_t a_step = a.size(0) == 1 ? 0 : a.size(1) * a.size(2);
        std::int64_t b_step = b.size(0) == 1 ? 0 : b.size(1) * b.size(2);
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        T* po = out.data<T>();
        if (batch == 1 || m * n * k > 4 * 1024 * 1024) {
            for (std::int64_t i = 0; i < batch; ++i)
                gemm_one(pa + i * a_step, pb + i * b_step, po + i * m * n, m, n, k, ta, tb, accumulate);
            return;
        }
        // Many small products: one per thread (Eigen does not nest threads inside a parallel region).
#pragma omp parallel for
        for (std::int64_t i = 0; i < batch; ++i)
            gemm_one(pa + i * a_step, pb + i * b_step, po + i * m * n, m, n, k, ta, tb, accumulate);
    });
}

}  // namespace dcodr
