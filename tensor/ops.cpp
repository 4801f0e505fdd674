// Kernel-op front-ends: the only place arguments are validated before reaching a backend.
#include "tensor/ops.h"

#include <algorithm>
#include <numeric>

namespace dcodr::kernels {

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
    const Tensor* first = nullptr;
    for (const Tensor* t : ts) {
        if (!t || !t->defined()) continue;
        if (!first) first = t;
        DCODR_CHECK(t->device() == first->device(), "{}: expected all tensors on {}, got one on {}", op,
                    first->device().str(), t->device().str());
    }
}
void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts) {
    const Tensor* first = nullptr;
    for (const Tensor* t : ts) {
        if (!t || !t->defined()) continue;
        if (!first) first = t;
        DCODR_CHECK(t->dtype() == first->dtype(), "{}: expected all tensors of dtype {}, got one of {}", op,
                    dtype_name(first->dtype()), dtype_name(t->dtype()));
    }
}
static void check_floating(const char* op, const Tensor& t) {
    DCODR_CHECK(is_floating(t.dtype()), "{}: expected a float32 or float64 tensor, got {}", op,
                dtype_name(t.dtype()));
}
static void check_dim(const char* op, const Tensor& t, std::int64_t d, const char* what) {
    DCODR_CHECK(t.dim() == d, "{}: expected {} to be {}-d, got shape {}", op, what, d, shape_str(t.shape()));
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    std::size_t n = std::max(a.size(), b.size());
    Shape r(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        DCODR_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} cannot be broadcast together", op,
                    shape_str(a), shape_str(b));
        r[i] = da == 1 ? db : da;
    }
    return r;
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
    if (g.shape() == shape) return g;
    std::int64_t lead = g.dim() - static_cast<std::int64_t>(shape.size());
    std::vector<std::int64_t> axes;
    for (std::int64_t i = 0; i < g.dim(); ++i)
        if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(i);
    Tensor s = axes.empty() ? g : sum(g, axes, true);
    return s.reshape(shape);
}

// ---------------------------------------------------------------- elementwise

Tensor unary(UnaryOp op, const Tensor& x, double alpha) {
    Tensor xc = x.contiguous();
    if (op != UnaryOp::neg && op != UnaryOp::abs && op != UnaryOp::relu && op != UnaryOp::add_scalar &&
        op != UnaryOp::mul_scalar && op != UnaryOp::sign && op != UnaryOp::square)
        check_floating(unary_name(op), x);
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    x.backend().unary(op, xc, out, alpha);
    return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, double alpha) {
    const char* name = binary_name(op);
    check_same_device(name, {&a, &b});
    check_same_dtype(name, {&a, &b});
    Shape s = broadcast_shapes(a.shape(), b.shape(), name);
    Tensor out = Tensor::empty(s, a.dtype(), a.device());
    Tensor ea = a.shape() == s ? a : a.expand(s);
    Tensor eb = b.shape() == s ? b : b.expand(s);
    a.backend().binary(op, ea, eb, out, alpha);
    return out;
}

void add_(Tensor& out, const Tensor& b) {
    check_same_device("add_", {&out, &b});
    check_same_dtype("add_", {&out, &b});
    DCODR_CHECK(out.is_contiguous(), "add_: destination must be contiguous");
    Tensor eb = b.shape() == out.shape() ? b : b.expand(out.shape());
    out.backend().binary(BinaryOp::add, out, eb, out, 0.0);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    check_same_device("where", {&cond, &a, &b});
    check_same_dtype("where", {&a, &b});
    Shape s = broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), "where"), cond.shape(), "where");
    Tensor out = Tensor::empty(s, a.dtype(), a.device());
    Tensor c = cond.dtype() == a.dtype() ? cond : cond.to(a.dtype());
    a.backend().where(c.expand(s), a.expand(s), b.expand(s), out);
    return out;
}

// ---------------------------------------------------------------- reductions

