#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/functional.h"
#include "tensor/ops.h"

namespace dcodr {

std::string gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                      const GradcheckOptions& o) {
    for (const Tensor& t : inputs)
        DCODR_CHECK(t.dtype() == DType::f64 && t.device().is_cpu(), "gradcheck: inputs must be float64 CPU tensors");
    // A fixed random projection turns any output into a scalar with a non-trivial gradient.
    Tensor probe;
    auto project = [&](const Tensor& y) {
        if (!probe.defined()) probe = Tensor::uniform(y.shape(), -1, 1, o.seed, 0, DType::f64);
        return sum(mul(y, probe));
    };
    for (Tensor& t : inputs) t.zero_grad();
    Tensor loss = project(f(inputs));
    backward(loss);

    std::string worst;
    double worst_excess = 0;
    std::int64_t misses = 0;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        Tensor& x = inputs[k];
        if (!x.requires_grad()) continue;
        Tensor analytic = x.grad();
        std::vector<double> ga = analytic.defined() ? analytic.to_vector() : std::vector<double>(x.numel(), 0.0);
        // Walk the elements of the (possibly strided) view through a contiguous index.
        for (std::int64_t i = 0; i < x.numel(); ++i) {
            std::int64_t rem = i, off = x.offset();
            for (std::int64_t d = x.dim() - 1; d >= 0; --d) {
                off += (rem % x.shape()[d]) * x.strides()[d];
                rem /= x.shape()[d];
            }
            double* p = static_cast<double*>(x.storage()->data) + off;
            double orig = *p, h = o.eps * std::max(1.0, std::abs(orig));
            double plus, minus;
            {
                NoGradGuard ng;
                *p = orig + h;
                plus = project(f(inputs)).item();
                *p = orig - h;
                minus = project(f(inputs)).item();
                *p = orig;
            }
            double numeric = (plus - minus) / (2 * h);
            double diff = std::abs(numeric - ga[i]);
            double allowed = o.atol + o.rtol * std::abs(numeric);
            // The worst miss, measured against its own tolerance (a NaN counts as worst).
            double excess = std::isnan(diff) ? INFINITY : diff / allowed;
            if (!(diff <= allowed) && excess >= worst_excess) {
                worst_excess = excess;
                worst = fmt::format("worst: input {} element {}: analytic {} vs numeric {} (diff {})", k, i, ga[i],
                                    numeric, diff);
            }
            if (!(diff <= allowed)) ++misses;
        }
    }
    if (misses > 1) worst += fmt::format("; {} elements missed in all", misses);
    return worst;
}

}  // namespace dcodr
