// Differentiable convolution, pooling, resampling and batch norm. Each maps one-to-one to
// kernel primitives (and so to cuDNN on the GPU); none is expressed through other ops.
#include "autograd/functional.h"
#include "tensor/ops.h"

namespace dcodr {

namespace K = kernels;

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
    Tensor dx = x.detach(), dw = w.detach();
    // The first layer's input (images) needs no gradient: skip the costly backward-data then.
    bool need_x = x.requires_grad(), need_w = w.requires_grad();
    Tensor y = record("conv2d", K::conv2d_forward(x, w, p), {x, w}, [dx, dw, p, need_x, need_w](const Tensor& g) {
        Tensor gx;
        if (need_x) {
            // x's gradient from the paths already run (a ResNet block's residual), added into.
            gx = take_pending_grad(0);
            if (gx.defined()) K::conv2d_backward_data_add(g, dw, gx, p);
            else gx = K::conv2d_backward_data(g, dw, dx.shape(), p);
        }
        return GradList{gx, need_w ? K::conv2d_backward_filter(dx, g, dw.shape(), p) : Tensor()};
    });
    if (!bias.defined()) return y;
    DCODR_CHECK(bias.dim() == 1 && bias.size(0) == w.size(0), "conv2d: bias must have shape [{}], got {}", w.size(0),
                shape_str(bias.shape()));
    return add(y, reshape(bias, {1, bias.size(0), 1, 1}));
}

Tensor max_pool2d(const Tensor& x, const Pool2dParams& p) {
    auto [y, indices] = K::max_pool2d_forward(x, p);
    Shape in_shape = x.shape();
    // indices = indices: clang before 16 cannot capture a structured binding by name.
    return record("max_pool2d", y, {x}, [indices = indices, in_shape](const Tensor& g) {
        return GradList{K::max_pool2d_backward(g, indices, in_shape)};
    });
}
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
    Shape in_shape = x.shape();
    return record("avg_pool2d", K::avg_pool2d_forward(x, p), {x}, [in_shape, p](const Tensor& g) {
        return GradList{K::avg_pool2d_backward(g, in_shape, p)};
    });
}
Tensor adaptive_avg_pool2d(const Tensor& x, std::int64_t out_h, std::int64_t out_w) {
    Shape in_shape = x.shape();
    return record("adaptive_avg_pool2d", K::adaptive_avg_pool2d_forward(x, out_h, out_w), {x},
                  [in_shape](const Tensor& g) { return GradList{K::adaptive_avg_pool2d_backward(g, in_shape)}; });
}
Tensor upsample_nearest2d(const Tensor& x, std::int64_t scale) {
    Shape in_shape = x.shape();
    return record("upsample_nearest2d", K::upsample_nearest2d_forward(x, scale), {x}, [in_shape](const Tensor& g) {
        return GradList{K::upsample_nearest2d_backward(g, in_shape)};
    });
}

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                  Tensor running_var, bool training, double momentum, double eps, bool relu,
                  const Tensor& residual, std::int64_t groups) {
    const Tensor* w = weight.defined() ? &weight : nullptr;
    const Tensor* b = bias.defined() ? &bias : nullptr;
    Tensor* rm = running_mean.defined() ? &running_mean : nullptr;
    Tensor* rv = running_var.defined() ? &running_var : nullptr;
    if (!training) {
        // Eval mode is an affine map per channel: y = x * s + t with s = w / sqrt(rv + eps),
        // t = b - rm * s. Written with differentiable ops so gradients still flow to x, w, b.
        DCODR_CHECK(rm && rv, "batch_norm: eval mode needs running_mean and running_var");
        Shape bshape(x.dim(), 1);
        bshape[1] = x.size(1);
        Tensor inv = K::unary(UnaryOp::rsqrt, K::unary(UnaryOp::add_scalar, running_var, eps));
        Tensor s = w ? mul(weight, inv) : inv;
        Tensor t = mul(neg(s), running_mean);
        if (b) t = add(t, bias);
        Tensor y = add(mul(x, reshape(s, bshape)), reshape(t, bshape));
        if (residual.defined()) y = add(y, residual);
        return relu ? dcodr::relu(y) : y;
    }
    K::BatchNormSaved saved;
    const bool has_residual = residual.defined();
    Tensor y = K::batch_norm_forward(x, w, b, rm, rv, true, momentum, eps, &saved,
                                     BatchNormTail{has_residual ? &residual : nullptr, relu}, groups);
    Tensor dx = x.detach(), dw = weight.defined() ? weight.detach() : Tensor();
    // The fused ReLU's backward needs its output (where it is positive): our own output, so
    // saved detached (a closure holding its op's output with the graph would own itself).
    Tensor out = relu ? y.detach() : Tensor();
    // The residual's gradient is the gradient at the ReLU's input (gy itself without a ReLU),
    // which the backward kernel writes in the pass it already makes.
    const bool residual_grad = has_residual && residual.requires_grad();
    const char* name = has_residual ? (relu ? "batch_norm_add_relu" : "batch_norm_add")
                                    : (relu ? "batch_norm_relu" : "batch_norm");
    return record(name, y, {x, weight, bias, residual}, [dx, dw, saved, out, residual_grad](const Tensor& g) {
        K::BatchNormGrads gr = K::batch_norm_backward(g, dx, dw.defined() ? &dw : nullptr, saved,
                                                      out.defined() ? &out : nullptr,
                                                      residual_grad && out.defined());
        Tensor g_residual = !residual_grad ? Tensor() : out.defined() ? gr.relu_in : g;
        return GradList{gr.x, dw.defined() ? gr.weight : Tensor(), dw.defined() ? gr.bias : Tensor(), g_residual};
    });
}

}  // namespace dcodr