// Moves `axes` to the end and returns the tensor as contiguous [rows, n] plus the kept shape.
static Tensor rows_view(const Tensor& x, std::vector<std::int64_t> axes, bool keepdim, Shape& out_shape) {
    if (axes.empty()) {
        axes.resize(x.dim());
        std::iota(axes.begin(), axes.end(), 0);
    }
    std::vector<bool> reduced(x.dim(), false);
    for (auto& a : axes) {
        a = x.normalize_dim(a);
        reduced[a] = true;
    }
    std::vector<std::int64_t> perm;
    out_shape.clear();
    std::int64_t n = 1;
    for (std::int64_t i = 0; i < x.dim(); ++i) {
        if (!reduced[i]) {
            perm.push_back(i);
            out_shape.push_back(x.shape()[i]);
        } else if (keepdim) {
            out_shape.push_back(1);
        }
    }
    for (std::int64_t i = 0; i < x.dim(); ++i)
        if (reduced[i]) {
            perm.push_back(i);
            n *= x.shape()[i];
        }
    Tensor p = x.permute(perm).contiguous();
    return p.view({p.numel() / std::max<std::int64_t>(n, 1), n});
}

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdim) {
    Shape out_shape;
    Tensor rows = rows_view(x, axes, keepdim, out_shape);
    Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
    if (rows.size(1) == 0) {
        out.fill_(0.0);
        return out;
    }
    x.backend().sum_rows(rows, out);
    return out;
}

Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdim) {
    check_floating("mean", x);
    Tensor s = sum(x, axes, keepdim);
    std::int64_t count = s.numel() ? x.numel() / s.numel() : 0;
    return unary(UnaryOp::mul_scalar, s, 1.0 / static_cast<double>(std::max<std::int64_t>(count, 1)));
}

std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t axis, bool keepdim) {
    DCODR_CHECK(x.dim() > 0 && x.size(axis) > 0, "max: cannot reduce an empty dimension of shape {}",
                shape_str(x.shape()));
    Shape out_shape;
    Tensor rows = rows_view(x, {axis}, keepdim, out_shape);
    Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
    Tensor arg = Tensor::empty(out_shape, DType::i64, x.device());
    x.backend().max_rows(rows, out, arg);
    return {out, arg};
}

Tensor max_all(const Tensor& x) {
    DCODR_CHECK(x.numel() > 0, "max_all: empty tensor");
    return max(x.reshape({-1}), 0).first;
}

// ---------------------------------------------------------------- matmul

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
    check_same_device("matmul", {&a, &b});
    check_same_dtype("matmul", {&a, &b});
    check_floating("matmul", a);
    DCODR_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: expected operands with at least 2 dims, got {} and {}",
                shape_str(a.shape()), shape_str(b.shape()));
    std::int64_t m = ta ? a.size(-1) : a.size(-2), k = ta ? a.size(-2) : a.size(-1);
    std::int64_t kb = tb ? b.size(-1) : b.size(-2), n = tb ? b.size(-2) : b.size(-1);
    DCODR_CHECK(k == kb, "matmul: inner dimensions differ: {}{} @ {}{}", shape_str(a.shape()), ta ? "^T" : "",
                shape_str(b.shape()), tb ? "^T" : "");
    Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
    Shape batch = broadcast_shapes(ba, bb, "matmul");
    std::int64_t nb = shape_numel(batch);
    // Only a whole-batch broadcast (one side has batch 1) is done without copying.
    auto as3 = [&](const Tensor& t, const Shape& tb_shape) {
        Shape full = batch;
        full.push_back(t.size(-2));
        full.push_back(t.size(-1));
        if (shape_numel(tb_shape) == 1) return t.contiguous().view({1, t.size(-2), t.size(-1)});
        Tensor e = tb_shape == batch ? t : t.expand(full);
        return e.contiguous().view({nb, t.size(-2), t.size(-1)});
    };
    Tensor a3 = as3(a, ba), b3 = as3(b, bb);
    Shape out_shape = batch;
    out_shape.push_back(m);
    out_shape.push_back(n);
    Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
    if (out.numel() == 0) return out;
    if (k == 0) {
        out.fill_(0.0);
        return out;
    }
    Tensor o3 = out.view({nb, m, n});
    a.backend().matmul(a3, b3, o3, ta, tb, false);
    return out;
}

// ---------------------------------------------------------------- convolution

