// Reference Adam step, PyTorch's formula (Backend's adam_step), elementwise in double:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= (lr / c1) m / (sqrt(v / c2) + eps)
// with the bias corrections c1 = 1 - b1^t, c2 = 1 - b2^t. param, grad, m, v: one shape.
#include <cmath>

#include "tensor/reference/host.h"
#include "tensor/reference/reference.h"

namespace dcodr::reference {

AdamState adam_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, double lr,
                    double beta1, double beta2, double eps, double c1, double c2) {
    std::vector<double> p = values(param), g = values(grad), vm = values(m), vv = values(v);
    for (std::size_t i = 0; i < p.size(); ++i) {
        vm[i] = beta1 * vm[i] + (1 - beta1) * g[i];
        vv[i] = beta2 * vv[i] + (1 - beta2) * g[i] * g[i];
        p[i] -= lr / c1 * vm[i] / (std::sqrt(vv[i] / c2) + eps);
    }
    return {f64(p, param.shape()), f64(vm, m.shape()), f64(vv, v.shape())};
}

}  // namespace dcodr::reference
