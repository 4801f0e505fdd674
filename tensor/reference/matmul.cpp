// Reference batched matmul and row reductions.
//   matmul: a [B or 1, M, K] (stored [.., K, M] when trans_a), b [B or 1, K, N] (stored
//   [.., N, K] when trans_b) -> out [B, M, N], out[p, i, j] = sum_k a[p, i, k] * b[p, k, j];
//   an operand with batch 1 is used for every p.
//   sum_rows / max_rows: x [rows, n] -> [rows].
#include <algorithm>

#include "tensor/reference/host.h"
#include "tensor/reference/reference.h"

namespace dcodr::reference {

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
    const std::int64_t M = trans_a ? a.size(2) : a.size(1), K = trans_a ? a.size(1) : a.size(2);
    const std::int64_t N = trans_b ? b.size(1) : b.size(2);
    const std::int64_t B = std::max(a.size(0), b.size(0));
    const std::vector<double> va = values(a), vb = values(b);
    std::vector<double> out(static_cast<std::size_t>(B * M * N), 0.0);
    for (std::int64_t p = 0; p < B; ++p) {
        const double* pa = va.data() + (a.size(0) == 1 ? 0 : p * M * K);
        const double* pb = vb.data() + (b.size(0) == 1 ? 0 : p * K * N);
        for (std::int64_t i = 0; i < M; ++i)
            for (std::int64_t j = 0; j < N; ++j) {
                double s = 0;
                for (std::int64_t k = 0; k < K; ++k)
                    s += (trans_a ? pa[k * M + i] : pa[i * K + k]) * (trans_b ? pb[j * K + k] : pb[k * N + j]);
                out[(p * M + i) * N + j] = s;
            }
    }
    return f64(out, {B, M, N});
}

Tensor sum_rows(const Tensor& x) {
    const std::int64_t rows = x.size(0), n = x.size(1);
    const std::vector<double> v = values(x);
    std::vector<double> out(static_cast<std::size_t>(rows), 0.0);
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t i = 0; i < n; ++i) out[r] += v[r * n + i];
    return f64(out, {rows});
}

std::pair<Tensor, Tensor> max_rows(const Tensor& x) {
    const std::int64_t rows = x.size(0), n = x.size(1);
    const std::vector<double> v = values(x);
    std::vector<double> out(static_cast<std::size_t>(rows));
    std::vector<std::int64_t> arg(static_cast<std::size_t>(rows), 0);
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t i = 1; i < n; ++i)
            if (v[r * n + i] > v[r * n + arg[r]]) arg[r] = i;  // strictly greater: the first maximum stays
        out[r] = v[r * n + arg[r]];
    }
    return {f64(out, {rows}), Tensor::from_vector(arg, {rows})};
}

}  // namespace dcodr::reference