static std::int64_t conv_out(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

static void check_conv(const char* op, const Shape& x, const Shape& w, const Conv2dParams& p) {
    DCODR_CHECK(x.size() == 4, "{}: expected input [N, C, H, W], got {}", op, shape_str(x));
    DCODR_CHECK(w.size() == 4, "{}: expected weight [O, C/groups, kH, kW], got {}", op, shape_str(w));
    DCODR_CHECK(p.groups >= 1 && x[1] % p.groups == 0 && w[0] % p.groups == 0,
                "{}: groups={} must divide input channels {} and output channels {}", op, p.groups, x[1], w[0]);
    DCODR_CHECK(w[1] * p.groups == x[1], "{}: weight {} expects {} input channels, input {} has {}", op,
                shape_str(w), w[1] * p.groups, shape_str(x), x[1]);
    DCODR_CHECK(p.stride_h > 0 && p.stride_w > 0 && p.dil_h > 0 && p.dil_w > 0 && p.pad_h >= 0 && p.pad_w >= 0,
                "{}: stride and dilation must be positive and padding non-negative", op);
    DCODR_CHECK(conv_out(x[2], w[2], p.stride_h, p.pad_h, p.dil_h) > 0 &&
                    conv_out(x[3], w[3], p.stride_w, p.pad_w, p.dil_w) > 0,
                "{}: kernel {}x{} does not fit input {}x{} with the given padding", op, w[2], w[3], x[2], x[3]);
}
static Shape conv_out_shape(const Shape& x, const Shape& w, const Conv2dParams& p) {
    return {x[0], w[0], conv_out(x[2], w[2], p.stride_h, p.pad_h, p.dil_h),
            conv_out(x[3], w[3], p.stride_w, p.pad_w, p.dil_w)};
}

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
    check_same_device("conv2d", {&x, &w});
    check_same_dtype("conv2d", {&x, &w});
    check_floating("conv2d", x);
    check_conv("conv2d", x.shape(), w.shape(), p);
    Tensor y = Tensor::empty(conv_out_shape(x.shape(), w.shape(), p), x.dtype(), x.device());
    x.backend().conv2d_forward(x.contiguous(), w.contiguous(), y, p);
    return y;
}
Tensor conv2d_backward_data(const Tensor& gy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
    check_same_device("conv2d_backward_data", {&gy, &w});
    check_same_dtype("conv2d_backward_data", {&gy, &w});
    check_conv("conv2d_backward_data", x_shape, w.shape(), p);
    DCODR_CHECK(gy.shape() == conv_out_shape(x_shape, w.shape(), p), "conv2d_backward_data: gradient shape {} != {}",
                shape_str(gy.shape()), shape_str(conv_out_shape(x_shape, w.shape(), p)));
    Tensor gx = Tensor::empty(x_shape, gy.dtype(), gy.device());
    gy.backend().conv2d_backward_data(gy.contiguous(), w.contiguous(), gx, p);
    return gx;
}
void conv2d_backward_data_add(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p) {
    check_same_device("conv2d_backward_data_add", {&gy, &w, &gx});
    check_same_dtype("conv2d_backward_data_add", {&gy, &w, &gx});
    check_conv("conv2d_backward_data_add", gx.shape(), w.shape(), p);
    DCODR_CHECK(gy.shape() == conv_out_shape(gx.shape(), w.shape(), p),
                "conv2d_backward_data_add: gradient shape {} != {}", shape_str(gy.shape()),
                shape_str(conv_out_shape(gx.shape(), w.shape(), p)));
    DCODR_CHECK(gx.is_contiguous(), "conv2d_backward_data_add: the destination must be contiguous");
    gy.backend().conv2d_backward_data_add(gy.contiguous(), w.contiguous(), gx, p);
}
Tensor conv2d_backward_filter(const Tensor& x, const Tensor& gy, const Shape& w_shape, const Conv2dParams& p) {
    check_same_device("conv2d_backward_filter", {&gy, &x});
    check_same_dtype("conv2d_backward_filter", {&gy, &x});
    check_conv("conv2d_backward_filter", x.shape(), w_shape, p);
    Tensor gw = Tensor::empty(w_shape, gy.dtype(), gy.device());
    gy.backend().conv2d_backward_filter(x.contiguous(), gy.contiguous(), gw, p);
    return gw;
}

// ---------------------------------------------------------------- pooling

