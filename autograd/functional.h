// The differentiable ops: what models and losses are written with.
//
// Each op is defined in autograd/<family>.cpp as a forward made of kernel ops plus, right
// next to it, its backward. Composite ops (linear, softmax, losses, ...) are built from the
// others and so get their backward for free, on every device.
#pragma once
#include <optional>
#include <vector>

#include "autograd/node.h"
#include "tensor/backend.h"

namespace dcodr {

using Axes = std::vector<std::int64_t>;

// ---- elementwise (NumPy broadcasting for binary ops) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient goes to a on ties
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);      // d|x|/dx at 0 is taken as 0
Tensor square(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);     // d/dx at 0 is taken as 0 (PyTorch's convention)
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
Tensor pow(const Tensor& x, double exponent);
// Comparisons and masks are not differentiable; they return 0/1 in the inputs' dtype.
Tensor compare(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(const Tensor& a, double s);

// ---- reductions ----
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// Variance over axes; `unbiased` divides by n-1 (torch.var's default), else by n.
Tensor var(const Tensor& x, const Axes& axes = {}, bool unbiased = true, bool keepdim = false);
// Max over one axis: values (differentiable, gradient to the first maximum) and int64 argmax.
std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t axis, bool keepdim = false);

// ---- linear algebra ----
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// ---- shape (views where possible) ----
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, std::int64_t start = 0, std::int64_t end = -1);
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& dims);
Tensor transpose(const Tensor& x, std::int64_t a, std::int64_t b);
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
Tensor squeeze(const Tensor& x, std::int64_t dim);
Tensor concat(const std::vector<Tensor>& xs, std::int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, std::int64_t dim);
std::vector<Tensor> split(const Tensor& x, std::int64_t size, std::int64_t dim);
Tensor contiguous(const Tensor& x);

// ---- indexing ----
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& idx);  // embeddings, picking rows
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& idx);
Tensor scatter_add(const Tensor& src, std::int64_t dim, const Tensor& idx, const Shape& out_shape);

// ---- neural-network kernels ----
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor(), const Conv2dParams& p = {});
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor adaptive_avg_pool2d(const Tensor& x, std::int64_t out_h, std::int64_t out_w);
Tensor upsample_nearest2d(const Tensor& x, std::int64_t scale);
// Batch norm over dim 1 of [N, C, ...]. Training uses batch statistics and updates the
// running ones in place (momentum 0.1, eps 1e-5 are PyTorch's defaults); eval uses running.
// relu = true: relu(batch_norm(...)) as one op (one pass over the activation forward and
// backward when training; the pair every ResNet block has). residual (defined): relu(batch_norm(...)
// + residual), or without relu the sum, as one op: a ResNet block's tail (BatchNormTail).
// groups (training): statistics per consecutive slice of N/groups samples, as if each slice
// went through on its own (nn::BatchStatsGroups explains why).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                  Tensor running_var, bool training, double momentum = 0.1, double eps = 1e-5, bool relu = false,
                  const Tensor& residual = Tensor(), std::int64_t groups = 1);

// ---- composites ----
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor());  // x @ w^T + b
Tensor logsumexp(const Tensor& x, std::int64_t axis, bool keepdim = false);      // stable
Tensor softmax(const Tensor& x, std::int64_t axis);
Tensor log_softmax(const Tensor& x, std::int64_t axis);
// Mean cross-entropy of logits [N, K] against int64 targets [N].
Tensor cross_entropy(const Tensor& logits, const Tensor& targets);
// x / max(||x||_2, eps) along `axis` (torch.nn.functional.normalize).
Tensor l2_normalize(const Tensor& x, std::int64_t axis = -1, double eps = 1e-12);
Tensor l1_loss(const Tensor& a, const Tensor& b);   // mean |a - b|
Tensor mse_loss(const Tensor& a, const Tensor& b);  // mean (a - b)^2
// Per (n, c) mean and biased variance over the spatial dims of [N, C, H, W] (instance norm).
std::pair<Tensor, Tensor> instance_norm_stats(const Tensor& x);
// Adaptive instance norm: normalise each (n, c) plane, then scale and shift by [N, C] tensors.
Tensor adain(const Tensor& x, const Tensor& scale, const Tensor& shift, double eps = 1e-5);

}  // namespace dcodr
