// Differentiable reductions and matmul.
#include <numeric>

#include "autograd/functional.h"
#include "tensor/ops.h"

namespace dcodr {

namespace K = kernels;

// Shape of x with the reduced axes kept as 1: the gradient of a reduction broadcasts from it.
static Shape kept_shape(const Tensor& x, Axes axes) {
    Shape s = x.shape();
    if (axes.empty()) {
        std::fill(s.begin(), s.end(), 1);
        return s;
    }
    for (auto a : axes) s[x.normalize_dim(a)] = 1;
    return s;
}
static std::int64_t reduced_count(const Tensor& x, const Axes& axes) {
    Shape k = kept_shape(x, axes);
    std::int64_t kept = shape_numel(k);
    return kept ? x.numel() / kept : 0;
}

Tensor sum(const Tensor& x, const Axes& axes, bool keepdim) {
    Shape in_shape = x.shape(), kept = kept_shape(x, axes);
    return record("sum", K::sum(x, axes, keepdim), {x}, [in_shape, kept](const Tensor& g) {
        return GradList{g.reshape(kept).expand(in_shape)};
    });
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdim) {
    return mul_scalar(sum(x, axes, keepdim), 1.0 / static_cast<double>(std::max<std::int64_t>(reduced_count(x, axes), 1)));
}

Tensor var(const Tensor& x, const Axes& axes, bool unbiased, bool keepdim) {
    std::int64_t n = reduced_count(x, axes);
    Tensor centred = sub(x, mean(x, axes, true));
    double denom = static_cast<double>(unbiased ? std::max<std::int64_t>(n - 1, 1) : std::max<std::int64_t>(n, 1));
    return mul_scalar(sum(square(centred), axes, keepdim), 1.0 / denom);
}

std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t axis, bool keepdim) {
    axis = x.normalize_dim(axis);
    auto [values, arg] = K::max(x, axis, keepdim);
    Shape in_shape = x.shape();
    Tensor arg_kept = keepdim ? arg : arg.unsqueeze(axis);
    Tensor out = record("max", values, {x}, [in_shape, arg_kept, axis, keepdim](const Tensor& g) {
        Tensor gk = keepdim ? g : g.unsqueeze(axis);
        return GradList{K::scatter_add(gk.contiguous(), axis, arg_kept, in_shape)};
    });
    return {out, arg};
}

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
    Tensor da = a.detach(), db = b.detach();
    // Only the gradients someone needs: a probe's or the encoder's input is a constant.
    bool need_a = a.requires_grad(), need_b = b.requires_grad();
    return record("matmul", K::matmul(a, b, ta, tb), {a, b}, [da, db, ta, tb, need_a, need_b](const Tensor& g) {
        // With C = op(A) op(B): dop(A) = G op(B)^T, dop(B) = op(A)^T G; transposes fold into flags.
        Tensor ga, gb;
        if (need_a) ga = K::sum_to_shape(ta ? K::matmul(db, g, tb, true) : K::matmul(g, db, false, !tb), da.shape());
        if (need_b) gb = K::sum_to_shape(tb ? K::matmul(g, da, true, ta) : K::matmul(da, g, !ta, false), db.shape());
        return GradList{ga, gb};
    });
}

}  // namespace dcodr
