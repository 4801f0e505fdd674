// Reference softmax, log-softmax and cross-entropy over the rows of x: [rows, n]. In dcodr
// these are composites of other ops (autograd/composite.cpp: log_softmax = x - logsumexp(x));
// here they are the textbook formulas, shifted by the row's max so exp cannot overflow:
//   log_softmax(x)_i = (x_i - m) - log sum_j exp(x_j - m),  m = max_j x_j
//   cross_entropy(logits [N, K], targets [N]) = -mean_r log_softmax(logits_r)[targets_r],
//   d/dlogits = (softmax(logits) - onehot(targets)) / N.
#include <algorithm>
#include <cmath>

#include "tensor/reference/host.h"
#include "tensor/reference/reference.h"

namespace dcodr::reference {

Tensor log_softmax_rows(const Tensor& x) {
    const std::int64_t rows = x.size(0), n = x.size(1);
    std::vector<double> v = values(x);
    for (std::int64_t r = 0; r < rows; ++r) {
        double* row = v.data() + r * n;
        const double m = *std::max_element(row, row + n);
        double s = 0;
        for (std::int64_t i = 0; i < n; ++i) s += std::exp(row[i] - m);
        const double log_s = std::log(s);
        for (std::int64_t i = 0; i < n; ++i) row[i] = row[i] - m - log_s;
    }
    return f64(v, x.shape());
}

Tensor softmax_rows(const Tensor& x) {
    std::vector<double> v = values(log_softmax_rows(x));
    for (double& e : v) e = std::exp(e);
    return f64(v, x.shape());
}

std::pair<Tensor, Tensor> cross_entropy(const Tensor& logits, const Tensor& targets) {
    const std::int64_t N = logits.size(0), K = logits.size(1);
    const std::vector<double> lp = values(log_softmax_rows(logits));
    const std::vector<std::int64_t> t = int_values(targets);
    double loss = 0;
    std::vector<double> grad(lp.size());
    for (std::int64_t r = 0; r < N; ++r) {
        loss -= lp[r * K + t[r]];
        for (std::int64_t k = 0; k < K; ++k)
            grad[r * K + k] = (std::exp(lp[r * K + k]) - (k == t[r] ? 1.0 : 0.0)) / static_cast<double>(N);
    }
    return {f64({loss / static_cast<double>(N)}, {}), f64(grad, logits.shape())};
}

}  // namespace dcodr::reference