static Shape pool_out_shape(const char* op, const Tensor& x, const Pool2dParams& p) {
    check_floating(op, x);
    check_dim(op, x, 4, "input");
    DCODR_CHECK(p.kernel_h > 0 && p.kernel_w > 0 && p.stride_h > 0 && p.stride_w > 0,
                "{}: kernel and stride must be positive", op);
    DCODR_CHECK(p.pad_h * 2 <= p.kernel_h && p.pad_w * 2 <= p.kernel_w,
                "{}: padding must be at most half the kernel size", op);
    std::int64_t oh = (x.size(2) + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1;
    std::int64_t ow = (x.size(3) + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
    DCODR_CHECK(oh > 0 && ow > 0, "{}: kernel {}x{} larger than padded input {}", op, p.kernel_h, p.kernel_w,
                shape_str(x.shape()));
    return {x.size(0), x.size(1), oh, ow};
}

std::pair<Tensor, Tensor> max_pool2d_forward(const Tensor& x, const Pool2dParams& p) {
    Shape s = pool_out_shape("max_pool2d", x, p);
    Tensor y = Tensor::empty(s, x.dtype(), x.device());
    Tensor idx = Tensor::empty(s, DType::i64, x.device());
    x.backend().max_pool2d_forward(x.contiguous(), y, idx, p);
    return {y, idx};
}
Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
    Tensor gx = Tensor::zeros(x_shape, gy.dtype(), gy.device());
    gy.backend().max_pool2d_backward(gy.contiguous(), indices.contiguous(), gx);
    return gx;
}
Tensor avg_pool2d_forward(const Tensor& x, const Pool2dParams& p) {
    Tensor y = Tensor::empty(pool_out_shape("avg_pool2d", x, p), x.dtype(), x.device());
    x.backend().avg_pool2d_forward(x.contiguous(), y, p);
    return y;
}
Tensor avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const Pool2dParams& p) {
    Tensor gx = Tensor::zeros(x_shape, gy.dtype(), gy.device());
    gy.backend().avg_pool2d_backward(gy.contiguous(), gx, p);
    return gx;
}
Tensor adaptive_avg_pool2d_forward(const Tensor& x, std::int64_t out_h, std::int64_t out_w) {
    check_floating("adaptive_avg_pool2d", x);
    check_dim("adaptive_avg_pool2d", x, 4, "input");
    DCODR_CHECK(out_h > 0 && out_w > 0, "adaptive_avg_pool2d: output size must be positive");
    Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
    x.backend().adaptive_avg_pool2d_forward(x.contiguous(), y);
    return y;
}
Tensor adaptive_avg_pool2d_backward(const Tensor& gy, const Shape& x_shape) {
    Tensor gx = Tensor::zeros(x_shape, gy.dtype(), gy.device());
    gy.backend().adaptive_avg_pool2d_backward(gy.contiguous(), gx);
    return gx;
}
Tensor upsample_nearest2d_forward(const Tensor& x, std::int64_t scale) {
    check_dim("upsample_nearest2d", x, 4, "input");
    DCODR_CHECK(scale >= 1, "upsample_nearest2d: scale must be >= 1, got {}", scale);
    Tensor y = Tensor::empty({x.size(0), x.size(1), x.size(2) * scale, x.size(3) * scale}, x.dtype(), x.device());
    x.backend().upsample_nearest2d_forward(x.contiguous(), y);
    return y;
}
Tensor upsample_nearest2d_backward(const Tensor& gy, const Shape& x_shape) {
    Tensor gx = Tensor::zeros(x_shape, gy.dtype(), gy.device());
    gy.backend().upsample_nearest2d_backward(gy.contiguous(), gx);
    return gx;
}

// ---------------------------------------------------------------- batch norm

static Tensor as_ncs(const Tensor& x) {
    std::int64_t s = x.dim() > 2 ? x.numel() / (x.size(0) * x.size(1)) : 1;
    return x.contiguous().view({x.size(0), x.size(1), s});
}

