// Differentiable shape ops. Most are views; their backward maps the gradient back.
#include <numeric>

#include "autograd/functional.h"
#include "tensor/ops.h"

namespace dcodr {

namespace K = kernels;

Tensor reshape(const Tensor& x, const Shape& shape) {
    Shape in_shape = x.shape();
    return record("reshape", x.reshape(shape), {x}, [in_shape](const Tensor& g) {
        return GradList{g.reshape(in_shape)};
    });
}
Tensor flatten(const Tensor& x, std::int64_t start, std::int64_t end) {
    return reshape(x, x.flatten(start, end).shape());
}
Tensor contiguous(const Tensor& x) {
    // Already dense: the same tensor, already in the graph (recording it would make it its own node).
    if (x.is_contiguous()) return x;
    return record("contiguous", x.contiguous(), {x}, [](const Tensor& g) { return GradList{g}; });
}
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& dims) {
    std::vector<std::int64_t> inverse(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i) inverse[x.normalize_dim(dims[i])] = static_cast<std::int64_t>(i);
    return record("permute", x.permute(dims), {x}, [inverse](const Tensor& g) {
        return GradList{g.permute(inverse)};
    });
}
Tensor transpose(const Tensor& x, std::int64_t a, std::int64_t b) {
    return record("transpose", x.transpose(a, b), {x}, [a, b](const Tensor& g) {
        return GradList{g.transpose(a, b)};
    });
}
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
    Tensor y = x.slice(dim, start, end, step);
    Shape in_shape = x.shape();
    // Recompute the normalised range from the view so the backward writes the same elements.
    std::int64_t d = x.normalize_dim(dim);
    std::int64_t s0 = start < 0 ? start + x.size(d) : start;
    return record("slice", y, {x}, [in_shape, d, s0, step](const Tensor& g) {
        Tensor gx = Tensor::zeros(in_shape, g.dtype(), g.device());
        gx.slice(d, s0, s0 + (g.size(d) - 1) * step + 1, step).copy_(g);
        return GradList{gx};
    });
}
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
    std::int64_t d = x.normalize_dim(dim);
    return squeeze(slice(x, d, index, index + 1), d);
}
Tensor expand(const Tensor& x, const Shape& shape) {
    Shape in_shape = x.shape();
    return record("expand", x.expand(shape), {x}, [in_shape](const Tensor& g) {
        return GradList{K::sum_to_shape(g, in_shape)};
    });
}
Tensor unsqueeze(const Tensor& x, std::int64_t dim) { return reshape(x, x.unsqueeze(dim).shape()); }
Tensor squeeze(const Tensor& x, std::int64_t dim) { return reshape(x, x.squeeze(dim).shape()); }

Tensor concat(const std::vector<Tensor>& xs, std::int64_t dim) {
    DCODR_CHECK(!xs.empty(), "concat: no tensors given");
    std::int64_t d = xs[0].normalize_dim(dim);
    std::vector<std::int64_t> sizes;
    for (const Tensor& t : xs) sizes.push_back(t.dim() > d ? t.size(d) : 0);
    return record("concat", K::concat(xs, d), xs, [sizes, d](const Tensor& g) {
        GradList grads;
        std::int64_t at = 0;
        for (std::int64_t s : sizes) {
            grads.push_back(g.slice(d, at, at + s));
            at += s;
        }
        return grads;
    });
}
Tensor stack(const std::vector<Tensor>& xs, std::int64_t dim) {
    std::vector<Tensor> us;
    for (const Tensor& t : xs) us.push_back(unsqueeze(t, dim < 0 ? dim + t.dim() + 1 : dim));
    return concat(us, dim < 0 ? dim + xs.at(0).dim() + 1 : dim);
}
std::vector<Tensor> split(const Tensor& x, std::int64_t size, std::int64_t dim) {
    DCODR_CHECK(size > 0, "split: chunk size must be positive, got {}", size);
    std::int64_t d = x.normalize_dim(dim);
    std::vector<Tensor> parts;
    for (std::int64_t at = 0; at < x.size(d); at += size) parts.push_back(slice(x, d, at, std::min(at + size, x.size(d))));
    return parts;
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& idx) {
    std::int64_t d = x.normalize_dim(dim);
    Shape in_shape = x.shape();
    return record("index_select", K::index_select(x, d, idx), {x}, [in_shape, d, idx](const Tensor& g) {
        return GradList{K::index_add(g, d, idx, in_shape)};
    });
}
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& idx) {
    std::int64_t d = x.normalize_dim(dim);
    Shape in_shape = x.shape();
    return record("gather", K::gather(x, d, idx), {x}, [in_shape, d, idx](const Tensor& g) {
        return GradList{K::scatter_add(g, d, idx, in_shape)};
    });
}
Tensor scatter_add(const Tensor& src, std::int64_t dim, const Tensor& idx, const Shape& out_shape) {
    std::int64_t d = src.normalize_dim(dim);
    return record("scatter_add", K::scatter_add(src, d, idx, out_shape), {src}, [d, idx](const Tensor& g) {
        return GradList{K::gather(g, d, idx)};
    });
}

}  // namespace dcodr