Tensor batch_norm_forward(const Tensor& x, const Tensor* weight, const Tensor* bias, Tensor* running_mean,
                          Tensor* running_var, bool training, double momentum, double eps, BatchNormSaved* saved,
                          const BatchNormTail& tail, std::int64_t groups) {
    check_floating("batch_norm", x);
    DCODR_CHECK(x.dim() >= 2, "batch_norm: expected input [N, C, ...], got {}", shape_str(x.shape()));
    std::int64_t c = x.size(1);
    for (const Tensor* t : {weight, bias, static_cast<const Tensor*>(running_mean),
                            static_cast<const Tensor*>(running_var)}) {
        if (!t) continue;
        DCODR_CHECK(t->shape() == Shape{c}, "batch_norm: expected per-channel tensors of shape [{}], got {}", c,
                    shape_str(t->shape()));
        check_same_device("batch_norm", {&x, t});
        check_same_dtype("batch_norm", {&x, t});
        DCODR_CHECK(t->is_contiguous(), "batch_norm: per-channel tensors must be contiguous");
    }
    Tensor x3 = as_ncs(x);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    Tensor y3 = y.view(x3.shape());
    Tensor r3;
    if (tail.residual) {
        DCODR_CHECK(tail.residual->shape() == x.shape(), "batch_norm: residual {} must have the input's shape {}",
                    shape_str(tail.residual->shape()), shape_str(x.shape()));
        check_same_device("batch_norm", {&x, tail.residual});
        check_same_dtype("batch_norm", {&x, tail.residual});
        r3 = as_ncs(*tail.residual);
    }
    if (training) {
        DCODR_CHECK(groups >= 1 && x.size(0) % groups == 0,
                    "batch_norm: {} statistics groups must divide the batch of {} evenly", groups, x.size(0));
        DCODR_CHECK(x.numel() / (c * groups) > 1,
                    "batch_norm: training needs more than one value per channel{}, got input {}",
                    groups > 1 ? fmt::format(" in each of {} groups", groups) : "", shape_str(x.shape()));
        DCODR_CHECK(saved != nullptr, "batch_norm: training needs a place to save statistics");
        saved->mean = Tensor::empty({groups * c}, x.dtype(), x.device());
        saved->invstd = Tensor::empty({groups * c}, x.dtype(), x.device());
        saved->groups = groups;
        BatchNormTail tail3{tail.residual ? &r3 : nullptr, tail.relu};
        x.backend().batch_norm_forward_train(x3, weight, bias, running_mean, running_var, momentum, eps, groups,
                                             tail3, y3, saved->mean, saved->invstd);
    } else {
        DCODR_CHECK(running_mean && running_var, "batch_norm: evaluation mode needs running statistics");
        x.backend().batch_norm_forward_eval(x3, weight, bias, *running_mean, *running_var, eps, y3);
        // Inference: no backward to fuse for, so the tail stays separate passes.
        if (tail.residual) x.backend().binary(BinaryOp::add, y3, r3, y3, 0.0);
        if (tail.relu) x.backend().unary(UnaryOp::relu, y3, y3, 0.0);
    }
    return y;
}

BatchNormGrads batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor* weight,
                                   const BatchNormSaved& saved, const Tensor* relu_out, bool relu_in_grad) {
    Tensor x3 = as_ncs(x), gy3 = as_ncs(gy);
    Tensor r3 = relu_out ? as_ncs(*relu_out) : Tensor();
    if (relu_out) {
        DCODR_CHECK(relu_out->shape() == x.shape(), "batch_norm_backward: relu output {} must have the input's shape {}",
                    shape_str(relu_out->shape()), shape_str(x.shape()));
        check_same_device("batch_norm_backward", {&x, relu_out});
        check_same_dtype("batch_norm_backward", {&x, relu_out});
    }
    DCODR_CHECK(relu_out || !relu_in_grad, "batch_norm_backward: the ReLU input's gradient needs relu_out");
    BatchNormGrads g;
    g.x = Tensor::empty(x.shape(), x.dtype(), x.device());
    Tensor gm3;
    if (relu_in_grad) {
        g.relu_in = Tensor::empty(x.shape(), x.dtype(), x.device());
        gm3 = g.relu_in.view(x3.shape());
    }
    Tensor gx3 = g.x.view(x3.shape());
    std::int64_t c = x.size(1);
    g.weight = Tensor::empty({c}, x.dtype(), x.device());
    g.bias = Tensor::empty({c}, x.dtype(), x.device());
    x.backend().batch_norm_backward(gy3, x3, weight, saved.mean, saved.invstd, saved.groups,
                                    relu_out ? &r3 : nullptr, gx3, &g.weight, &g.bias, relu_in_grad ? &gm3 : nullptr);
    return g;
}

// ---------------------------------------------------------------- indexing

static void check_index(const char* op, const Tensor& idx, std::int64_t n) {
    DCODR_CHECK(idx.dtype() == DType::i64, "{}: expected int64 indices, got {}", op, dtype_name(idx.dtype()));
    // Validated on the host for CPU tensors (an out-of-range index would read or write outside
    // the tensor). GPU tensors skip this: the copy back would stall the stream on every call.
    if (idx.numel() == 0 || !idx.device().is_cpu()) return;
    auto v = idx.to_int_vector();
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    DCODR_CHECK(*lo >= 0 && *hi < n, "{}: index {} out of range for a dimension of size {}", op,
                *lo < 0 ? *lo : *hi, n);
}
static std::pair<std::int64_t, std::int64_t> outer_inner(const Shape& s, std::int64_t dim) {
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t i = 0; i < dim; ++i) outer *= s[i];
    for (std::size_t i = dim + 1; i < s.size(); ++i) inner *= s[i];
    return {outer, inner};
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& idx) {
    dim = x.normalize_dim(dim);
    DCODR_CHECK(idx.dim() == 1, "index_select: expected 1-d indices, got {}", shape_str(idx.shape()));
    check_same_device("index_select", {&x, &idx});
    check_index("index_select", idx, x.size(dim));
    Shape s = x.shape();
    s[dim] = idx.numel();
    Tensor out = Tensor::empty(s, x.dtype(), x.device());
    auto [outer, inner] = outer_inner(x.shape(), dim);
    x.backend().index_select(x.contiguous(), idx.contiguous(), out, outer, inner);
    return out;
}
Tensor index_add(const Tensor& src, std::int64_t dim, const Tensor& idx, const Shape& out_shape) {
    Tensor out = Tensor::zeros(out_shape, src.dtype(), src.device());
    dim = out.normalize_dim(dim);
    check_index("index_add", idx, out_shape[dim]);
    auto [outer, inner] = outer_inner(out_shape, dim);
    src.backend().index_add(src.contiguous(), idx.contiguous(), out, outer, inner);
    return out;
}
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& idx) {
    dim = x.normalize_dim(dim);
    check_same_device("gather", {&x, &idx});
    DCODR_CHECK(idx.dim() == x.dim(), "gather: index {} must have as many dims as input {}", shape_str(idx.shape()),
                shape_str(x.shape()));
    for (std::int64_t i = 0; i < x.dim(); ++i)
        DCODR_CHECK(i == dim || idx.size(i) == x.size(i),
                    "gather: index shape {} must match input {} except in dim {}", shape_str(idx.shape()),
                    shape_str(x.shape()), dim);
    check_index("gather", idx, x.size(dim));
    Tensor out = Tensor::empty(idx.shape(), x.dtype(), x.device());
    auto [outer, inner] = outer_inner(x.shape(), dim);
    x.backend().gather(x.contiguous(), idx.contiguous(), out, outer, inner);
    return out;
}
Tensor scatter_add(const Tensor& src, std::int64_t dim, const Tensor& idx, const Shape& out_shape) {
    Tensor out = Tensor::zeros(out_shape, src.dtype(), src.device());
    dim = out.normalize_dim(dim);
    DCODR_CHECK(idx.shape() == src.shape(), "scatter_add: index shape {} must equal source shape {}",
                shape_str(idx.shape()), shape_str(src.shape()));
    check_index("scatter_add", idx, out_shape[dim]);
    auto [outer, inner] = outer_inner(out_shape, dim);
    src.backend().scatter_add(src.contiguous(), idx.contiguous(), out, outer, inner);
    return out;
}

Tensor concat(const std::vector<Tensor>& xs, std::int64_t dim) {
    DCODR_CHECK(!xs.empty(), "concat: no tensors given");
    const Tensor& first = xs[0];
    dim = first.normalize_dim(dim);
    Shape s = first.shape();
    std::int64_t total = 0;
    for (const Tensor& t : xs) {
        check_same_device("concat", {&first, &t});
        check_same_dtype("concat", {&first, &t});
        DCODR_CHECK(t.dim() == first.dim(), "concat: all tensors need {} dims, got {}", first.dim(),
                    shape_str(t.shape()));
        for (std::int64_t i = 0; i < t.dim(); ++i)
            DCODR_CHECK(i == dim || t.size(i) == s[i], "concat: shapes {} and {} differ outside dim {}",
                        shape_str(s), shape_str(t.shape()), dim);
        total += t.size(dim);
    }
    s[dim] = total;
    Tensor out = Tensor::empty(s, first.dtype(), first.device());
    std::int64_t at = 0;
    for (const Tensor& t : xs) {
        Tensor dst = out.slice(dim, at, at + t.size(dim));
        out.backend().strided_copy(t, dst);
        at += t.size(dim);
    }
    return out;
}

}  // namespace dcodr::kernels
